import { api, ApiError } from './api';
import { h, replace } from './dom';
import { problemView } from './problem-view';
import { signInWithApiKey, signOut } from './session';

/** The sign-in page: an API key for small setups (and, where an identity provider is configured, its button). */
export function signInPage(main: HTMLElement, onSignedIn: () => void, notice?: string): void {
  const message = h('div', { attrs: { 'aria-live': 'polite' } });
  const key = h('input', { id: 'api-key', attrs: { name: 'api_key', type: 'password', required: true, autocomplete: 'off', spellcheck: 'false' } });
  replace(
    main,
    h('h1', null, 'Sign in'),
    notice ? h('p', { class: 'problem', attrs: { role: 'alert' } }, notice) : null,
    h('div', { class: 'identity-providers' }),
    h(
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
                  // Any read proves the key; the search is the page the auditor lands on anyway.
                  await api('/v1/chains', { query: { limit: '1' }, signingIn: true });
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
}
