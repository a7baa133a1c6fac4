import { api } from './api';
import { h, replace } from './dom';
import { describeKeys, forgetJwks, parseJwks, pinJwks, pinnedJwks } from './integrity';
import { problemView } from './problem-view';

/**
 * The keys the page verifies checkpoints with. Pinned once (pasted from a copy obtained out of band, or loaded from
 * this service and compared by thumbprint) and kept in this browser, so that a later compromised server cannot
 * swap them: its checkpoints would then fail.
 */
export async function keysPage(main: HTMLElement): Promise<void> {
  const pinned = pinnedJwks();
  const message = h('div', { attrs: { 'aria-live': 'polite' } });
  const textarea = h('textarea', { id: 'jwks-text', attrs: { rows: 8, spellcheck: 'false', placeholder: '{"keys":[...]}' } });
  const pin = (text: string) => {
    try {
      pinJwks(parseJwks(text));
      void keysPage(main);
    } catch (error) {
      replace(message, problemView(error));
    }
  };
  replace(
    main,
    h('h1', null, 'Pinned ledger keys'),
    h('p', null, 'Checkpoints are verified in this browser against these public keys, never against keys the service sends along with its proofs.'),
    h('section', { class: 'panel', attrs: { 'aria-labelledby': 'pinned-title' } }, h('h2', { id: 'pinned-title' }, 'Pinned now'), pinned ? await keyTable(pinned) : h('p', { class: 'integrity-state unchecked' }, 'No keys pinned: chain pages will not verify anything.'), pinned ? h('button', { attrs: { type: 'button' }, on: { click: () => (forgetJwks(), void keysPage(main)) } }, 'Forget these keys') : null),
    h(
      'section',
      { class: 'panel', attrs: { 'aria-labelledby': 'pin-title' } },
      h('h2', { id: 'pin-title' }, 'Pin keys'),
      h(
        'form',
        {
          on: {
            submit: (event) => {
              event.preventDefault();
              pin(textarea.value);
            },
          },
        },
        h('label', { attrs: { for: 'jwks-text' } }, 'Paste the ledger’s JWKS as you obtained it out of band (from its operators, or a copy you kept)'),
        textarea,
        h('div', { class: 'buttons' }, h('button', { attrs: { type: 'submit' } }, 'Pin the pasted JWKS')),
      ),
      h('p', null, 'Or load it once from this service (trust on first use: compare the thumbprints with a copy you trust):'),
      h(
        'button',
        {
          attrs: { type: 'button', id: 'load-jwks' },
          on: {
            click: () =>
              void api<unknown>('/.well-known/jwks.json').then(
                (jwks) => pin(JSON.stringify(jwks)),
                (error: unknown) => replace(message, problemView(error)),
              ),
          },
        },
        'Load and pin /.well-known/jwks.json',
      ),
      message,
    ),
  );
  main.dataset.rendered = 'true';
}

async function keyTable(jwks: NonNullable<ReturnType<typeof pinnedJwks>>): Promise<HTMLElement> {
  const keys = await describeKeys(jwks);
  return h(
    'table',
    { class: 'keys' },
    h('thead', null, h('tr', null, h('th', { attrs: { scope: 'col' } }, 'kid'), h('th', { attrs: { scope: 'col' } }, 'algorithm'), h('th', { attrs: { scope: 'col' } }, 'RFC 7638 thumbprint (SHA-256)'))),
    h('tbody', null, keys.map((key) => h('tr', null, h('td', null, key.kid), h('td', null, key.alg), h('td', null, h('code', { class: 'thumbprint' }, key.thumbprint))))),
  );
}
