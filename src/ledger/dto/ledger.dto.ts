import { RECORD_KINDS } from '../ledger-leaf';
import { z } from 'zod';

const hash = z.string().describe('SHA-256, base64url without padding');
/** A decimal whole number from a query string, without z.coerce's leniency (" " is not 0, "1e3" is not 1000). */
const position = (description: string) =>
  z
    .string()
    .regex(/^\d{1,15}$/, 'must be a whole number in decimal digits')
    .transform(Number)
    .describe(description);

export const checkpointView = z
  .object({
    kind: z.literal('checkpoint'),
    tree_size: z.int().describe('How many ledger records the signed tree holds'),
    root_hash: hash,
    issued_at: z.string().describe('When it was signed, UTC to the microsecond'),
    kid: z.string().describe('The signing key, in /.well-known/jwks.json'),
    jws: z.string().describe('Compact JWS over the RFC 8785 JSON of {log, tree_size, root_hash, issued_at}; typ jartrail-checkpoint+json'),
  })
  .meta({ id: 'Checkpoint' });

export const checkpointListQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(25),
  cursor: z.string().max(64).optional().describe('next_cursor of the previous page'),
});
export type CheckpointListQuery = z.infer<typeof checkpointListQuery>;

export const checkpointList = z
  .object({
    items: z.array(checkpointView).describe('Newest first'),
    next_cursor: z.string().nullable(),
  })
  .meta({ id: 'CheckpointList' });

const leafInput = z
  .object({
    v: z.int(),
    ledger_seq: z.int(),
    kind: z.enum(RECORD_KINDS).describe('event: an accepted event; conflict: a body refused with 409 and kept; triage: a reviewer\'s triage of a finding'),
    record_seq: z.string(),
    source_id: z.string(),
    event_id: z.string(),
    type: z.string(),
    emitted_at: z.string(),
    occurred_at: z.string().optional(),
    recorded_at: z.string(),
    fingerprint: z.string(),
    original_seq: z.string().optional(),
    payload_hash: hash,
  })
  .describe('The leaf input: its RFC 8785 JSON is the leaf data of RFC 9162')
  .meta({ id: 'LeafInput' });

export const inclusionQuery = z.strictObject({
  seq: position('The ledger sequence number (leaf index, from 0)'),
  tree_size: position('The tree to prove inclusion in, a size a checkpoint was signed at; default: the latest checkpoint').optional(),
});
export type InclusionQuery = z.infer<typeof inclusionQuery>;

export const inclusionProof = z
  .object({
    kind: z.literal('inclusion_proof'),
    ledger_seq: z.int(),
    tree_size: z.int(),
    leaf: leafInput,
    leaf_hash: hash,
    root_hash: hash,
    proof: z.array(hash).describe('The audit path of RFC 9162 2.1.3, bottom up'),
    checkpoint: checkpointView.describe('The signed checkpoint of this tree: the proof holds only against its signed root'),
  })
  .meta({ id: 'InclusionProof' });

export const consistencyQuery = z
  .strictObject({
    from: position('The smaller tree size: one a checkpoint was signed at, or 0'),
    to: position('The larger tree size, one a checkpoint was signed at; default: the latest checkpoint').optional(),
  })
  .refine((query) => query.to === undefined || query.from <= query.to, { message: 'from must not exceed to', path: ['from'], params: { code: 'from_after_to' } });
export type ConsistencyQuery = z.infer<typeof consistencyQuery>;

const treeHead = z.object({
  tree_size: z.int(),
  root_hash: hash,
  checkpoint: checkpointView.nullable().describe('The signed checkpoint of this tree; null only for the empty tree (from = 0)'),
});

export const consistencyProof = z
  .object({
    kind: z.literal('consistency_proof'),
    from: treeHead,
    to: treeHead,
    proof: z.array(hash).describe('The consistency proof of RFC 9162 2.1.4'),
  })
  .meta({ id: 'ConsistencyProof' });

const verifyFailure = z.object({
  what: z.enum(['record', 'checkpoint', 'purge']),
  purge_id: z.string().optional().describe('The ledger_purges row, when what is purge (its signature does not verify)'),
  ledger_seq: z.int().optional(),
  event_id: z.string().optional(),
  record_kind: z.enum(RECORD_KINDS).optional(),
  record_seq: z.string().optional(),
  tree_size: z.int().optional(),
  reason: z.string(),
});

export const verifyReport = z
  .object({
    ok: z.boolean(),
    tree_size: z.int().describe('Ledger records recomputed'),
    checkpoints_checked: z.int(),
    pending: z.int().describe('Committed records still waiting for the sequencer'),
    unledgered: z.int().describe('Records neither in the ledger nor queued for it (removed from the queue around the service)'),
    first_failure: verifyFailure.nullable(),
    failures: z.array(verifyFailure).describe('Up to 100, in ledger order'),
  })
  .meta({ id: 'LedgerVerification' });

export const jwks = z
  .object({ keys: z.array(z.record(z.string(), z.unknown())).describe('Every checkpoint signing key, current and retired') })
  .meta({ id: 'JWKS' });

export const rotatedKey = z.object({ kid: z.string(), alg: z.enum(['EdDSA', 'ES256']) }).meta({ id: 'RotatedSigningKey' });

const bundleRecord = z.object({
  ledger_seq: z.int(),
  leaf: leafInput.nullable().describe('null: the ledger holds the record but the database no longer does'),
  payload: z.record(z.string(), z.unknown()).nullable().describe('The event data; null once purged by retention (a signed purge in `purges` must cover it)'),
  salt: z.string().describe('The salt of the payload hash, base64url'),
  inclusion_proof: z.array(hash),
});

const purgeView = z
  .object({
    kind: z.literal('purge'),
    policy: z.string(),
    from_ledger_seq: z.int(),
    to_ledger_seq: z.int(),
    recorded_before: z.string().describe('Every record of the range was recorded before this time (UTC, to the microsecond)'),
    purged_at: z.string(),
    kid: z.string().nullable().describe('The ledger key that signed the purge; null for purges recorded before purges were signed'),
    jws: z
      .string()
      .nullable()
      .describe('Compact JWS over the RFC 8785 JSON of {log, policy, from_ledger_seq, to_ledger_seq, recorded_before}; typ jartrail-purge+json'),
  })
  .meta({ id: 'Purge' });

export const evidenceBundle = z
  .object({
    kind: z.literal('evidence_bundle'),
    format: z.literal('jartrail-evidence-bundle/v2'),
    chain: z.string(),
    exported_at: z.string(),
    checkpoint: checkpointView,
    records: z.array(bundleRecord).describe('Every record of the chain covered by the checkpoint, in ledger order'),
    conflicts: z
      .array(bundleRecord)
      .describe("Bodies refused with 409 under the id of one of the records and kept as evidence (leaf kind conflict), covered by the checkpoint, in ledger order; verified like the records"),
    purges: z.array(purgeView).describe('The recorded purges that cover a record of the bundle: a blanked payload verifies only under a validly signed one'),
    pending: z.array(z.string()).describe('Event ids of the chain (and of its kept conflicts, marked so) not yet covered by a checkpoint'),
    jwks,
  })
  .meta({ id: 'EvidenceBundle' });
