import catalogue from 'jartrail:catalogue';
import { api, ApiError, type Chain, type ChainRecord, type Finding, type Verification } from './api';
import { type Child, docText, fields, h, json, replace, time } from './dom';
import { exportPanel } from './exports';
import { type IntegrityReport, pinnedJwks, recordKey, verifyChain } from './integrity';
import { problemView } from './problem-view';

/**
 * One chain: its linking state, its findings, the integrity of its records checked in this browser, and the
 * timeline of every record with its full details. Evidence of a finding is marked in the timeline.
 */
export async function chainPage(main: HTMLElement, digest: string): Promise<void> {
  performance.mark('chain:fetch');
  replace(main, h('p', { class: 'muted' }, 'Loading the chain…'));
  let chain: Chain;
  try {
    chain = await api<Chain>(`/v1/chains/${encodeURIComponent(digest)}`);
  } catch (error) {
    replace(main, h('h1', null, 'Chain'), h('p', { class: 'digest' }, digest), problemView(error));
    return;
  }
  performance.mark('chain:render-start');
  renderChain(main, chain);
  performance.mark('chain:rendered');
  performance.measure('chain:render', 'chain:render-start', 'chain:rendered');
  main.dataset.rendered = 'true';
  await runIntegrity(main, chain);
}

function renderChain(main: HTMLElement, chain: Chain): void {
  const records = recordsByEvent(chain);
  const evidenceOf = new Map<string, Finding[]>();
  for (const finding of chain.findings) {
    for (const evidence of finding.evidence) {
      if (!evidence.event_id) continue;
      const key = recordKey(evidence.kind, evidence.event_id);
      evidenceOf.set(key, [...(evidenceOf.get(key) ?? []), finding]);
    }
  }
  replace(
    main,
    h('h1', null, 'Chain ', h('span', { class: 'digest' }, chain.digest)),
    summaryBar(chain),
    linkingBanner(chain),
    h('section', { class: 'panel', id: 'integrity', attrs: { 'aria-labelledby': 'integrity-title' } }, h('h2', { id: 'integrity-title' }, 'Integrity'), h('div', { class: 'integrity-body' })),
    findingsSection(chain, main),
    h(
      'section',
      { class: 'panel', attrs: { 'aria-labelledby': 'timeline-title' } },
      h('h2', { id: 'timeline-title' }, `Timeline (${chain.timeline.length} records)`),
      h(
        'ol',
        { class: 'timeline' },
        chain.timeline.map((entry) => {
          const record = records.get(recordKey('event', entry.event_id));
          return timelineEntry(entry, record, evidenceOf.get(recordKey('event', entry.event_id)) ?? []);
        }),
      ),
    ),
    conflictsSection(chain, evidenceOf),
    unlinkedSection(chain),
    exportPanel({ kind: 'chain', chain }),
  );
}

function summaryBar(chain: Chain): HTMLElement {
  const verification = chain.request_object.verifications[0];
  return h(
    'div',
    { class: 'summary' },
    fields([
      ['Client', verification?.data ? String(verification.data.client_id ?? '') : '—'],
      ['Authorization server', verification?.data ? String(verification.data.issuer ?? '') : '—'],
      ['First recorded', time(chain.first_recorded_at)],
      ['Signed', chain.unsigned ? h('span', { class: 'badge warn' }, 'unsigned request') : 'request object'],
      ['Verdicts', chain.verdict_mismatch ? h('span', { class: 'badge bad' }, 'the AS and jartrail disagree') : 'no mismatch'],
      ['Aliases', chain.aliases.length > 0 ? chain.aliases.join(', ') : undefined],
    ]),
  );
}

function linkingBanner(chain: Chain): Child {
  const behind = !chain.linking.chain_complete || chain.unlinked_records.length > 0 || !chain.linking.reached;
  const evaluation = chain.findings_evaluation.up_to_date ? null : h('p', null, 'The findings are being re-evaluated: they may change when the evaluation catches up.');
  if (!behind) return evaluation && h('div', { class: 'banner', attrs: { role: 'status' } }, evaluation);
  return h(
    'div',
    { class: 'banner warn', attrs: { role: 'status' } },
    h('p', null, h('strong', null, 'Linking is behind. '), `${chain.unlinked_records.length} record(s) committed but not yet linked will join this chain; `, `everything committed below position ${chain.linking.linked_below} is shown (the linking watermark).`),
    evaluation,
  );
}

