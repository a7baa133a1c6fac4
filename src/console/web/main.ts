import './console.css';
import { api, whenUnauthenticated } from './api';
import { accessLogPage } from './access-log-page';
import { chainPage } from './chain-page';
import { h, replace } from './dom';
import { keysPage } from './keys-page';
import { completeSignIn } from './oidc';
import { currentRoute } from './router';
import { searchPage } from './search-page';
import { credential, describe, hasScope, principal, type Principal, setPrincipal, signOut } from './session';
import { signInPage } from './sign-in';

/** The review console's entry: the header, then the page the hash names, or sign-in first. */
const main = document.getElementById('main') as HTMLElement;
const account = document.getElementById('account') as HTMLElement;
const nav = document.querySelector<HTMLElement>('nav.main');

let notice: string | undefined;

whenUnauthenticated(() => {
  signOut();
  notice = 'Your sign-in is no longer accepted: sign in again.';
  void render();
});

async function render(): Promise<void> {
  delete main.dataset.rendered;
  delete main.dataset.integrity;
  const signedIn = credential();
  nav?.toggleAttribute('hidden', !signedIn);
  if (!signedIn) {
    replace(account);
    const shown = notice;
    notice = undefined;
    await signInPage(main, () => void render(), shown);
    return;
  }
  if (!principal()) {
    // Who the service says this is, and what it may do here: the header names it, and pages offer only what it allows.
    try {
      setPrincipal(await api<Principal>('/v1/access/me'));
    } catch {
      // A 401 has already sent the console back to sign-in; anything else leaves the pages to say what failed.
      if (!credential()) return;
    }
  }
  document.querySelector<HTMLElement>('nav.main a[data-route="access"]')?.toggleAttribute('hidden', !hasScope('audit:admin'));
  const scopes = principal()?.scopes ?? [];
  replace(
    account,
    h('span', { class: 'who', attrs: { title: scopes.length > 0 ? `scopes: ${scopes.join(' ')}` : undefined } }, describe(signedIn)),
    ' ',
    h('button', { class: 'link', attrs: { type: 'button', id: 'sign-out' }, on: { click: () => (signOut(), void render()) } }, 'Sign out'),
  );
  const route = currentRoute();
  for (const link of document.querySelectorAll<HTMLAnchorElement>('nav.main a')) link.toggleAttribute('aria-current', link.dataset.route === route.name);
  if (route.name === 'chain') await chainPage(main, route.digest!);
  else if (route.name === 'keys') await keysPage(main);
  else if (route.name === 'access') await accessLogPage(main, route.params);
  else await searchPage(main, route.params);
  main.focus({ preventScroll: true });
}

window.addEventListener('hashchange', () => void render());
void completeSignIn().then(
  (outcome) => {
    if (outcome && !outcome.ok) notice = outcome.error;
    return render();
  },
  (error: unknown) => {
    notice = `the sign-in could not be finished: ${(error as Error).message}`;
    return render();
  },
);
