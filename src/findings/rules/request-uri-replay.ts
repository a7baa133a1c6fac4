import { canonicalJson } from '../../common/canonical-json';
import { tokenKeysOf } from '../../evidence/record-links';
import { approves } from '../../evidence/types/consent-event';
import { consentsOf, eventRef, type EvidenceRecord, tokensOf, type VerificationRecord, verificationsOf } from '../chain-evidence';
import type { FindingDraft, Rule } from '../rule';
import { byOccurrence, quoted, withRelated } from './ordering';

/** The replay keys of a verification: its PAR request_uri, and its request object's jti for its client. */
export function replayKeysOf(record: VerificationRecord): { key: string; what: string }[] {
  if (record.data === null) return [];
  const keys: { key: string; what: string }[] = [];
  if (record.data.delivery === 'par' && record.data.request_uri !== undefined) {
    keys.push({ key: `request_uri:${record.data.request_uri}`, what: `PAR request_uri ${quoted(record.data.request_uri)}` });
  }
  if (record.data.claims.jti !== undefined) {
    keys.push({ key: `jti:${record.data.client_id}:${record.data.claims.jti}`, what: `request-object jti ${quoted(record.data.claims.jti)} of client ${quoted(record.data.client_id)}` });
  }
  return keys;
}

/** The uses of each replay key among these records, first use first. */
export function usesByKey(records: readonly EvidenceRecord[]): Map<string, { what: string; uses: VerificationRecord[] }> {
  const byKey = new Map<string, { what: string; uses: VerificationRecord[] }>();
  for (const record of verificationsOf(records)) {
    for (const { key, what } of replayKeysOf(record)) {
      const entry = byKey.get(key) ?? { what, uses: [] };
      entry.uses.push(record);
      byKey.set(key, entry);
    }
  }
  return byKey;
}

/** True when this verification is a later use of a key used before: the AS refusing it is a replay caught, not a mismatch. */
export function isReplayedUse(record: VerificationRecord, records: readonly EvidenceRecord[]): boolean {
  const uses = usesByKey(records);
  return replayKeysOf(record).some(({ key }) => {
    const ordered = uses.get(key)?.uses ?? [];
    return ordered.length > 1 && ordered[0]!.seq !== record.seq && ordered.some((use) => use.seq === record.seq);
  });
}

/** One time a chain's request was consumed: the records it left (an approved consent, the tokens of a code exchange). */
export interface Consumption {
  readonly records: readonly EvidenceRecord[];
  readonly occurredAt: Date;
}

/**
 * The times the chain's request was consumed, as its records show them, in occurrence order. An authorization that
 * goes through leaves one approved (or partial) consent and one authorization-code exchange: the tokens issued with
 * `grant_type` `authorization_code` that name the chain's digest, one of each `token_type` (an access token, perhaps a
 * refresh token). So the consumptions are as many as the approved consents or as the exchanges' tokens of any one
 * type, whichever is more; the i-th consent and the i-th token of each type are taken for one. Not consumptions: a
 * denied consent (nothing was granted), a token derived from a parent (a refresh or an exchange: `parent`, or another
 * `grant_type`), a token without `grant_type`, a purged record (unreadable). A record delivered again under another
 * event id is not another consumption: a token is counted once by its jti or hash, a consent once by its contents and
 * time (a second consumption is a later decision).
 */
export function consumptionsOf(records: readonly EvidenceRecord[]): Consumption[] {
  const seenConsents = new Set<string>();
  const consents = consentsOf(records)
    .filter((consent) => consent.data !== null && approves(consent.data))
    .sort(byOccurrence)
    .filter((consent) => {
      const contents = `${consent.occurredAt.toISOString()} ${canonicalJson(consent.data)}`;
      return !seenConsents.has(contents) && Boolean(seenConsents.add(contents));
    });
  const seenTokens = new Set<string>();
  const exchanges = new Map<string, EvidenceRecord[]>();
  for (const token of tokensOf(records).sort(byOccurrence)) {
    if (token.data === null || token.data.digest === undefined || token.data.grant_type !== 'authorization_code') continue;
    const keys = tokenKeysOf(token.data);
    if (keys.some((key) => seenTokens.has(key))) continue;
    for (const key of keys) seenTokens.add(key);
    exchanges.set(token.data.token_type, [...(exchanges.get(token.data.token_type) ?? []), token]);
  }
  const count = Math.max(consents.length, ...[...exchanges.values()].map((tokens) => tokens.length));
  return Array.from({ length: count }, (_, index) => {
    const left = [consents[index], ...[...exchanges.values()].map((tokens) => tokens[index])].filter((record): record is EvidenceRecord => record !== undefined).sort(byOccurrence);
    return { records: left, occurredAt: left[0]!.occurredAt };
  });
}

type Use = { readonly kind: 'report'; readonly record: VerificationRecord; readonly occurredAt: Date } | ({ readonly kind: 'consumption' } & Consumption);

