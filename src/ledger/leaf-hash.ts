import { canonicalJson } from '../common/canonical-json';
import { sha256 } from '../common/crypto/sha256';
import type { LeafInput } from './leaf-input';
import { hashLeaf } from './merkle/merkle-proofs';

/**
 * The leaf and payload hashes of ledger-leaf.ts over plain bytes, with no Node API: the offline verifier and the
 * review console (in the browser) recompute them with this module, the service through ledger-leaf.ts.
 */
const utf8 = new TextEncoder();

/** base64url(SHA-256(salt || canonical JSON of the payload)) before encoding. */
export function payloadHash(salt: Uint8Array, payload: unknown): Uint8Array {
  return sha256(salt, utf8.encode(canonicalJson(payload)));
}

/** H(0x00 || canonical JSON of the leaf input). */
export function leafHash(input: LeafInput): Uint8Array {
  return hashLeaf(utf8.encode(canonicalJson(input)));
}
