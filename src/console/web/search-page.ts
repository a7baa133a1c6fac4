import catalogue from 'jartrail:catalogue';
import { api, ApiError, type LookupResult, type Schemas, type SearchResult } from './api';
import { h, replace, time } from './dom';
import { exportPanel } from './exports';
import { problemView } from './problem-view';
import { navigate } from './router';

/** Every filter of GET /v1/chains (src/chains/dto/chain.dto.ts searchQuery), as the form names them. */
const TEXT_FILTERS = [
  ['client_id', 'Client'],
  ['subject', 'Subject'],
  ['issuer', 'Issuer (AS)'],
  ['tool', 'Tool'],
] as const;
const VERDICTS = ['verified', 'rejected', 'unverifiable', 'not_verifiable', 'pending'] as const;
const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
const LIMITS = ['25', '50', '100'] as const;

/** A datetime-local value is read as UTC (the page says so), to the second. */
const toIso = (local: string) => (local ? `${local.length === 16 ? `${local}:00` : local}Z` : '');
const toLocal = (iso: string | null) => (iso ? iso.replace(/Z$/, '').replace(/\.\d+$/, '') : '');

export async function searchPage(main: HTMLElement, params: URLSearchParams): Promise<void> {
  const results = h('div', { class: 'results', attrs: { 'aria-live': 'polite' } });
  replace(main, h('h1', null, 'Chains'), lookupForm(), searchForm(params), results);
  const query: Record<string, string> = {};
  for (const [name, value] of params) if (value !== '') query[name] = value;
  replace(results, h('p', { class: 'muted' }, 'Searching…'));
  try {
    const page = await api<SearchResult>('/v1/chains', { query });
    replace(results, resultsTable(page, params), exportPanel({ kind: 'search', scope: exportScopeOf(params) }));
  } catch (error) {
    replace(results, problemView(error));
  }
  main.dataset.rendered = 'true';
}

function lookupForm(): HTMLElement {
  const input = h('input', { id: 'lookup-value', attrs: { name: 'value', type: 'search', required: true, maxlength: 2048, autocomplete: 'off', spellcheck: 'false' } });
  const out = h('div', { class: 'lookup-results', attrs: { 'aria-live': 'polite' } });
  return h(
    'section',
    { class: 'panel', attrs: { 'aria-labelledby': 'lookup-title' } },
    h('h2', { id: 'lookup-title' }, 'Look up'),
    h(
      'form',
      {
        class: 'lookup',
        on: {
          submit: (event) => {
            event.preventDefault();
            void lookup(input.value.trim(), out);
          },
        },
      },
      h('label', { attrs: { for: 'lookup-value' } }, 'A token jti or hash, a call id, a side-effect reference, a request_uri or a digest'),
      h('div', { class: 'row' }, input, h('button', { attrs: { type: 'submit' } }, 'Look up')),
    ),
    out,
  );
}

const DIGEST = /^[A-Za-z0-9_-]{43}$/;

