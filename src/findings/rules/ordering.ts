import type { EvidenceRecord } from '../chain-evidence';

/**
 * Occurrence order: the order a reviewer reads, independent of the order records arrived in. Records that occurred at
 * the same instant (two consents in one second, an access and a refresh token of one exchange) are ordered by their
 * identity, the source and its event id, never by seq: seq is the order jartrail received them, and a finding must not
 * change with the order of delivery. Seq decides only between copies of one record, which do not exist.
 */
export const byOccurrence = (a: EvidenceRecord, b: EvidenceRecord) =>
  a.occurredAt.getTime() - b.occurredAt.getTime() || compareText(a.sourceId, b.sourceId) || compareText(a.eventId, b.eventId) || compareSeqs(a.seq, b.seq);

export const compareSeqs = (a: string, b: string) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0);

/** Code-unit order, the same in every locale (localeCompare is not). */
const compareText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The chain's records and the related records of other chains, once each, in occurrence order. */
export function withRelated(records: readonly EvidenceRecord[], related: readonly EvidenceRecord[]): EvidenceRecord[] {
  const seen = new Set<string>();
  return [...records, ...related].filter((record) => !seen.has(record.seq) && seen.add(record.seq)).sort(byOccurrence);
}

/** Quotes a value from the evidence for a summary: bounded, and plainly marked as quoted. */
export const quoted = (value: unknown) => JSON.stringify(String(value).length > 200 ? `${String(value).slice(0, 200)}…` : String(value));
