import { Inject, Injectable } from '@nestjs/common';
import { type CryptoKey, decodeJwt, decodeProtectedHeader, errors, type JWTPayload, jwtVerify, type JWTVerifyGetKey, type JWTVerifyOptions, type ProtectedHeaderParameters } from 'jose';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import type { IdentityProviderConfig } from '../config/identity-providers';
import type { TokenAuditor } from './auditor';
import { IdentityProviderKeys, IdentityProviderUnavailableError, type ProviderEndpoints } from './identity-provider-keys';
import { normalizedType, scopesOf } from './token-claims';

/** Why a bearer JWT was refused: the `token_error` of the 401 problem, and of the access record. */
export type TokenRefusal =
  | 'no_identity_provider'
  | 'malformed'
  | 'encrypted'
  | 'unknown_issuer'
  | 'wrong_type'
  | 'alg_not_allowed'
  | 'unknown_key'
  | 'bad_signature'
  | 'expired'
  | 'not_yet_valid'
  | 'wrong_audience'
  | 'invalid_claims';

export type TokenCheck =
  | { readonly status: 'valid'; readonly auditor: TokenAuditor }
  | {
      readonly status: 'refused';
      readonly reason: TokenRefusal;
      /** Why, in words, for the problem's detail and the `error_description` of the challenge: fixed text, never token content. */
      readonly description: string;
      /** Set only when the provider's signature over the token verified (it expired, or names another audience). */
      readonly verified?: { readonly subject: string; readonly issuer: string };
    };

/** Longest `sub` kept: subjects are identifiers (a UUID, an object id, an e-mail address), not documents. */
const MAX_SUBJECT_LENGTH = 1024;

const refused = (reason: TokenRefusal, description: string, verified?: { subject: string; issuer: string }): TokenCheck => ({
  status: 'refused',
  reason,
  description,
  ...(verified && { verified }),
});

/**
 * Verifies auditors' OAuth 2.0 access tokens (RFC 9068 JWTs) with jose: the provider chosen by the token's `iss`
 * among the configured ones, then the algorithm pinned to that provider's list (checked before any key is looked up,
 * and again by jwtVerify), the `typ`, the signature under the provider's published keys, `iss`, `aud`, `exp` and
 * `nbf` with the provider's clock tolerance, and a `sub`. Scopes come from the provider's scope claim.
 */