/** Tries the value as every kind of key GET /v1/lookup takes (and as a digest), and goes to the chain when one answers. */
async function lookup(value: string, out: HTMLElement): Promise<void> {
  if (!value) return;
  replace(out, h('p', { class: 'muted' }, 'Looking up…'));
  const keys = ['token_jti', 'call_id', 'side_effect_reference', 'request_uri', ...(DIGEST.test(value) ? ['token_hash'] : [])];
  const asDigest = DIGEST.test(value)
    ? api<{ digest: string }>(`/v1/chains/${encodeURIComponent(value)}`).then(
        (chain) => [chain.digest],
        (error: unknown) => (error instanceof ApiError && error.status === 300 ? ((error.problem?.chains as string[] | undefined) ?? []) : []),
      )
    : Promise.resolve([] as string[]);
  const hits = await Promise.all(
    keys.map((key) =>
      api<LookupResult>('/v1/lookup', { query: { [key]: value } }).then(
        (result) => result.records.map((record) => ({ key, record })),
        (error: unknown) => {
          if (error instanceof ApiError && (error.status === 404 || error.status === 400)) return [];
          throw error;
        },
      ),
    ),
  ).catch((error: unknown) => error);
  if (!Array.isArray(hits)) {
    replace(out, problemView(hits));
    return;
  }
  const records = hits.flat();
  const chains = new Set([...(await asDigest), ...records.flatMap(({ record }) => record.chains)]);
  if (chains.size === 1 && records.every(({ record }) => record.linked)) {
    navigate(`#/chain/${encodeURIComponent([...chains][0]!)}`);
    return;
  }
  if (chains.size === 0 && records.length === 0) {
    replace(out, h('p', { class: 'problem', attrs: { role: 'alert' } }, 'Nothing matches this value.'));
    return;
  }
  replace(
    out,
    h('p', null, `${records.length} record(s), ${chains.size} chain(s):`),
    h(
      'ul',
      null,
      [...chains].map((digest) => h('li', null, h('a', { attrs: { href: `#/chain/${encodeURIComponent(digest)}` } }, digest))),
      records.map(({ key, record }) => h('li', null, `${key}: ${record.type} ${record.event_id}`, record.linked ? '' : ' (committed, waiting for the linker)')),
    ),
  );
}

function select(name: string, label: string, options: readonly string[], value: string | null): HTMLElement[] {
  return [
    h('label', { attrs: { for: `f-${name}` } }, label),
    h('select', { id: `f-${name}`, attrs: { name } }, h('option', { attrs: { value: '' } }, 'any'), options.map((option) => h('option', { attrs: { value: option, selected: option === value } }, option))),
  ];
}

function searchForm(params: URLSearchParams): HTMLElement {
  const form = h(
    'form',
    {
      class: 'search',
      on: {
        submit: (event) => {
          event.preventDefault();
          const data = new FormData(form);
          const next = new URLSearchParams();
          for (const [name, value] of data) {
            if (typeof value !== 'string' || value === '') continue;
            next.set(name, name === 'from' || name === 'to' ? toIso(value) : value);
          }
          navigate(`#/search?${next.toString()}`);
        },
      },
    },
    h(
      'fieldset',
      null,
      h('legend', null, 'Search'),
      h(
        'div',
        { class: 'grid' },
        TEXT_FILTERS.map(([name, label]) => [h('label', { attrs: { for: `f-${name}` } }, label), h('input', { id: `f-${name}`, attrs: { name, value: params.get(name) ?? '', autocomplete: 'off' } })]),
        select('independent_verdict', 'jartrail verdict', VERDICTS, params.get('independent_verdict')),
        select('finding', 'Open finding', Object.keys(catalogue.rules), params.get('finding')),
        select('severity', 'Severity', SEVERITIES, params.get('severity')),
        h('label', { attrs: { for: 'f-from' } }, 'First recorded from (UTC)'),
        h('input', { id: 'f-from', attrs: { name: 'from', type: 'datetime-local', step: 1, value: toLocal(params.get('from')) } }),
        h('label', { attrs: { for: 'f-to' } }, 'to (UTC)'),
        h('input', { id: 'f-to', attrs: { name: 'to', type: 'datetime-local', step: 1, value: toLocal(params.get('to')) } }),
        h('label', { attrs: { for: 'f-limit' } }, 'Per page'),
        h('select', { id: 'f-limit', attrs: { name: 'limit' } }, LIMITS.map((limit) => h('option', { attrs: { value: limit, selected: limit === (params.get('limit') ?? '25') } }, limit))),
        h('label', { class: 'check', attrs: { for: 'f-verdict_mismatch' } }, h('input', { id: 'f-verdict_mismatch', attrs: { name: 'verdict_mismatch', type: 'checkbox', value: 'true', checked: params.get('verdict_mismatch') === 'true' } }), ' Only where the AS and jartrail disagree'),
      ),
      h('div', { class: 'buttons' }, h('button', { attrs: { type: 'submit' } }, 'Search'), ' ', h('a', { attrs: { href: '#/search' } }, 'Clear')),
    ),
  );
  return form;
}