function recordsByEvent(chain: Chain): Map<string, ChainRecord | Verification> {
  const map = new Map<string, ChainRecord | Verification>();
  for (const record of [...chain.request_object.verifications, ...chain.consents, ...chain.tokens, ...chain.revocations, ...chain.tool_calls]) map.set(recordKey('event', record.event_id), record);
  return map;
}

const TYPE_LABELS: Readonly<Record<string, string>> = {
  'request_object.verification': 'Request object verified',
  'consent.decision': 'Consent',
  'token.issued': 'Token issued',
  'token.revoked': 'Token revoked',
  'tool_call.recorded': 'Tool call',
};

function findingsSection(chain: Chain, main: HTMLElement): HTMLElement {
  const open = chain.findings.filter((finding) => finding.status === 'open').length;
  return h(
    'section',
    { class: 'panel', attrs: { 'aria-labelledby': 'findings-title' } },
    h('h2', { id: 'findings-title' }, `Findings (${open} open of ${chain.findings.length})`),
    chain.findings.length === 0
      ? h('p', { class: 'muted' }, 'The finding rules found nothing in this chain.')
      : h(
          'ul',
          { class: 'findings' },
          chain.findings.map((finding) => {
            const rule = catalogue.rules[finding.rule];
            return h(
              'li',
              { class: `finding severity-${finding.severity} status-${finding.status}` },
              h('div', { class: 'finding-head' }, h('span', { class: `badge sev-${finding.severity}` }, finding.severity), ' ', h('strong', null, finding.rule), ' ', h('span', { class: 'muted' }, finding.status, finding.triage_status ? ` · triage: ${finding.triage_status}` : '')),
              h('p', { class: 'finding-summary' }, finding.summary),
              rule && h('p', { class: 'rule-text' }, 'Fires when ', docText(rule.firesWhen)),
              h(
                'div',
                { class: 'finding-evidence' },
                'Evidence: ',
                finding.evidence.map((evidence, index) =>
                  evidence.event_id
                    ? h('button', { class: 'link', attrs: { type: 'button' }, on: { click: () => focusEvidence(main, finding) } }, `${index === 0 ? 'breaking ' : ''}${evidence.kind === 'conflict' ? 'refused body of' : 'record'} ${evidence.type ?? ''} ${evidence.event_id}`)
                    : h('span', null, `${evidence.kind} (no event id)`),
                ),
              ),
              h('details', null, h('summary', null, 'Facts'), json(finding.facts), fields([['First seen', time(finding.first_seen_at)], ['Resolved', finding.resolved_at ? time(finding.resolved_at) : undefined], ['Resolution', finding.resolution ?? undefined]])),
            );
          }),
        ),
  );
}

/** Marks a finding's evidence in the timeline and brings the first of it into view. */
function focusEvidence(main: HTMLElement, finding: Finding): void {
  for (const element of main.querySelectorAll('.focused')) element.classList.remove('focused');
  let first: HTMLElement | undefined;
  for (const evidence of finding.evidence) {
    if (!evidence.event_id) continue;
    const entry = main.querySelector<HTMLElement>(`[data-record="${CSS.escape(recordKey(evidence.kind, evidence.event_id))}"]`);
    if (!entry) continue;
    entry.classList.add('focused');
    if (entry instanceof HTMLDetailsElement) entry.open = true;
    const details = entry.querySelector('details');
    if (details) details.open = true;
    first ??= entry;
  }
  first?.scrollIntoView({ block: 'center' });
  first?.focus();
}

function timelineEntry(entry: Chain['timeline'][number], record: ChainRecord | Verification | undefined, findings: readonly Finding[]): HTMLElement {
  return h(
    'li',
    {
      class: `entry type-${entry.type.replace(/[^a-z_]/g, '-')}${findings.length > 0 ? ' evidence' : ''}`,
      attrs: { 'data-record': recordKey('event', entry.event_id), tabindex: -1 },
    },
    h(
      'div',
      { class: 'entry-head' },
      time(entry.occurred_at),
      ' ',
      h('span', { class: 'type' }, TYPE_LABELS[entry.type] ?? entry.type),
      ' ',
      h('span', { class: 'integrity-badge unchecked' }, 'not checked'),
      findings.map((finding) => h('span', { class: `badge sev-${finding.severity}` }, `evidence: ${finding.rule}`)),
    ),
    h('p', { class: 'entry-summary' }, entry.summary),
    h('details', null, h('summary', null, `Details · ${entry.source} · ${entry.event_id}`), record ? recordDetails(record) : h('p', null, 'The record is not in the chain document.')),
  );
}

