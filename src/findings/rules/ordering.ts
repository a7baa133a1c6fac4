import type { EvidenceRecord } from '../chain-evidence';

/** Occurrence order, then seq: the order a reviewer reads, independent of the order records arrived in. */
export const byOccurrence = (a: EvidenceRecord, b: EvidenceRecord) => a.occurredAt.getTime() - b.occurredAt.getTime() || compareSeqs(a.seq, b.seq);

export const compareSeqs = (a: string, b: string) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0);

/** The chain's records and the related records of other chains, once each, in occurrence order. */
export function withRelated(records: readonly EvidenceRecord[], related: readonly EvidenceRecord[]): EvidenceRecord[] {
  const seen = new Set<string>();
  return [...records, ...related].filter((record) => !seen.has(record.seq) && seen.add(record.seq)).sort(byOccurrence);
}

/** Quotes a value from the evidence for a summary: bounded, and plainly marked as quoted. */
export const quoted = (value: unknown) => JSON.stringify(String(value).length > 200 ? `${String(value).slice(0, 200)}…` : String(value));
