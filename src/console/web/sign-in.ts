import { api, ApiError } from './api';
import { h, replace } from './dom';
import { type SignInOptions, startSignIn } from './oidc';
import { problemView } from './problem-view';
import { type Principal, setPrincipal, signInWithApiKey, signOut } from './session';

/** What the service offers (public): its identity providers, and whether API keys are offered. */
async function signInOptions(): Promise<SignInOptions> {
  return api<SignInOptions>('/v1/access/sign-in-options', { signingIn: true });
}

/** The sign-in page: the organisation's identity providers, and an API key for small setups. */
export async function signInPage(main: HTMLElement, onSignedIn: () => void, notice?: string): Promise<void> {
  const options = await signInOptions().catch((error: unknown) => {
    replace(main, h('h1', null, 'Sign in'), problemView(error));
    return undefined;
  });
  if (!options) return;
  const message = h('div', { attrs: { 'aria-live': 'polite' } });
  const key = h('input', { id: 'api-key', attrs: { name: 'api_key', type: 'password', required: true, autocomplete: 'off', spellcheck: 'false' } });
  replace(
    main,
    h('h1', null, 'Sign in'),
    notice ? h('p', { class: 'problem', attrs: { role: 'alert' } }, notice) : null,
    options.identity_providers.length > 0
      ? h(
          'section',
          { class: 'panel identity-providers', attrs: { 'aria-labelledby': 'idp-title' } },
          h('h2', { id: 'idp-title' }, 'With your organisation’s identity provider'),
          h(
            'div',
            { class: 'buttons' },
            options.identity_providers.map((provider) =>
              h(
                'button',
                {
                  class: 'idp',
                  attrs: { type: 'button' },
                  on: { click: () => void startSignIn(provider).catch((error: unknown) => replace(message, problemView(error))) },
                },
                `Sign in with ${new URL(provider.issuer).host}`,
              ),
            ),
          ),
        )
      : null,
    !options.api_key_sign_in ? message : null,
    options.api_key_sign_in && h(
      'section',
      { class: 'panel', attrs: { 'aria-labelledby': 'api-key-title' } },
      h('h2', { id: 'api-key-title' }, 'With an API key'),
      h(
        'form',
        {
          class: 'api-key',
          on: {
            submit: (event) => {
              event.preventDefault();
              void (async () => {
                signInWithApiKey(key.value.trim());
                try {
                  // Who the key is, whatever its scopes: proves it and tells the pages what it may do.
                  setPrincipal(await api<Principal>('/v1/access/me', { signingIn: true }));
                  onSignedIn();
                } catch (error) {
                  signOut();
                  replace(message, problemView(error instanceof ApiError && error.status === 401 ? new Error('the service does not know this key, or it was revoked') : error));
                }
              })();
            },
          },
        },
        h('label', { attrs: { for: 'api-key' } }, 'API key (kept in this tab only, until it closes)'),
        h('div', { class: 'row' }, key, h('button', { attrs: { type: 'submit' } }, 'Sign in')),
      ),
      message,
    ),
  );
  main.dataset.rendered = 'true';
}
