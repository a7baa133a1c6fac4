import { api, type Schemas } from './api';
import { h, replace, time } from './dom';
import { problemView } from './problem-view';
import { navigate } from './router';

/** An access record as the API gives it; `subject` and `issuer` name the identity provider's user for access tokens. */
type AccessRecord = Schemas['AccessRecordPage']['items'][number] & { readonly subject?: string | null; readonly issuer?: string | null };

const FILTERS = [
  ['subject', 'Subject (sub)'],
  ['issuer', 'Identity provider (iss)'],
  ['route', 'Route'],
] as const;

/** The access log, for admins (audit:admin): who looked at what, with which credential, and the answer. */
export async function accessLogPage(main: HTMLElement, params: URLSearchParams): Promise<void> {
  const results = h('div', { attrs: { 'aria-live': 'polite' } });
  const form = h(
    'form',
    {
      on: {
        submit: (event) => {
          event.preventDefault();
          const next = new URLSearchParams();
          for (const [name, value] of new FormData(form)) if (typeof value === 'string' && value !== '') next.set(name, value);
          navigate(`#/access?${next.toString()}`);
        },
      },
    },
    h(
      'fieldset',
      null,
      h('legend', null, 'Filter'),
      h(
        'div',
        { class: 'grid' },
        FILTERS.map(([name, label]) => [h('label', { attrs: { for: `a-${name}` } }, label), h('input', { id: `a-${name}`, attrs: { name, value: params.get(name) ?? '', autocomplete: 'off' } })]),
        h('label', { attrs: { for: 'a-outcome' } }, 'Outcome'),
        h('select', { id: 'a-outcome', attrs: { name: 'outcome' } }, ['', 'answered', 'refused'].map((value) => h('option', { attrs: { value, selected: value === (params.get('outcome') ?? '') } }, value || 'any'))),
      ),
      h('div', { class: 'buttons' }, h('button', { attrs: { type: 'submit' } }, 'Show')),
    ),
  );
  replace(main, h('h1', null, 'Access log'), h('p', { class: 'muted' }, 'Every auditor request, answered or refused, newest first. Needs the audit:admin scope.'), h('section', { class: 'panel' }, form), results);
  try {
    const query: Record<string, string> = { limit: '100' };
    for (const [name, value] of params) query[name] = value;
    const page = await api<Schemas['AccessRecordPage']>('/v1/access-records', { query });
    const next = new URLSearchParams(params);
    if (page.next_cursor) next.set('cursor', page.next_cursor);
    replace(
      results,
      h(
        'section',
        { class: 'panel' },
        h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            { class: 'access' },
            h('thead', null, h('tr', null, ['When', 'Who', 'Credential', 'Request', 'Status'].map((title) => h('th', { attrs: { scope: 'col' } }, title)))),
            h(
              'tbody',
              null,
              (page.items as AccessRecord[]).map((record) =>
                h(
                  'tr',
                  null,
                  h('td', { class: 'when' }, time(record.at)),
                  h('td', null, record.subject ? [record.subject, h('div', { class: 'muted' }, record.issuer ?? '')] : record.api_key ? `API key ${record.api_key.name}` : (record.presented_key_fingerprint ?? '—')),
                  h('td', null, record.credential),
                  h('td', null, h('code', null, `${record.method} ${record.target}`)),
                  h('td', null, h('span', { class: `badge ${record.status < 400 ? 'good' : 'bad'}` }, String(record.status))),
                ),
              ),
            ),
          ),
        ),
        h('nav', { class: 'pages', attrs: { 'aria-label': 'pages' } }, page.next_cursor ? h('a', { attrs: { href: `#/access?${next.toString()}` } }, 'Older →') : h('span', { class: 'muted' }, 'Oldest page')),
      ),
    );
  } catch (error) {
    replace(results, problemView(error));
  }
  main.dataset.rendered = 'true';
}