function resultsTable(page: SearchResult, params: URLSearchParams): HTMLElement {
  const next = new URLSearchParams(params);
  if (page.next_cursor) next.set('cursor', page.next_cursor);
  const first = new URLSearchParams(params);
  first.delete('cursor');
  return h(
    'section',
    { class: 'panel', attrs: { 'aria-labelledby': 'results-title' } },
    h('h2', { id: 'results-title' }, `${page.items.length} chain(s)${params.has('cursor') ? ' (a later page)' : ''}`),
    h('p', { class: 'muted' }, `Newest first. Linked below position ${page.linking.linked_below}: records committed since may not be shown yet.`),
    page.items.length === 0
      ? h('p', null, 'No chain matches.')
      : h(
          'div',
          { class: 'table-wrap' },
          h(
          'table',
          { class: 'chains' },
          h('thead', null, h('tr', null, ['Chain', 'First recorded', 'Client', 'Issuer', 'Subject', 'Tools', 'Open findings', 'Records'].map((title) => h('th', { attrs: { scope: 'col' } }, title)))),
          h(
            'tbody',
            null,
            page.items.map((item) =>
              h(
                'tr',
                null,
                h('td', null, h('a', { class: 'digest', attrs: { href: `#/chain/${encodeURIComponent(item.digest)}` } }, item.digest)),
                h('td', { class: 'when' }, time(item.first_recorded_at)),
                h('td', null, item.client_ids.join(', ')),
                h('td', null, item.issuers.join(', ')),
                h('td', { class: 'opaque' }, item.subjects.join(', ')),
                h('td', null, item.tools.join(', ')),
                h('td', null, SEVERITIES.filter((severity) => item.open_findings[severity]).map((severity) => h('span', { class: `badge sev-${severity}` }, `${item.open_findings[severity]} ${severity}`))),
                h('td', { class: 'counts' }, recordCounts(item.records)),
              ),
            ),
          ),
          ),
        ),
    h(
      'nav',
      { class: 'pages', attrs: { 'aria-label': 'pages' } },
      params.has('cursor') ? h('a', { attrs: { href: `#/search?${first.toString()}` } }, '← First page') : null,
      ' ',
      page.next_cursor ? h('a', { class: 'next', attrs: { href: `#/search?${next.toString()}` } }, 'Next page →') : h('span', { class: 'muted' }, 'Last page'),
    ),
  );
}

function recordCounts(records: SearchResult['items'][number]['records']): string {
  const parts: [number, string][] = [
    [records.verifications, 'verification'],
    [records.consents, 'consent'],
    [records.tokens, 'token'],
    [records.tool_calls, 'tool call'],
    [records.revocations, 'revocation'],
  ];
  return parts
    .filter(([count]) => count > 0)
    .map(([count, name]) => `${count} ${name}${count === 1 ? '' : 's'}`)
    .join(', ');
}

/** The search's filters as an export scope (src/exports/dto/export.dto.ts); pending has no export counterpart. */
export function exportScopeOf(params: URLSearchParams): Schemas['ExportScope'] {
  const scope: Record<string, unknown> = {};
  for (const [name] of TEXT_FILTERS) if (params.get(name)) scope[name] = params.get(name);
  const verdict = params.get('independent_verdict');
  if (verdict && verdict !== 'pending') scope.independent_verdict = verdict;
  if (params.get('verdict_mismatch') === 'true') scope.verdict_mismatch = true;
  if (params.get('finding')) scope.finding_rule = params.get('finding');
  if (params.get('severity')) scope.finding_severity = params.get('severity');
  if (params.get('from')) scope.from = params.get('from');
  if (params.get('to')) scope.to = params.get('to');
  return scope as Schemas['ExportScope'];
}
