import { CompactSign } from 'jose';
import { canonicalJson } from '../common/canonical-json';
import type { StoredCheckpoint } from './ledger.repository';
import type { Signer } from './signing-keys.service';
import { CHECKPOINT_JWS_TYPE, type CheckpointClaims, type CheckpointDocument, PURGE_JWS_TYPE, type PurgeClaims } from './verification/documents';

/** Now, in the exact form PostgreSQL gives back (microseconds), so the signed time and the stored one are one text. */
export function exactNow(): string {
  return new Date().toISOString().replace(/Z$/, '000Z');
}

/** A checkpoint: the JWS over the RFC 8785 JSON of its claims. */
export async function signCheckpoint(signer: Signer, treeSize: number, rootHash: Buffer, issuedAt: string): Promise<StoredCheckpoint> {
  const claims: CheckpointClaims = { log: 'jartrail', tree_size: treeSize, root_hash: rootHash.toString('base64url'), issued_at: issuedAt };
  const jws = await new CompactSign(Buffer.from(canonicalJson(claims), 'utf8'))
    .setProtectedHeader({ alg: signer.alg, kid: signer.kid, typ: CHECKPOINT_JWS_TYPE })
    .sign(signer.privateKey);
  return { treeSize, rootHash, issuedAt, kid: signer.kid, jws };
}

export function toCheckpointDocument(checkpoint: StoredCheckpoint): CheckpointDocument {
  return {
    kind: 'checkpoint',
    tree_size: checkpoint.treeSize,
    root_hash: checkpoint.rootHash.toString('base64url'),
    issued_at: checkpoint.issuedAt,
    kid: checkpoint.kid,
    jws: checkpoint.jws,
  };
}

/** A retention purge's signature: the JWS over the RFC 8785 JSON of its claims, with the same key as checkpoints. */
export async function signPurge(signer: Signer, claims: PurgeClaims): Promise<{ kid: string; jws: string }> {
  const jws = await new CompactSign(Buffer.from(canonicalJson(claims), 'utf8'))
    .setProtectedHeader({ alg: signer.alg, kid: signer.kid, typ: PURGE_JWS_TYPE })
    .sign(signer.privateKey);
  return { kid: signer.kid, jws };
}
