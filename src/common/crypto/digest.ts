import { hash } from 'node:crypto';

/**
 * base64url(SHA-256(bytes)) without padding: 43 characters. The construction of the spec's digest, of token
 * hashes and of DPoP's `ath` (RFC 9449).
 */
export type Digest = string & { readonly __brand: 'Digest' };
export type TokenHash = string & { readonly __brand: 'TokenHash' };

export const DIGEST_LENGTH = 43;
const BASE64URL_ALPHABET = /^[A-Za-z0-9_-]*$/;
// 32 bytes leave 2 unused bits in the 43rd character, which a canonical encoder sets to zero.
const CANONICAL_LAST_CHARACTER = /[AEIMQUYcgkosw048]$/;

export function sha256Base64Url(input: string | Uint8Array): string {
  // One-shot crypto.hash (Node 20.12+): no Hash object per call, which shows on the verification hot path.
  return hash('sha256', input, 'base64url');
}

// eslint-disable-next-line no-control-regex
const NON_ASCII = /[^\x00-\x7f]/;

export function digestOf(compactSerialization: string): Digest {
  // The spec hashes "the ASCII bytes of the compact serialization exactly as the AS received it". Node's 'ascii'
  // encoding would silently drop the high byte of anything else, so anything else is refused.
  if (NON_ASCII.test(compactSerialization)) throw new TypeError('a compact serialization is ASCII');
  // Checked ASCII above, so its UTF-8 bytes (what hashing a string takes) are its ASCII bytes.
  return sha256Base64Url(compactSerialization) as Digest;
}

export type DigestProblem = 'length' | 'alphabet' | 'non_canonical';

/** Why a string is not a well-formed 43-character base64url SHA-256 value, or undefined when it is one. */
export function digestProblem(value: string): DigestProblem | undefined {
  if (value.length !== DIGEST_LENGTH) return 'length';
  if (!BASE64URL_ALPHABET.test(value)) return 'alphabet';
  if (!CANONICAL_LAST_CHARACTER.test(value)) return 'non_canonical';
  return undefined;
}

export function isDigest(value: string): value is Digest {
  return digestProblem(value) === undefined;
}