/**
 * The consumptions of this chain that no report of their own accounts for: each accepted verification report of the
 * chain accounts for one consumption (an AS reports a request passed by value at each use, and a PAR push once), and
 * the consumptions beyond those, in occurrence order, are further uses of the chain's PAR request_uri. Attributed only
 * when the chain's accepted reports name exactly one PAR request_uri and none of its reports was purged.
 */
function unreportedConsumptions(records: readonly EvidenceRecord[]): { requestUriKey: string; all: Consumption[]; unreported: Consumption[] } | undefined {
  const reports = verificationsOf(records);
  if (reports.some((report) => report.data === null)) return undefined;
  const accepted = reports.filter((report) => report.data!.verdict === 'accepted');
  const requestUris = new Set(accepted.flatMap((report) => (report.data!.delivery === 'par' && report.data!.request_uri !== undefined ? [report.data!.request_uri] : [])));
  if (requestUris.size !== 1) return undefined;
  const all = consumptionsOf(records);
  return { requestUriKey: `request_uri:${[...requestUris][0]!}`, all, unreported: all.slice(accepted.length) };
}

/**
 * request_uri_replay: one PAR request_uri, or one request-object jti of one client, used more than once. A use is a
 * verification report of the key, or, for a PAR request_uri, a consumption of it that no report accounts for (an AS
 * that reports a push once and not each use: the request_uri consumed twice shows as one report and two approved
 * consents, or two code exchanges, in its chain; see consumptionsOf). The first use (by occurrence, ties by record
 * identity) is legitimate; the finding lands on the chain of each later use. High when two uses were accepted (a
 * consumption was), or when a refused later use still had a consent approved in its chain (a second user got through
 * login and consent before the refusal); low when the AS refused the later use (an attempt, kept as evidence). The
 * consumptions of other chains are not seen: each chain is judged on its own.
 */
export const requestUriReplay: Rule = (chain) => {
  const all = withRelated(chain.records, chain.related);
  const own = new Set(chain.records.map((record) => record.seq));
  const approvedConsents = consentsOf(chain.records).filter((consent) => consent.data !== null && approves(consent.data)).length;
  const consumed = unreportedConsumptions(chain.records);
  const findings: FindingDraft[] = [];
  for (const [key, { what, uses: reports }] of usesByKey(all)) {
    const unreported = consumed?.requestUriKey === key ? consumed.unreported : [];
    const uses: Use[] = [
      ...reports.map((record) => ({ kind: 'report' as const, record, occurredAt: record.occurredAt })),
      ...unreported.map((consumption) => ({ kind: 'consumption' as const, ...consumption })),
    ].sort((a, b) => a.occurredAt.getTime() - b.occurredAt.getTime() || byOccurrence(firstRecordOf(a), firstRecordOf(b)));
    if (uses.length < 2) continue;
    const isOwn = (use: Use) => use.kind === 'consumption' || own.has(use.record.seq);
    const isAccepted = (use: Use) => use.kind === 'consumption' || use.record.data!.verdict === 'accepted';
    const laterOwn = uses.slice(1).filter(isOwn);
    if (laterOwn.length === 0) continue;
    const accepted = uses.filter(isAccepted).length;
    const laterAccepted = laterOwn.some(isAccepted);
    // Each accepted use of this chain accounts for one approved consent in it; a consent beyond those was given on a
    // use the AS refused only afterwards.
    const acceptedHere = uses.filter((use) => isOwn(use) && isAccepted(use)).length;
    const consentOnRefusedUse = approvedConsents > acceptedHere;
    const high = (laterAccepted && accepted >= 2) || consentOnRefusedUse;
    // The consumptions prove the count only all together: the first is the use the report accounts for.
    const consumptionRecords = unreported.length > 0 ? consumed!.all.flatMap((consumption) => consumption.records) : [];
    findings.push({
      rule: 'request_uri_replay',
      severity: high ? 'high' : 'low',
      key,
      evidence: [...reports, ...consumptionRecords].map(eventRef),
      summary:
        `${what} was used ${uses.length} times (${accepted} accepted by the AS)` +
        (unreported.length > 0
          ? `; ${unreported.length} of the uses left no report of their own: its chain shows ${consumed!.all.length} consumptions (approved consents or authorization-code exchanges) for ${consumed!.all.length - unreported.length} accepted report(s)`
          : '') +
        (high ? '' : '; the AS refused the replay'),
      facts: {
        key_kind: key.startsWith('request_uri:') ? 'request_uri' : 'jti',
        uses: uses.map((use) =>
          use.kind === 'report'
            ? { kind: 'report', verdict: use.record.data!.verdict, at: use.occurredAt.toISOString(), chains: use.record.chains }
            : { kind: 'consumption', at: use.occurredAt.toISOString(), records: use.records.map((record) => record.type) },
        ),
        accepted_uses: accepted,
        consumptions: unreported.length > 0 ? consumed!.all.length : null,
        unreported_consumptions: unreported.length,
        consent_on_refused_use: consentOnRefusedUse,
      },
    });
  }
  return { findings };
};

const firstRecordOf = (use: Use): EvidenceRecord => (use.kind === 'report' ? use.record : use.records[0]!);
