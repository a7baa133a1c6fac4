import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

/** base64url(SHA-256(...)) without padding: 43 characters (jartrail's digests and token hashes, DPoP's `ath`). */
export type TokenHash = string & { readonly __brand: 'TokenHash' };
export type Digest = string & { readonly __brand: 'Digest' };

export function sha256Base64Url(input: string | Uint8Array): string {
  return createHash('sha256').update(input).digest('base64url');
}

/**
 * The token hash jartrail links tool calls by: base64url(SHA-256(the token exactly as the agent holds it)), the
 * construction of DPoP's `ath` (RFC 9449). Only this leaves the agent; the token never does.
 */
export function tokenHash(token: string): TokenHash {
  if (token.length === 0) throw new TypeError('tokenHash: the token is empty');
  return sha256Base64Url(token) as TokenHash;
}

// eslint-disable-next-line no-control-regex
const NON_ASCII = /[^\x00-\x7f]/;

/**
 * The digest of a request object: base64url(SHA-256(the ASCII bytes of its compact serialization exactly as the
 * AS received it)). Anything but ASCII cannot be a compact serialization, so it is refused rather than re-encoded.
 */
export function digestOf(compactSerialization: string): Digest {
  if (NON_ASCII.test(compactSerialization)) throw new TypeError('digestOf: a compact serialization is ASCII');
  return sha256Base64Url(compactSerialization) as Digest;
}

/** RFC 8785 (JCS) serialization of a JSON value. */
export function canonicalJson(value: unknown): string {
  const serialized = canonicalize(value);
  if (serialized === undefined) throw new TypeError('canonicalJson: the value has no JSON serialization');
  return serialized;
}

/**
 * The digest of a JSON value: base64url(SHA-256(JCS(value))). jartrail's digest of a plain authorization request's
 * parameters (an unsigned chain), and what the agent SDK reports as a tool call's `arguments_digest`.
 */
export function jsonDigest(value: unknown): Digest {
  return sha256Base64Url(canonicalJson(value)) as Digest;
}
