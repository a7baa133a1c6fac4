import { canonicalJson } from '../common/canonical-json';
import { type Hash } from './merkle/merkle-tree';
import { leafHash, payloadHash } from './leaf-hash';
import { LEAF_VERSION, type LeafInput, type LedgerRecordFields } from './leaf-input';

export { LEAF_VERSION, type LeafInput, type LedgerRecordFields, RECORD_KINDS, type RecordKind } from './leaf-input';

export const SALT_BYTES = 16;

/**
 * The leaf's `source_id` of a record an access token's holder made (a triage by an auditor signed in with the identity
 * provider, who has no API key): RFC 8785 JSON of `[issuer, subject]`. Never a UUID, so never a source's or a key's
 * id, and one string for one (issuer, subject) pair whatever characters they hold.
 */
export function tokenHolderSourceId(issuer: string, subject: string): string {
  return canonicalJson([issuer, subject]);
}

const asBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

export function payloadHashOf(salt: Uint8Array, payload: unknown): Buffer {
  return asBuffer(payloadHash(salt, payload));
}

export function leafInputOf(ledgerSeq: number, record: LedgerRecordFields, payloadHash: Uint8Array): LeafInput {
  return {
    v: LEAF_VERSION,
    ledger_seq: ledgerSeq,
    kind: record.kind,
    record_seq: record.recordSeq,
    source_id: record.sourceId,
    event_id: record.eventId,
    type: record.type,
    emitted_at: record.emittedAt,
    ...(record.occurredAt !== null && { occurred_at: record.occurredAt }),
    recorded_at: record.recordedAt,
    fingerprint: record.fingerprint,
    ...(record.originalSeq !== null && { original_seq: record.originalSeq }),
    payload_hash: Buffer.from(payloadHash).toString('base64url'),
  };
}

export function leafHashOf(input: LeafInput): Hash {
  return asBuffer(leafHash(input));
}
