/**
 * The linking watermark, a position among the recorded events: chains answer and findings are evaluated over the
 * records below it, so both read it from here. It is the lowest queued seq, or past the highest recorded seq when
 * nothing is queued. A statement still in flight holds seqs below it that are not committed yet; the watermark
 * speaks of committed records only, in the reader's snapshot, which is why readers compute it in the same statement
 * (or snapshot) as what they show.
 */
export const LINKED_BELOW_SQL = `COALESCE((SELECT min(first_seq) FROM link_pending), (SELECT COALESCE(max(seq), 0) + 1 FROM events))`;
