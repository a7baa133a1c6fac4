import { compactDecrypt, compactVerify, type JWK } from 'jose';
import { canonicalJson } from '../../common/canonical-json';
import { type Digest, digestOf, sha256Base64Url } from '../../common/crypto/digest';
import { importPublicKey, isHmacAlgorithm, type PublicKeySet, selectKeys, type VerificationKey } from '../../common/jose/key-set';
import type { VerificationData } from '../../evidence/types/verification-event';
import { type FieldDifference, type IndependentVerdictValue, type Reason, type ReasonCode, verdictOf } from './reasons';
import { decodeJsonPart, kidProblem, readCompactParts } from '../../common/jose/compact-parts';

/** What a registered client allows, and where its keys are. */
export interface ClientPolicy {
  readonly clientId: string;
  readonly signingAlgs: readonly string[];
  readonly requireSigned: boolean;
  /** Empty: any key management algorithm / content encryption the decryption key supports. */
  readonly encryptionAlgs: readonly string[];
  readonly encryptionEncs: readonly string[];
  readonly maxLifetimeSeconds: number;
  /** Set when an admin disabled the client: nothing of it is used for a new verification. */
  readonly disabledAt?: Date;
  /**
   * The client's public keys. For a jwks_uri client, a kid the cached set lacks may fetch it again; a fetch that
   * fails throws (JwksFetchError), and the verification is tried again later.
   */
  readonly keys: (kid: string | undefined) => Promise<PublicKeySet>;
}

/** A private key of the reporting AS, for encrypted request objects. */
export interface DecryptionKey {
  readonly kid?: string;
  readonly alg: string;
  readonly key: VerificationKey;
}

/** A private key of the reporting AS that an admin disabled: never opened, named when it is the one that fits. */
export interface DisabledDecryptionKey {
  readonly id: string;
  readonly kid?: string;
  readonly alg: string;
}

export interface VerificationRequest {
  /** The compact serialization, as the AS received it; absent when the event did not carry it. */
  readonly requestObject: string | undefined;
  /** The AS's report: digest, issuer, header, encryption, inner_digest, claim facts. */
  readonly reported: VerificationData;
  /** When the AS verified the object (the event's timestamp): the time exp, nbf and iat are judged against. */
  readonly reportedAt: Date;
  readonly client: ClientPolicy | undefined;
  readonly decryptionKeys: readonly DecryptionKey[];
  readonly disabledDecryptionKeys?: readonly DisabledDecryptionKey[];
  readonly clockSkewSeconds: number;
}

export interface VerificationOutcome {
  readonly verdict: IndependentVerdictValue;
  readonly reasons: readonly Reason[];
  readonly alg?: string;
  readonly kid?: string;
  /** The inner JWS digest jartrail computed after decrypting. */
  readonly innerDigest?: Digest;
  /** Encrypted and not decrypted. */
  readonly opaque: boolean;
}

/** Header parameters RFC 7515 and RFC 7516 define: `crit` may not list them (RFC 7515 section 4.1.11). */
const REGISTERED_HEADER_PARAMETERS = new Set(['alg', 'jku', 'jwk', 'kid', 'x5u', 'x5c', 'x5t', 'x5t#S256', 'typ', 'cty', 'crit', 'enc', 'zip', 'epk', 'apu', 'apv', 'iv', 'tag', 'p2s', 'p2c']);

/** The claim facts of the verification event, each compared with the object's own claim. */
const CLAIM_FACTS = ['iss', 'aud', 'exp', 'iat', 'nbf', 'jti', 'response_type', 'redirect_uri', 'scope', 'resource', 'authorization_details'] as const;

type Json = Record<string, unknown>;

const same = (a: unknown, b: unknown) => a === b || (a !== undefined && b !== undefined && canonicalJson(a) === canonicalJson(b));

function differences(reported: Readonly<Record<string, unknown>>, actual: Readonly<Record<string, unknown>>, prefix: string): FieldDifference[] {
  return Object.entries(reported)
    .filter(([name, value]) => value !== undefined && !same(value, actual[name]))
    .map(([name, value]) => ({ field: `${prefix}${name}`, reported: value, ...(actual[name] !== undefined && { actual: actual[name] }) }));
}

