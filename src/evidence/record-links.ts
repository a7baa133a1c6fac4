import type { Digest } from '../common/crypto/digest';
import type { TokenReference } from '../common/schema/oauth-fields';
import { type DataPath, valueAt } from './data-path';

/**
 * A token is known by its `jti`, its hash, or both; each is a key that other records can name it by.
 * The prefixes keep a jti that happens to look like a hash from ever matching one.
 */
export type TokenKey = string & { readonly __brand: 'TokenKey' };

/** The members that name a token, each with the prefix of its keys, in the order keys are listed. */
export const TOKEN_KEY_MEMBERS = [
  { member: 'jti', prefix: 'jti:' },
  { member: 'token_hash', prefix: 'th:' },
] as const;

export function tokenKeysOf(reference: TokenReference): TokenKey[] {
  return TOKEN_KEY_MEMBERS.flatMap(({ member, prefix }) => (reference[member] === undefined ? [] : [`${prefix}${reference[member]}` as TokenKey]));
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

/**
 * Where a type's data names the chains its records belong to, declared as paths so that the same declaration is read
 * by `linksOf` (ingest, the linker) and composed into SQL (the records still waiting for the linker,
 * `ChainsRepository.unlinkedRecords`).
 */
export interface LinkDeclaration {
  readonly digest?: DataPath;
  readonly innerDigest?: DataPath;
  /** The object that names the record itself as a token, by `jti` and/or `token_hash`. */
  readonly tokenIdentity?: DataPath;
  /** The object that names another token by `jti` and/or `token_hash`; a record without it names none. */
  readonly tokenReference?: { readonly role: TokenReferenceRole; readonly at: DataPath };
}

const tokenAt = (data: object, path: DataPath) => {
  const value = valueAt(data, path);
  return typeof value === 'object' && value !== null ? (value as TokenReference) : undefined;
};

/** What one record's data says about its chains, by its type's declaration. */
export function linksOf(declaration: LinkDeclaration, data: object): RecordLinks {
  const { digest: digestPath, innerDigest: innerDigestPath, tokenIdentity: identityPath, tokenReference: referenceDeclaration } = declaration;
  // The schemas hold a digest (or nothing) at a declared digest path.
  const digest = digestPath && (valueAt(data, digestPath) as Digest | undefined);
  const innerDigest = innerDigestPath && (valueAt(data, innerDigestPath) as Digest | undefined);
  const identity = identityPath && tokenAt(data, identityPath);
  const reference = referenceDeclaration && tokenAt(data, referenceDeclaration.at);
  return {
    ...(digest !== undefined && { digest }),
    ...(innerDigest !== undefined && { innerDigest }),
    ...(identity && { tokenIdentity: tokenKeysOf(identity) }),
    ...(referenceDeclaration && reference && { tokenReference: { role: referenceDeclaration.role, keys: tokenKeysOf(reference) } }),
  };
}
