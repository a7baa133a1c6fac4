import type { LeafInput } from '../leaf-input';

/**
 * The documents the ledger hands out and the offline verifier checks. Hashes are base64url without padding.
 * Each names its `kind`, so that `jartrail verify FILE` knows what it holds.
 */

/** The signed statement of a tree head: the JWS payload of a checkpoint. */
export interface CheckpointClaims {
  readonly log: 'jartrail';
  readonly tree_size: number;
  readonly root_hash: string;
  readonly issued_at: string;
}

export const CHECKPOINT_JWS_TYPE = 'jartrail-checkpoint+json';

export interface CheckpointDocument {
  readonly kind: 'checkpoint';
  readonly tree_size: number;
  readonly root_hash: string;
  readonly issued_at: string;
  readonly kid: string;
  /** Compact JWS over the RFC 8785 JSON of CheckpointClaims, protected header {alg, kid, typ}. */
  readonly jws: string;
}

/** The signed statement of a retention purge: which policy blanked the payloads of which ledger range, and the cutoff. */
export interface PurgeClaims {
  readonly log: 'jartrail';
  readonly policy: string;
  readonly from_ledger_seq: number;
  readonly to_ledger_seq: number;
  /** Every record of the range was recorded before this time (UTC, to the microsecond). */
  readonly recorded_before: string;
}

export const PURGE_JWS_TYPE = 'jartrail-purge+json';

/** A recorded purge as the service holds it; kid and jws are null for purges recorded before purges were signed. */
export interface PurgeDocument {
  readonly kind: 'purge';
  readonly policy: string;
  readonly from_ledger_seq: number;
  readonly to_ledger_seq: number;
  readonly recorded_before: string;
  readonly purged_at: string;
  readonly kid: string | null;
  /** Compact JWS over the RFC 8785 JSON of PurgeClaims, protected header {alg, kid, typ}. */
  readonly jws: string | null;
}

export interface PublicJwks {
  readonly keys: readonly Record<string, unknown>[];
}

export interface InclusionProofDocument {
  readonly kind: 'inclusion_proof';
  readonly ledger_seq: number;
  readonly tree_size: number;
  /** The leaf's input, so that its hash can be recomputed. */
  readonly leaf: LeafInput;
  readonly leaf_hash: string;
  readonly root_hash: string;
  readonly proof: readonly string[];
  /**
   * The signed checkpoint of this tree size. The service always sets it; the verifier refuses a proof without one
   * (null), since an unsigned root proves nothing.
   */
  readonly checkpoint: CheckpointDocument | null;
  readonly jwks?: PublicJwks;
}

export interface TreeHead {
  readonly tree_size: number;
  readonly root_hash: string;
  /** null only for the empty tree (its root is SHA-256 of nothing); the verifier refuses any other unsigned head. */
  readonly checkpoint: CheckpointDocument | null;
}

export interface ConsistencyProofDocument {
  readonly kind: 'consistency_proof';
  readonly from: TreeHead;
  readonly to: TreeHead;
  readonly proof: readonly string[];
  readonly jwks?: PublicJwks;
}

/** One record of an exported chain: its leaf input, its payload (null once purged) with the salt, its proof. */
export interface BundleRecord {
  readonly ledger_seq: number;
  /** null when the record the ledger points at is no longer in the database: the verifier reports it. */
  readonly leaf: LeafInput | null;
  readonly payload: Record<string, unknown> | null;
  readonly salt: string;
  readonly inclusion_proof: readonly string[];
}

/**
 * A chain exported for an auditor: every ledgered record of the chain with its inclusion proof in the tree of
 * the signed checkpoint, the conflicting bodies kept against those records (409s) likewise, the signed purges that
 * blanked any of their payloads, and the public keys. Records still waiting for the sequencer or for a checkpoint are
 * listed by event id in `pending`. v2 added `conflicts` and `purges`: a blanked payload verifies only under a validly
 * signed purge that covers it.
 */
export interface EvidenceBundle {
  readonly kind: 'evidence_bundle';
  readonly format: 'jartrail-evidence-bundle/v2';
  readonly chain: string;
  readonly exported_at: string;
  readonly checkpoint: CheckpointDocument;
  readonly records: readonly BundleRecord[];
  /** The bodies refused with 409 under the id of one of the records (leaf kind `conflict`, `original_seq` the record's events.seq). */
  readonly conflicts: readonly BundleRecord[];
  /** Every recorded purge whose range holds a record of `records` or `conflicts`. */
  readonly purges: readonly PurgeDocument[];
  readonly pending: readonly string[];
  readonly jwks: PublicJwks;
}

export type LedgerDocument = CheckpointDocument | InclusionProofDocument | ConsistencyProofDocument | EvidenceBundle;