/** Why a `crit` header is unacceptable (RFC 7515 section 4.1.11); jartrail understands no extension. */
function critProblem(header: Json): string | undefined {
  const crit = header.crit;
  if (crit === undefined) return undefined;
  if (!Array.isArray(crit) || crit.length === 0 || crit.some((name) => typeof name !== 'string')) return 'crit must be a non-empty array of names';
  const registered = crit.filter((name: string) => REGISTERED_HEADER_PARAMETERS.has(name));
  if (registered.length > 0) return `crit lists registered header parameters (${registered.join(', ')})`;
  const missing = crit.filter((name: string) => !(name in header));
  if (missing.length > 0) return `crit lists parameters the header lacks (${missing.join(', ')})`;
  return `crit names extensions jartrail does not understand (${crit.join(', ')})`;
}

/**
 * Verifies a request object again, independently of the AS that reported it (RFC 9101, RFC 8725): its digest, its
 * encryption, its signature under the client's keys and pinned algorithms, its claims against the client, the AS
 * and the clock, and the AS's claim facts against the object. Every broken rule is a reason with its own code.
 * Pure apart from key lookups; throws only when the client's keys cannot be fetched now (retry later).
 */
export async function verifyRequestObject(request: VerificationRequest): Promise<VerificationOutcome> {
  const { reported, client } = request;
  const reasons: Reason[] = [];
  const add = (code: ReasonCode, detail: string, extra: { differences?: FieldDifference[] } = {}) => reasons.push({ code, detail, ...extra });
  const done = (extra: Partial<VerificationOutcome> = {}): VerificationOutcome => ({ verdict: verdictOf(reasons), reasons, opaque: false, ...extra });

  if (reported.unsigned === true) {
    if (client?.requireSigned) add('signed_request_object_required', `client ${client.clientId} requires a signed request object`);
    else add('unsigned_request', 'a plain authorization request has no signature to verify');
    return done();
  }
  // The object is optional in the report: leaving it out says nothing about whether it was signed, so a client's
  // require_signed_request_object cannot be judged, and judging it would flag every such accepted report.
  if (request.requestObject === undefined) {
    add('no_request_object', 'the verification event did not carry the request object');
    return done();
  }

  const compact = request.requestObject;
  if (digestOf(compact) !== reported.digest) add('digest_mismatch', 'the digest of the request object differs from the digest the AS reported');
  if (!client) {
    add('client_unknown', `client ${reported.client_id} is not registered`);
    return done();
  }
  if (client.disabledAt) {
    add('client_disabled', `client ${client.clientId} was disabled at ${client.disabledAt.toISOString()}; its registration is not used for new verifications`);
    return done();
  }

  let jws = compact;
  let innerDigest: Digest | undefined;
  const outer = readCompactParts(compact);
  if (!outer.ok) {
    add('malformed', `not a compact JWS or JWE: ${outer.problem}`);
    return done();
  }
  if (outer.kind === 'jwe') {
    const header = decodeJsonPart(outer.parts[0]);
    if (!header || typeof header.alg !== 'string' || typeof header.enc !== 'string') {
      add('malformed', 'the JWE protected header is not a JSON object with alg and enc');
      return done();
    }
    // A kid of another type is not "no kid": ignoring it would try keys the sender did not name.
    const badKid = kidProblem(header);
    if (badKid) {
      add('malformed', `the JWE protected header: ${badKid}`);
      return done();
    }
    const actual = { alg: header.alg, enc: header.enc, kid: header.kid };
    const reportedEncryption = reported.encryption;
    const encryptionDifferences = reportedEncryption ? differences(reportedEncryption, actual, 'encryption.') : [{ field: 'encryption', reported: undefined, actual }];
    if (encryptionDifferences.length > 0) add('header_mismatch', 'the JWE header differs from what the AS reported', { differences: encryptionDifferences });
    if ((client.encryptionAlgs.length > 0 && !client.encryptionAlgs.includes(header.alg)) || (client.encryptionEncs.length > 0 && !client.encryptionEncs.includes(header.enc))) {
      add('encryption_alg_not_allowed', `${header.alg}/${header.enc} is not among the client's request_object_encryption values`);
      return done();
    }
    const fits = (key: { alg: string; kid?: string }) => key.alg === header.alg && (header.kid === undefined || key.kid === undefined || key.kid === header.kid);
    const candidates = request.decryptionKeys.filter(fits);
    const disabled = (request.disabledDecryptionKeys ?? []).filter(fits);
    if (candidates.length === 0 && disabled.length > 0) {
      add('decryption_key_disabled', `the ${header.alg} decryption key${disabled.length > 1 ? 's' : ''} for ${reported.issuer} that fit${disabled.length > 1 ? '' : 's'} (${disabled.map((key) => key.id).join(', ')}) ${disabled.length > 1 ? 'are' : 'is'} disabled; the object is not decrypted and the inner digest the AS reported is kept unverified`);
      return done({ opaque: true });
    }
    if (candidates.length === 0) {
      add('no_decryption_key', `jartrail holds no ${header.alg} decryption key for ${reported.issuer}; the inner digest the AS reported is kept unverified`);
      return done({ opaque: true });
    }
    let plaintext: string | undefined;
    for (const candidate of candidates) {
      try {
        const decrypted = await compactDecrypt(compact, candidate.key, { keyManagementAlgorithms: [header.alg], contentEncryptionAlgorithms: [header.enc] });
        plaintext = new TextDecoder().decode(decrypted.plaintext);
        break;
      } catch {
        // The next candidate key may be the one.
      }
    }
    if (plaintext === undefined) {
      add('decryption_failed', 'no decryption key of the AS decrypts the object');
      return done();
    }
    const inner = readCompactParts(plaintext);
    if (!inner.ok || inner.kind !== 'jws') {
      add('malformed', `the decrypted content is not a compact JWS (a request object is signed, then encrypted)${inner.ok ? '' : `: ${inner.problem}`}`);
      return done();
    }
    jws = plaintext;
    innerDigest = digestOf(jws);
    if (reported.inner_digest !== undefined && reported.inner_digest !== innerDigest) {
      add('inner_digest_mismatch', 'the digest of the decrypted JWS differs from the inner_digest the AS reported');
    }
  } else if (reported.encryption !== undefined) {
    add('header_mismatch', 'the AS reported an encrypted object; it is a plain JWS', { differences: [{ field: 'encryption', reported: reported.encryption }] });
  }

  const [headerPart, payloadPart] = jws.split('.');
  const header = decodeJsonPart(headerPart!);
  const claims = decodeJsonPart(payloadPart!);
  if (!header || typeof header.alg !== 'string' || !claims) {
    add('malformed', 'the JWS header or payload is not a JSON object');
    return done({ innerDigest });
  }
  const badKid = kidProblem(header);
  if (badKid) {
    add('malformed', `the JWS header: ${badKid}`);
    return done({ innerDigest });
  }
  const alg = header.alg;
  const kid = typeof header.kid === 'string' ? header.kid : undefined;
  const result = (extra: Partial<VerificationOutcome> = {}) => done({ alg, ...(kid !== undefined && { kid }), ...(innerDigest !== undefined && { innerDigest }), ...extra });

  const headerDifferences = reported.header ? differences(reported.header, { alg, kid: header.kid, typ: header.typ }, 'header.') : [];
  if (headerDifferences.length > 0) add('header_mismatch', 'the JWS header differs from what the AS reported', { differences: headerDifferences });

  // Algorithm and header rules first (RFC 8725 section 3.1): no signature is checked under an algorithm the client did not pin.
  let signable = true;
  const crit = critProblem(header);
  if (alg === 'none') {
    add('alg_none', 'alg "none": the object is not signed');
    signable = false;
  } else if (isHmacAlgorithm(alg)) {
    add('alg_hmac', `${alg} is an HMAC algorithm; the client's keys are public keys and must never be used as an HMAC secret`);
    signable = false;
  } else if (!client.signingAlgs.includes(alg)) {
    add('alg_not_allowed', `${alg} is not among the client's pinned algorithms (${client.signingAlgs.join(', ')})`);
    signable = false;
  }
  if (crit) {
    add('crit_unsupported', crit);
    signable = false;
  }

  if (signable) {
    const selection = selectKeys(await client.keys(kid), { alg, kid });
    if (!selection.ok) {
      add(selection.reason, selection.reason === 'kid_unknown' ? `no key of client ${client.clientId} has kid ${kid}` : `no key of client ${client.clientId} suits ${alg}`);
    } else if (!(await verifiesUnderOneOf(jws, alg, selection.keys))) {
      add('signature_invalid', `the signature does not verify under the client's ${alg} key${selection.keys.length > 1 ? 's' : ''}`);
    }
  }

  checkClaims(claims, request, client, add);
  return result();
}