function recordDetails(record: ChainRecord | Verification): HTMLElement {
  const data = record.data;
  const body: Child[] = [];
  if (data === null) body.push(h('p', { class: 'muted' }, record.ledger?.payload_purged?.note ?? 'The payload was purged by retention.'));
  else if ('independent' in record) body.push(verificationDetails(record, data));
  else body.push(dataDetails(record.type, data));
  body.push(
    fields([
      ['Event id', record.event_id],
      ['Source', `${record.source.name} (${record.source.id})`],
      ['Occurred', time(record.occurred_at)],
      ['Emitted', time(record.emitted_at)],
      ['Recorded', time(record.recorded_at)],
      ['Ledger seq', record.ledger?.seq ?? 'waiting for the sequencer'],
      ['Checkpoint', record.ledger?.checkpoint ? `tree size ${record.ledger.checkpoint.tree_size}, signed ${record.ledger.checkpoint.issued_at}` : 'none covers it yet'],
    ]),
    h('div', { class: 'integrity-detail' }),
  );
  return h('div', { class: 'record' }, body);
}

function verificationDetails(record: Verification, data: Record<string, unknown>): HTMLElement {
  const independent = record.independent;
  const compact = typeof data.request_object === 'string' ? data.request_object : undefined;
  const decoded = compact ? decodeCompact(compact) : undefined;
  return h(
    'div',
    { class: 'verification' },
    h(
      'div',
      { class: 'verdicts' },
      h(
        'div',
        { class: 'verdict' },
        h('h4', null, 'Authorization server'),
        h('p', null, h('span', { class: `badge ${data.verdict === 'accepted' ? 'good' : 'bad'}` }, String(data.verdict)), data.reason ? ` ${String(data.reason)}` : ''),
      ),
      h(
        'div',
        { class: 'verdict' },
        h('h4', null, 'jartrail (independent)'),
        h('p', null, h('span', { class: `badge ${verdictClass(independent.status)}` }, independent.status), independent.mismatch ? h('span', { class: 'badge bad' }, 'mismatch') : null, independent.opaque ? ' opaque: encrypted, no key to open it' : ''),
        independent.reasons.length === 0
          ? h('p', { class: 'muted' }, independent.status === 'verified' ? 'Every rule holds.' : 'No reason given.')
          : h(
              'ul',
              { class: 'reasons' },
              independent.reasons.map((reason) => {
                const known = catalogue.reasons[reason.code];
                return h(
                  'li',
                  null,
                  h('code', null, reason.code),
                  known ? [' (', known.verdict, '): ', docText(known.rule)] : '',
                  h('div', { class: 'reason-detail' }, reason.detail),
                  reason.differences && reason.differences.length > 0
                    ? h(
                        'table',
                        { class: 'differences' },
                        h('thead', null, h('tr', null, h('th', { attrs: { scope: 'col' } }, 'field'), h('th', { attrs: { scope: 'col' } }, 'reported'), h('th', { attrs: { scope: 'col' } }, 'in the object'))),
                        h('tbody', null, reason.differences.map((difference) => h('tr', null, h('td', null, difference.field), h('td', null, JSON.stringify(difference.reported)), h('td', null, 'actual' in difference ? JSON.stringify(difference.actual) : '(absent)')))),
                      )
                    : null,
                );
              }),
            ),
      ),
    ),
    fields([
      ['Digest', String(data.digest ?? '')],
      ['Client', String(data.client_id ?? '')],
      ['Issuer (AS)', String(data.issuer ?? '')],
      ['Delivery', String(data.delivery ?? '')],
      ['request_uri', data.request_uri === undefined ? undefined : String(data.request_uri)],
      ['Inner digest', data.inner_digest === undefined ? undefined : String(data.inner_digest)],
    ]),
    h('h4', null, 'Header (as the AS reported it)'),
    json(data.header),
    data.encryption ? [h('h4', null, 'Encryption'), json(data.encryption)] : null,
    h('h4', null, 'Claims (as the AS reported them)'),
    json(data.claims),
    decoded
      ? [h('h4', null, 'Decoded from the request object itself'), h('div', { class: 'decoded' }, h('h5', null, 'Header'), json(decoded.header), h('h5', null, 'Claims'), json(decoded.claims))]
      : h('p', { class: 'muted' }, compact ? 'The request object is encrypted or not a JWS: it cannot be decoded here.' : 'The report did not carry the request object itself.'),
  );
}

function verdictClass(status: string): string {
  return status === 'verified' ? 'good' : status === 'rejected' ? 'bad' : 'warn';
}

