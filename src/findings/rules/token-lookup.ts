import { tokenKeysOf } from '../../evidence/record-links';
import type { TokenReference } from '../../common/schema/oauth-fields';
import { type EvidenceRecord, type RevocationRecord, revocationsOf, type TokenRecord, tokensOf } from '../chain-evidence';
import { byOccurrence } from './ordering';

/**
 * The chain's tokens by each key they are known by (`jti:` and `th:`); purged tokens cannot be known. Two records of
 * one key (a token reported twice, differently): the earlier in occurrence order, whatever order they arrived in.
 */
export function tokensByKey(records: readonly EvidenceRecord[]): Map<string, TokenRecord> {
  const byKey = new Map<string, TokenRecord>();
  for (const token of tokensOf(records).sort(byOccurrence)) {
    if (token.data === null) continue;
    for (const key of tokenKeysOf(token.data)) if (!byKey.has(key)) byKey.set(key, token);
  }
  return byKey;
}

/** The token a reference names, if the chain holds it. */
export function tokenNamed(reference: TokenReference, byKey: ReadonlyMap<string, TokenRecord>): TokenRecord | undefined {
  for (const key of tokenKeysOf(reference)) {
    const token = byKey.get(key);
    if (token) return token;
  }
  return undefined;
}

/** The earliest revocation of this token in the chain. */
export function revocationOf(token: TokenRecord, records: readonly EvidenceRecord[]): RevocationRecord | undefined {
  if (token.data === null) return undefined;
  const keys = new Set<string>(tokenKeysOf(token.data));
  return revocationsOf(records)
    .filter((revocation) => revocation.data !== null && tokenKeysOf(revocation.data).some((key) => keys.has(key)))
    .sort((a, b) => Date.parse(a.data!.revoked_at) - Date.parse(b.data!.revoked_at) || byOccurrence(a, b))[0];
}

export const tokenName = (token: TokenRecord) => (token.data?.jti !== undefined ? `token ${JSON.stringify(token.data.jti)}` : `token with hash ${token.data?.token_hash?.slice(0, 12) ?? '?'}…`);
