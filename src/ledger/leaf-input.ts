/**
 * The leaf format of the ledger, as plain types with no Node API: the service (ledger-leaf.ts), the offline verifier
 * and the review console in the browser share it.
 */

/** What the ledger holds: accepted events, the conflicting bodies kept as evidence, and reviewers' triage of findings. */
export const RECORD_KINDS = ['event', 'conflict', 'triage'] as const;
export type RecordKind = (typeof RECORD_KINDS)[number];

/** Version of the leaf format; a change to the fields below is a new version. */
export const LEAF_VERSION = 1;

/**
 * The fields of a record the leaf commits to, as text exactly as stored: times to the microsecond in UTC
 * (`2026-01-02T03:04:05.123456Z`), the fingerprint in base64url, sequence numbers as decimal strings.
 */
export interface LedgerRecordFields {
  readonly kind: RecordKind;
  readonly recordSeq: string;
  readonly sourceId: string;
  readonly eventId: string;
  readonly type: string;
  readonly emittedAt: string;
  /** Events only: when the recorded thing happened. */
  readonly occurredAt: string | null;
  readonly recordedAt: string;
  readonly fingerprint: string;
  /** Conflicts only: the record they conflict with. */
  readonly originalSeq: string | null;
}

/**
 * A leaf's input: RFC 8785 canonical JSON of this object is the leaf data d of H(0x00 || d). The payload (the
 * event's data) enters only through its salted hash, so a payload purged by retention leaves the leaf, and every
 * proof through it, valid; the salt keeps a small payload from being guessed back from its hash.
 */
export interface LeafInput {
  readonly v: number;
  readonly ledger_seq: number;
  readonly kind: RecordKind;
  readonly record_seq: string;
  readonly source_id: string;
  readonly event_id: string;
  readonly type: string;
  readonly emitted_at: string;
  readonly occurred_at?: string;
  readonly recorded_at: string;
  readonly fingerprint: string;
  readonly original_seq?: string;
  /** base64url(SHA-256(salt || canonical JSON of the payload)). */
  readonly payload_hash: string;
}