/** The header and payload of a compact JWS, decoded for reading (the signature is judged by independent verification). */
function decodeCompact(compact: string): { header: unknown; claims: unknown } | undefined {
  const parts = compact.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const decode = (part: string) => JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(part.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0)))) as unknown;
    return { header: decode(parts[0]!), claims: decode(parts[1]!) };
  } catch {
    return undefined;
  }
}

function dataDetails(type: string, data: Record<string, unknown>): HTMLElement {
  const text = (value: unknown) => (value === undefined || value === null ? undefined : typeof value === 'string' || typeof value === 'number' ? String(value) : JSON.stringify(value));
  const epoch = (value: unknown) => (typeof value === 'number' ? time(new Date(value * 1000).toISOString()) : text(value));
  switch (type) {
    case 'consent.decision':
      return h(
        'div',
        null,
        fields([
          ['Decision', h('span', { class: `badge ${data.decision === 'approved' ? 'good' : data.decision === 'denied' ? 'bad' : 'warn'}` }, String(data.decision))],
          ['Subject', text(data.subject)],
          ['What the user was shown', data.rendered_digest ? ['digest of the rendered screen ', h('code', null, String(data.rendered_digest))] : 'not reported'],
        ]),
        h('h4', null, 'Granted'),
        data.granted ? json(data.granted) : h('p', { class: 'muted' }, 'Not stated: what was asked.'),
      );
    case 'token.issued':
      return fields([
        ['Token type', text(data.token_type)],
        ['jti', text(data.jti)],
        ['Token hash', text(data.token_hash)],
        ['Grant type', text(data.grant_type)],
        ['Scope', text(data.scope)],
        ['Audience', text(data.aud)],
        ['Resource', text(data.resource)],
        ['Authorization details', data.authorization_details === undefined ? undefined : json(data.authorization_details)],
        ['Issued (iat)', epoch(data.iat)],
        ['Expires (exp)', epoch(data.exp)],
        ['Bound to (cnf)', text(data.cnf)],
        ['Parent', text(data.parent)],
        ['Request digest', text(data.digest)],
      ]);
    case 'token.revoked':
      return fields([
        ['jti', text(data.jti)],
        ['Token hash', text(data.token_hash)],
        ['Revoked at', text(data.revoked_at)],
        ['Reason', text(data.reason)],
      ]);
    case 'tool_call.recorded': {
      const effect = data.side_effect as { kind?: unknown; reference?: unknown; summary?: unknown } | undefined;
      return fields([
        ['Call id', text(data.call_id)],
        ['Agent', text(data.agent_id)],
        ['Tool', text(data.tool)],
        ['Action', text(data.action)],
        ['Resource', text(data.resource)],
        ['Outcome', h('span', { class: `badge ${data.outcome === 'succeeded' ? 'good' : data.outcome === 'denied' ? 'warn' : 'bad'}` }, String(data.outcome))],
        ['Token', text(data.token)],
        ['Arguments digest', text(data.arguments_digest)],
        ['Authorization details ref', text(data.authorization_details_ref)],
        ['Started', text(data.started_at)],
        ['Completed', text(data.completed_at)],
        ['Side effect', effect ? [text(effect.kind), ': ', text(effect.reference), effect.summary ? h('div', { class: 'side-effect-summary' }, text(effect.summary)) : null] : 'none reported'],
      ]);
    }
    default:
      return json(data);
  }
}

function conflictsSection(chain: Chain, evidenceOf: Map<string, Finding[]>): Child {
  if (chain.conflicts.length === 0) return null;
  return h(
    'section',
    { class: 'panel', attrs: { 'aria-labelledby': 'conflicts-title' } },
    h('h2', { id: 'conflicts-title' }, `Conflicts (${chain.conflicts.length})`),
    h('p', { class: 'muted' }, 'Bodies refused with 409 under the id of a record of this chain, kept as evidence. The first body stays the record.'),
    h(
      'ol',
      { class: 'timeline' },
      chain.conflicts.map((conflict) => {
        const findings = evidenceOf.get(recordKey('conflict', conflict.event_id)) ?? [];
        return h(
          'li',
          { class: `entry conflict${findings.length > 0 ? ' evidence' : ''}`, attrs: { 'data-record': recordKey('conflict', conflict.event_id), tabindex: -1 } },
          h('div', { class: 'entry-head' }, time(conflict.recorded_at), ' ', h('span', { class: 'type' }, `Refused redelivery of ${conflict.type}`), ' ', h('span', { class: 'integrity-badge unchecked' }, 'not checked'), findings.map((finding) => h('span', { class: `badge sev-${finding.severity}` }, `evidence: ${finding.rule}`))),
          h('details', null, h('summary', null, `Details · ${conflict.source.name} · ${conflict.event_id}`), fields([['Contradicts', `${conflict.conflicts_with.event_id} (ledger seq ${conflict.conflicts_with.ledger_seq ?? 'pending'})`], ['Ledger seq', conflict.ledger.seq ?? 'waiting for the sequencer']]), conflict.data ? json(conflict.data) : h('p', { class: 'muted' }, 'Purged by retention.'), h('div', { class: 'integrity-detail' })),
        );
      }),
    ),
  );
}

