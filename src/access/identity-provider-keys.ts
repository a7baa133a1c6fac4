import { createRemoteJWKSet, customFetch, type JWTVerifyGetKey } from 'jose';
import type { IdentityProviderConfig } from '../config/identity-providers';

export interface ProviderKeyOptions {
  readonly timeoutMs: number;
  readonly maxBytes: number;
  readonly cacheTtlSeconds: number;
  /** An unknown kid refetches the key set at most once in this interval (jose's cooldown). */
  readonly refetchMinIntervalSeconds: number;
}

/** The provider's keys or metadata cannot be had right now: the token can be neither accepted nor refused (503). */
export class IdentityProviderUnavailableError extends Error {
  constructor(
    readonly issuer: string,
    message: string,
  ) {
    super(message);
    this.name = 'IdentityProviderUnavailableError';
  }
}

/** What the console needs to start a sign-in, from the provider's discovery document (RFC 8414 / OIDC Discovery). */
export interface ProviderEndpoints {
  readonly authorizationEndpoint: string | undefined;
  readonly tokenEndpoint: string | undefined;
  readonly endSessionEndpoint: string | undefined;
}

/** OIDC Discovery 1.0 section 4: `{issuer}/.well-known/openid-configuration`, the issuer's trailing slash removed. */
export function discoveryUrlOf(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
}

/** The body of a response, at most maxBytes of it read whatever Content-Length says; more is an error. */
async function limitedText(response: Response, maxBytes: number, what: string): Promise<string> {
  if (Number(response.headers.get('content-length') ?? '0') > maxBytes) throw new Error(`${what} declared more than ${maxBytes} bytes`);
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of response.body ?? []) {
    total += chunk.length;
    if (total > maxBytes) throw new Error(`${what} is larger than ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

interface Discovered {
  readonly jwksUri: string;
  readonly endpoints: ProviderEndpoints;
}

/**
 * One provider's signing keys: jose's remote key set from the configured jwks_uri, or from the one its discovery
 * document names. The key set is cached for JWKS_CACHE_TTL_SECONDS and fetched again early when a token names a kid
 * it lacks (a key the provider has rotated in), at most once per JWKS_REFETCH_MIN_INTERVAL_SECONDS: the same rules
 * as the client key sets. A failed discovery is tried again after that same interval, not at every request.
 */
export class IdentityProviderKeys {
  private keys: JWTVerifyGetKey | undefined;
  private discovered: Promise<Discovered> | undefined;
  private failedAt = 0;

  constructor(
    readonly provider: IdentityProviderConfig,
    private readonly options: ProviderKeyOptions,
    private readonly now: () => number = Date.now,
  ) {
    if (provider.jwksUri !== undefined) this.keys = this.remoteSet(provider.jwksUri);
  }

  /** The key resolver for jose's jwtVerify; throws IdentityProviderUnavailableError when discovery fails. */
  async keyResolver(): Promise<JWTVerifyGetKey> {
    if (this.keys) return this.keys;
    const { jwksUri } = await this.discover();
    this.keys ??= this.remoteSet(jwksUri);
    return this.keys;
  }

  /** The provider's endpoints, or undefined when its discovery document cannot be read now. */
  async endpoints(): Promise<ProviderEndpoints | undefined> {
    try {
      return (await this.discover()).endpoints;
    } catch {
      return undefined;
    }
  }

  private discover(): Promise<Discovered> {
    if (!this.discovered) {
      if (this.now() - this.failedAt < this.options.refetchMinIntervalSeconds * 1000) {
        return Promise.reject(new IdentityProviderUnavailableError(this.provider.issuer, 'the discovery document of the identity provider could not be read a moment ago'));
      }
      this.discovered = this.fetchDiscovery().catch((error: unknown) => {
        this.failedAt = this.now();
        this.discovered = undefined;
        throw error;
      });
    }
    return this.discovered;
  }

  private async fetchDiscovery(): Promise<Discovered> {
    const url = discoveryUrlOf(this.provider.issuer);
    const unavailable = (why: string) => new IdentityProviderUnavailableError(this.provider.issuer, `the discovery document of the identity provider ${why}`);
    let text: string;
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(this.options.timeoutMs), redirect: 'error', headers: { accept: 'application/json' } });
      if (response.status !== 200) throw unavailable(`answered ${response.status}`);
      text = await limitedText(response, this.options.maxBytes, 'the response');
    } catch (error) {
      if (error instanceof IdentityProviderUnavailableError) throw error;
      throw unavailable(`could not be fetched: ${(error as Error).message}`);
    }
    let metadata: Record<string, unknown>;
    try {
      metadata = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw unavailable('is not JSON');
    }
    // OIDC Discovery section 4.3: the issuer in the document must be exactly the one configured.
    if (typeof metadata !== 'object' || metadata === null || metadata.issuer !== this.provider.issuer) throw unavailable('names another issuer');
    const jwksUri = metadata.jwks_uri;
    if (typeof jwksUri !== 'string' || !URL.canParse(jwksUri)) throw unavailable('names no jwks_uri');
    const endpoint = (name: string) => (typeof metadata[name] === 'string' && URL.canParse(metadata[name]) ? metadata[name] : undefined);
    return {
      jwksUri,
      endpoints: {
        authorizationEndpoint: endpoint('authorization_endpoint'),
        tokenEndpoint: endpoint('token_endpoint'),
        endSessionEndpoint: endpoint('end_session_endpoint'),
      },
    };
  }

  private remoteSet(uri: string): JWTVerifyGetKey {
    return createRemoteJWKSet(new URL(uri), {
      timeoutDuration: this.options.timeoutMs,
      cooldownDuration: this.options.refetchMinIntervalSeconds * 1000,
      cacheMaxAge: this.options.cacheTtlSeconds * 1000,
      headers: { accept: 'application/jwk-set+json, application/json' },
      // jose reads the whole body; this reads at most JWKS_MAX_BYTES of it, as for the client key sets.
      [customFetch]: async (url, init) => {
        const response = await fetch(url, init);
        const text = await limitedText(response, this.options.maxBytes, 'the key set');
        return new Response(text, { status: response.status, headers: response.headers });
      },
    });
  }
}
