import { importJWK, type CryptoKey, type JWK, type JWSHeaderParameters } from 'jose';

/** A key as jose takes it: a CryptoKey, or the bytes of a symmetric key. */
export type VerificationKey = CryptoKey | Uint8Array;

/** Public keys as registered (a JWKS), or as fetched from a jwks_uri. */
export interface PublicKeySet {
  readonly keys: readonly JWK[];
}

/** The asymmetric JWS algorithms jartrail verifies, and the key each needs (RFC 7518, RFC 8037, RFC 9864). */
const ALGORITHM_KEYS: Readonly<Record<string, { kty: string; crv?: readonly string[] }>> = {
  RS256: { kty: 'RSA' },
  RS384: { kty: 'RSA' },
  RS512: { kty: 'RSA' },
  PS256: { kty: 'RSA' },
  PS384: { kty: 'RSA' },
  PS512: { kty: 'RSA' },
  ES256: { kty: 'EC', crv: ['P-256'] },
  ES384: { kty: 'EC', crv: ['P-384'] },
  ES512: { kty: 'EC', crv: ['P-521'] },
  EdDSA: { kty: 'OKP', crv: ['Ed25519'] },
  Ed25519: { kty: 'OKP', crv: ['Ed25519'] },
};

export const ASYMMETRIC_JWS_ALGORITHMS = Object.keys(ALGORITHM_KEYS);

export function isHmacAlgorithm(alg: string): boolean {
  return /^HS\d+$/.test(alg);
}

/** Members that only private or symmetric keys have: a registered set holding any of them is refused. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/** Why a JWKS cannot be used as a set of public verification keys, or undefined when it can. */
export function publicKeySetProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || !Array.isArray((value as { keys?: unknown }).keys)) return 'must be a JWKS: {"keys": [...]}';
  const keys = (value as { keys: unknown[] }).keys;
  if (keys.length === 0) return 'holds no keys';
  if (keys.length > 100) return 'holds more than 100 keys';
  for (const [index, key] of keys.entries()) {
    if (typeof key !== 'object' || key === null) return `keys[${index}] is not an object`;
    const jwk = key as Record<string, unknown>;
    if (PRIVATE_MEMBERS.some((member) => member in jwk)) return `keys[${index}] holds private or symmetric key material; register public keys only`;
    if (!['RSA', 'EC', 'OKP'].includes(String(jwk.kty))) return `keys[${index}] has kty ${String(jwk.kty)}; only RSA, EC and OKP public keys are accepted`;
    if (jwk.kid !== undefined && typeof jwk.kid !== 'string') return `keys[${index}].kid must be a string`;
  }
  return undefined;
}

/** Does this key suit a signature by `alg` (key type, curve, declared alg and use)? */
export function keySuits(jwk: JWK, alg: string): boolean {
  const needs = ALGORITHM_KEYS[alg];
  if (!needs || jwk.kty !== needs.kty) return false;
  if (needs.crv && !needs.crv.includes(String(jwk.crv))) return false;
  if (jwk.alg !== undefined && jwk.alg !== alg && !(alg === 'EdDSA' && jwk.alg === 'Ed25519') && !(alg === 'Ed25519' && jwk.alg === 'EdDSA')) return false;
  if (jwk.use !== undefined && jwk.use !== 'sig') return false;
  if (jwk.key_ops !== undefined && !jwk.key_ops.includes('verify')) return false;
  return true;
}

export type KeySelection =
  | { readonly ok: true; readonly keys: readonly JWK[] }
  | { readonly ok: false; readonly reason: 'kid_unknown' | 'no_matching_key' };

/** The keys a JWS may be verified with: the one its `kid` names (when it names one), suited to its `alg`. */
export function selectKeys(set: PublicKeySet, header: Pick<JWSHeaderParameters, 'alg' | 'kid'>): KeySelection {
  const named = header.kid === undefined ? set.keys : set.keys.filter((key) => key.kid === header.kid);
  if (named.length === 0) return { ok: false, reason: 'kid_unknown' };
  const suited = named.filter((key) => keySuits(key, header.alg!));
  return suited.length === 0 ? { ok: false, reason: 'no_matching_key' } : { ok: true, keys: suited };
}

/** Imported keys, per JWK object and algorithm: importing is slower than verifying an ES256 signature. */
const imported = new WeakMap<JWK, Map<string, Promise<VerificationKey>>>();

export function importPublicKey(jwk: JWK, alg: string): Promise<VerificationKey> {
  let byAlg = imported.get(jwk);
  if (!byAlg) imported.set(jwk, (byAlg = new Map()));
  let key = byAlg.get(alg);
  if (!key) {
    key = importJWK(jwk, alg);
    // A key that fails to import is not remembered: the next attempt gets the same error, not a stale promise.
    key.catch(() => byAlg.delete(alg));
    byAlg.set(alg, key);
  }
  return key;
}
