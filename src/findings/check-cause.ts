import type { ChainEvidence } from './chain-evidence';
import { quoted } from './rules/ordering';

/**
 * Why a subject was queued for evaluation (finding_checks.cause): what a finding resolved by that evaluation names as
 * the change that ended it. Written with the change that motivates it; null on rows queued before causes were kept.
 */
export type CheckCause =
  /** Records (events.seq, the newest few of `count`) joined the chain, or share a replay or natural key with its records. */
  | { readonly kind: 'records'; readonly seqs: readonly string[]; readonly count: number }
  /** jartrail recorded its own verdict on this verification (events.seq). */
  | { readonly kind: 'verdict'; readonly seq: string }
  /** The client's registration was made or changed. */
  | { readonly kind: 'client'; readonly client_id: string }
  /** A grace period ended (RuleOutcome.recheckAt, or a loose record's). */
  | { readonly kind: 'recheck' };

/** How many of a batch's records a `records` cause keeps: enough to name, bounded however large the batch. */
export const CAUSE_RECORDS_KEPT = 5;

const MAX_NAMED = 3;

/**
 * The reason a finding resolved by this evaluation is given: what queued the evaluation (the records that arrived, a
 * verdict, a client registration that changed), named as the API names evidence (type and event id), so a reviewer
 * can tell what ended it. Several causes are named, the first few only. Pure: the evidence holds the records named.
 */
export function resolutionReasonOf(causes: readonly (CheckCause | null)[], chain: ChainEvidence): string {
  if (chain.records.length === 0 && chain.digest === null) return 'no longer holds: the record has joined a chain';
  const recordsBySeq = new Map([...chain.records, ...chain.related].map((record) => [record.seq, record]));
  const own = new Set(chain.records.map((record) => record.seq));
  const named = (seq: string) => {
    const record = recordsBySeq.get(seq);
    if (!record) return undefined;
    return `${record.type} ${quoted(record.eventId)}${own.has(seq) ? '' : ' (of another chain, sharing a key with this one)'}`;
  };
  const parts: string[] = [];
  for (const cause of causes) {
    if (cause === null) continue;
    if (cause.kind === 'records') {
      const names = cause.seqs.map(named).filter((name): name is string => name !== undefined);
      if (names.length === 0) continue;
      const more = cause.count - names.length;
      parts.push(`${names.join(', ')}${more > 0 ? ` and ${more} more record(s)` : ''} arrived`);
    } else if (cause.kind === 'verdict') {
      const name = named(cause.seq);
      parts.push(name ? `jartrail's own verdict on ${name} was recorded` : `jartrail recorded its own verdict on a verification`);
    } else if (cause.kind === 'client') parts.push(`the registration of client ${quoted(cause.client_id)} was made or changed`);
    else parts.push('a grace period ended');
  }
  const distinct = [...new Set(parts)];
  const evaluated = `the rules re-evaluated over the ${chain.records.length} records the subject has now no longer find it`;
  if (distinct.length === 0) return `no longer holds: ${evaluated}`;
  const shown = distinct.slice(0, MAX_NAMED).join('; ') + (distinct.length > MAX_NAMED ? `; and ${distinct.length - MAX_NAMED} other change(s)` : '');
  return `no longer holds once ${shown}: ${evaluated}`;
}