@Injectable()
export class AccessTokensService {
  private readonly providers: ReadonlyMap<string, IdentityProviderKeys>;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.providers = new Map(config.identityProviders.map((provider) => [provider.issuer, new IdentityProviderKeys(provider, config.jwks)]));
  }

  get configured(): readonly IdentityProviderConfig[] {
    return [...this.providers.values()].map((keys) => keys.provider);
  }

  /** The provider's sign-in endpoints from its discovery document (undefined while it cannot be read). */
  endpointsOf(issuer: string): Promise<ProviderEndpoints | undefined> {
    return this.providers.get(issuer)?.endpoints() ?? Promise.resolve(undefined);
  }

  /** Throws IdentityProviderUnavailableError when the provider's keys cannot be fetched: neither valid nor refused. */
  async verify(token: string): Promise<TokenCheck> {
    if (this.providers.size === 0) {
      return refused('no_identity_provider', 'this service accepts no bearer JWTs: no identity provider is configured; use an API key');
    }
    if (token.split('.').length === 5) return refused('encrypted', 'encrypted (JWE) access tokens are not accepted; the identity provider must sign them only');
    let header: ProtectedHeaderParameters;
    let claims: JWTPayload;
    try {
      header = decodeProtectedHeader(token);
      claims = decodeJwt(token);
    } catch {
      return refused('malformed', 'the bearer token is not a JWT');
    }
    const keys = typeof claims.iss === 'string' ? this.providers.get(claims.iss) : undefined;
    if (!keys) return refused('unknown_issuer', 'the token is not from a configured identity provider');
    const provider = keys.provider;
    if (typeof header.alg !== 'string' || !provider.algorithms.includes(header.alg)) {
      return refused('alg_not_allowed', `the token's algorithm is not one this identity provider is pinned to (${provider.algorithms.join(', ')})`);
    }
    const typ = normalizedType(header.typ);
    if (typ === undefined || !(provider.tokenTypes as readonly string[]).includes(typ)) {
      return refused('wrong_type', `the token's typ is not ${provider.tokenTypes.map((type) => (type === 'at+jwt' ? 'at+jwt' : 'JWT')).join(' or ')}: not an access token (RFC 9068)`);
    }

    const options: JWTVerifyOptions = {
      issuer: provider.issuer,
      audience: provider.audience,
      algorithms: [...provider.algorithms],
      clockTolerance: provider.clockToleranceSeconds,
      requiredClaims: ['exp', 'sub'],
    };
    const resolve = await keys.keyResolver();
    // Whatever goes wrong while getting the keys (timeout, connection, HTTP status, size, not a JWKS) is the
    // provider's unavailability, not the token's fault; a kid it does not publish is.
    const getKey: JWTVerifyGetKey = async (header, jws) => {
      try {
        return await resolve(header, jws);
      } catch (error) {
        if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) throw error;
        throw new IdentityProviderUnavailableError(provider.issuer, `the keys of the identity provider could not be fetched: ${(error as Error).message}`);
      }
    };
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, getKey, options));
    } catch (error) {
      if (!(error instanceof errors.JWKSMultipleMatchingKeys)) return this.refusalOf(error, provider);
      // Several published keys fit (no kid, or a kid used twice): the token is good if one of them verifies it.
      const verified = await this.verifyWithAny(token, error as errors.JWKSMultipleMatchingKeys & AsyncIterable<CryptoKey>, options);
      if (verified.status === 'refused') return this.refusalOf(verified.error, provider);
      payload = verified.payload;
    }
    if (typeof payload.sub !== 'string' || payload.sub === '' || payload.sub.length > MAX_SUBJECT_LENGTH) {
      return refused('invalid_claims', `the token's sub must be a string of 1 to ${MAX_SUBJECT_LENGTH} characters`);
    }
    return { status: 'valid', auditor: { kind: 'jwt', subject: payload.sub, issuer: provider.issuer, scopes: scopesOf(payload, provider) } };
  }

  private async verifyWithAny(
    token: string,
    candidates: AsyncIterable<CryptoKey>,
    options: JWTVerifyOptions,
  ): Promise<{ status: 'valid'; payload: JWTPayload } | { status: 'refused'; error: unknown }> {
    let last: unknown = new errors.JWSSignatureVerificationFailed();
    for await (const key of candidates) {
      try {
        return { status: 'valid', payload: (await jwtVerify(token, key, options)).payload };
      } catch (error) {
        if (!(error instanceof errors.JWSSignatureVerificationFailed)) return { status: 'refused', error };
        last = error;
      }
    }
    return { status: 'refused', error: last };
  }

  private refusalOf(error: unknown, provider: IdentityProviderConfig): TokenCheck {
    if (error instanceof IdentityProviderUnavailableError) throw error;
    // A claim failure comes after a good signature: the token is the provider's, so who it names is known.
    const verifiedOf = (payload: JWTPayload) =>
      typeof payload.sub === 'string' && payload.sub.length <= MAX_SUBJECT_LENGTH ? { subject: payload.sub, issuer: provider.issuer } : undefined;
    if (error instanceof errors.JWTExpired) return refused('expired', 'the token has expired', verifiedOf(error.payload));
    if (error instanceof errors.JWTClaimValidationFailed) {
      const verified = verifiedOf(error.payload);
      if (error.claim === 'nbf' && error.reason === 'check_failed') return refused('not_yet_valid', 'the token is not valid yet (nbf)', verified);
      if (error.claim === 'aud') return refused('wrong_audience', 'the token is not meant for this service (aud)', verified);
      return refused('invalid_claims', `the token's ${error.claim} claim is ${error.reason === 'missing' ? 'missing' : 'not acceptable'}`, verified);
    }
    if (error instanceof errors.JWKSNoMatchingKey) return refused('unknown_key', "the token is signed by a key the identity provider does not publish");
    if (error instanceof errors.JWSSignatureVerificationFailed) return refused('bad_signature', "the token's signature does not verify");
    if (error instanceof errors.JOSEAlgNotAllowed) return refused('alg_not_allowed', `the token's algorithm is not one this identity provider is pinned to (${provider.algorithms.join(', ')})`);
    if (error instanceof errors.JWTInvalid || error instanceof errors.JWSInvalid) return refused('malformed', 'the bearer token is not a well-formed JWT');
    // A key the provider published that does not suit the algorithm (jose refuses it), or another jose error over
    // the token itself: the token cannot be accepted.
    if (error instanceof errors.JOSEError) return refused('bad_signature', "the token's signature cannot be verified with the provider's key");
    throw error;
  }
}
