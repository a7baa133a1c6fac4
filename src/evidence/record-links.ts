import type { Digest } from '../common/crypto/digest';
import type { TokenReference } from '../common/schema/oauth-fields';

/**
 * A token is known by its `jti`, its hash, or both; each is a key that other records can name it by.
 * The prefixes keep a jti that happens to look like a hash from ever matching one.
 */
export type TokenKey = string & { readonly __brand: 'TokenKey' };

export function tokenKeysOf(reference: TokenReference): TokenKey[] {
  const keys: TokenKey[] = [];
  if (reference.jti !== undefined) keys.push(`jti:${reference.jti}` as TokenKey);
  if (reference.token_hash !== undefined) keys.push(`th:${reference.token_hash}` as TokenKey);
  return keys;
}

export type TokenReferenceRole = 'parent' | 'usage' | 'revocation';

/** What one record says about the chains it belongs to; the chain linker turns this into membership. */
export interface RecordLinks {
  /** The record names this digest: it belongs to that chain (or, when the digest is an alias, to its chain). */
  readonly digest?: Digest;
  /** The digest of the inner JWS of an encrypted request object: an alias of `digest`. */
  readonly innerDigest?: Digest;
  /** The record is a token, known by these keys. */
  readonly tokenIdentity?: readonly TokenKey[];
  /** The record names another token: its parent, the token a tool call used, or the token revoked. */
  readonly tokenReference?: { readonly role: TokenReferenceRole; readonly keys: readonly TokenKey[] };
}