async function verifiesUnderOneOf(jws: string, alg: string, keys: readonly JWK[]): Promise<boolean> {
  for (const jwk of keys) {
    try {
      // Exactly the one algorithm already checked against the pin list; jose refuses anything else.
      await compactVerify(jws, await importPublicKey(jwk, alg), { algorithms: [alg] });
      return true;
    } catch {
      // A signature that does not verify, or a registered key that does not import: the next key may verify.
    }
  }
  return false;
}

function checkClaims(claims: Json, request: VerificationRequest, client: ClientPolicy, add: (code: ReasonCode, detail: string, extra?: { differences?: FieldDifference[] }) => void): void {
  const { reported } = request;
  if (claims.iss !== client.clientId) add('iss_mismatch', `iss is ${JSON.stringify(claims.iss)}, not the client ${client.clientId}`);
  if (claims.client_id !== client.clientId) add('client_id_mismatch', `client_id is ${JSON.stringify(claims.client_id)}, not the client ${client.clientId}`);
  const audiences = typeof claims.aud === 'string' ? [claims.aud] : Array.isArray(claims.aud) ? claims.aud : [];
  if (!audiences.includes(reported.issuer)) add('aud_mismatch', `aud does not name the AS that reported it (${reported.issuer})`);

  const now = Math.floor(request.reportedAt.getTime() / 1000);
  const skew = request.clockSkewSeconds;
  const numeric = (name: string) => (typeof claims[name] === 'number' ? (claims[name] as number) : undefined);
  const exp = numeric('exp');
  const nbf = numeric('nbf');
  const iat = numeric('iat');
  if (exp === undefined) add('exp_missing', 'the object has no exp: its lifetime is unbounded');
  else if (exp <= now - skew) add('expired', `exp ${exp} had passed when the AS verified it (${now}, skew ${skew} s)`);
  if (nbf !== undefined && nbf > now + skew) add('not_yet_valid', `nbf ${nbf} was still ahead when the AS verified it (${now}, skew ${skew} s)`);
  if (iat !== undefined && iat > now + skew) add('iat_in_future', `iat ${iat} is after the AS verified it (${now}, skew ${skew} s)`);
  if (exp !== undefined) {
    const start = nbf ?? iat ?? now;
    if (exp - start > client.maxLifetimeSeconds) {
      add('lifetime_exceeded', `valid for ${exp - start} s; the client's policy allows ${client.maxLifetimeSeconds} s`);
    }
  }
  if ('request' in claims) add('request_in_object', 'a request object must not contain a request parameter (RFC 9101 section 4)');
  if ('request_uri' in claims) add('request_uri_in_object', 'a request object must not contain a request_uri parameter (RFC 9101 section 4)');

  const actual: Record<string, unknown> = Object.fromEntries(CLAIM_FACTS.map((name) => [name, claims[name]]));
  // Hashed only when the AS reported the hash: a fact it did not report is not compared.
  if (reported.claims.state_hash !== undefined) actual.state_hash = typeof claims.state === 'string' ? sha256Base64Url(claims.state) : undefined;
  if (reported.claims.nonce_hash !== undefined) actual.nonce_hash = typeof claims.nonce === 'string' ? sha256Base64Url(claims.nonce) : undefined;
  const claimDifferences = differences(reported.claims, actual, 'claims.');
  if (claimDifferences.length > 0) {
    add('claims_mismatch', `the AS reported claims that differ from the object: ${claimDifferences.map((difference) => difference.field).join(', ')}`, { differences: claimDifferences });
  }
}