function unlinkedSection(chain: Chain): Child {
  if (chain.unlinked_records.length === 0) return null;
  return h(
    'section',
    { class: 'panel', attrs: { 'aria-labelledby': 'unlinked-title' } },
    h('h2', { id: 'unlinked-title' }, `Committed, not yet linked (${chain.unlinked_records.length})`),
    h('ul', null, chain.unlinked_records.map((record) => h('li', null, time(record.occurred_at), ' ', TYPE_LABELS[record.type] ?? record.type, ' ', h('code', null, record.event_id)))),
  );
}

async function runIntegrity(main: HTMLElement, chain: Chain): Promise<void> {
  const body = main.querySelector<HTMLElement>('.integrity-body');
  if (!body) return;
  const jwks = pinnedJwks();
  if (!jwks) {
    replace(body, h('p', { class: 'integrity-state unchecked' }, 'Nothing checked: no JWKS is pinned. '), h('p', null, 'Pin the ledger’s public keys on the ', h('a', { attrs: { href: '#/keys' } }, 'Keys'), ' page; the page then verifies the checkpoint signature and every inclusion proof in this browser.'));
    main.dataset.integrity = 'unpinned';
    return;
  }
  replace(body, h('p', { class: 'muted' }, 'Verifying in this browser…'));
  let report: IntegrityReport;
  try {
    report = await verifyChain(chain, jwks);
  } catch (error) {
    replace(body, h('p', { class: 'integrity-state failed' }, 'Could not verify: '), problemView(error instanceof ApiError && error.problem?.type === 'urn:jartrail:problem:no-checkpoint' ? new Error('the ledger has no signed checkpoint yet') : error));
    main.dataset.integrity = 'error';
    return;
  }
  showIntegrity(main, body, report);
}

function showIntegrity(main: HTMLElement, body: HTMLElement, report: IntegrityReport): void {
  const total = report.records.size;
  replace(
    body,
    h(
      'p',
      { class: `integrity-state ${report.ok ? 'verified' : 'failed'}`, attrs: { role: 'status' } },
      report.ok ? `Verified in this browser: ${report.verifiedCount} of ${total} records` : `NOT VERIFIED: ${report.failures.length} check(s) failed`,
    ),
    h(
      'ul',
      { class: 'checked' },
      report.checkpoint && h('li', { class: report.checkpoint.ok ? 'ok' : 'fail' }, `Checkpoint signature, with your pinned keys: ${report.checkpoint.ok ? 'valid' : 'INVALID'} (${report.checkpoint.detail})`),
      h('li', null, report.method === 'bundle' ? 'Each record: its payload against the committed salted hash, its leaf, and its inclusion proof in the signed tree; and that the page shows that same data.' : 'Each record: its leaf (event id, type, source) and its inclusion proof in the signed tree.'),
    ),
    report.failures.length > 0 ? h('div', { class: 'failures' }, h('h3', null, 'What failed'), h('ul', null, report.failures.map((failure) => h('li', null, h('strong', null, failure.subject), ': ', failure.detail)))) : null,
    h('h3', null, 'Not checked'),
    h('ul', { class: 'not-checked' }, report.notChecked.map((line) => h('li', null, line)), [...report.records.values()].some((record) => record.status === 'unchecked') ? h('li', null, `${[...report.records.values()].filter((record) => record.status === 'unchecked').length} record(s) not yet covered by a signed checkpoint.`) : null),
  );
  main.dataset.integrity = report.ok ? 'verified' : 'failed';
  for (const [key, record] of report.records) {
    const entry = main.querySelector<HTMLElement>(`[data-record="${CSS.escape(key)}"]`);
    if (!entry) continue;
    const badge = entry.querySelector('.integrity-badge');
    if (badge) {
      badge.className = `integrity-badge ${record.status}`;
      badge.textContent = record.status === 'verified' ? '✓ verified' : record.status === 'failed' ? '✗ NOT VERIFIED' : 'not checked';
    }
    const detail = entry.querySelector('.integrity-detail');
    if (detail) replace(detail, h('h4', null, 'Integrity'), h('ul', null, record.details.map((line) => h('li', null, line))));
  }
}
