import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';
import type { ClientMetadata, Configuration, default as Provider } from 'oidc-provider';
import * as oidc from 'openid-client';

/**
 * A real OpenID Provider (panva's oidc-provider) on a free loopback port, for tests that need an organisation's
 * identity provider: it publishes discovery and a JWKS, issues RFC 9068 JWT access tokens for jartrail's resource
 * indicator (`audience`) by client credentials or by the authorization code flow with PKCE, and can rotate its keys.
 *
 * - Service clients (client_credentials, a secret): tokens with the scopes asked for, and a `roles` claim when the
 *   client has roles. Get a token as a real client would with `clientCredentialsToken`.
 * - The console client (`consoleClientId`: public, code flow with PKCE, no secret), with the provider's development
 *   login pages (any login name signs in; its roles come from `accounts`). `signInWithCodeFlow` walks the pages
 *   over HTTP; a browser test can walk them in a browser after `setConsoleRedirectUris`.
 * - `mint` signs a token with the provider's own current key for what a provider would not issue on request
 *   (expired, not yet valid, another audience); `signingKey` is that key.
 */
export interface ServiceClient {
  readonly clientId: string;
  /** The scopes it may ask for (space-delimited). */
  readonly scope: string;
  /** Put in its tokens' `roles` claim. */
  readonly roles?: readonly string[];
}

export interface IdentityProviderOptions {
  readonly audience?: string;
  /** Extra service clients; `jartrail-reader` (audit:read), `jartrail-admin` (every scope) and `jartrail-nothing` (openid only) always exist. */
  readonly clients?: readonly ServiceClient[];
  /** Login name to the roles in its tokens' `roles` claim (code flow). */
  readonly accounts?: Readonly<Record<string, readonly string[]>>;
  readonly consoleRedirectUris?: readonly string[];
  /** Access-token lifetime in seconds (default 300). */
  readonly accessTokenTtlSeconds?: number;
}

export interface SigningKey {
  readonly kid: string;
  readonly alg: 'ES256';
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

export interface TestIdentityProvider {
  readonly issuer: string;
  readonly audience: string;
  readonly jwksUri: string;
  readonly discoveryUrl: string;
  readonly consoleClientId: string;
  /** The provider's current ES256 access-token signing key. */
  readonly signingKey: SigningKey;
  /** Environment for startTestApp that configures this provider (IDP_*, CONSOLE_CLIENT_ID, loopback http). */
  env(overrides?: Readonly<Record<string, string>>): Record<string, string>;
  /** An access token from the token endpoint by client credentials, obtained with openid-client. */
  clientCredentialsToken(clientId: string, scope: string, resource?: string): Promise<string>;
  /** An access token from the authorization code flow with PKCE for the console client, signed in as `login`. */
  signInWithCodeFlow(login: string, options?: { scope?: string; redirectUri?: string }): Promise<{ accessToken: string; idToken: string | undefined }>;
  /** A token signed with the provider's current key (or another), with RFC 9068 defaults for every claim not given. */
  mint(claims?: JWTPayload, options?: { header?: Record<string, unknown>; key?: CryptoKey | Uint8Array; alg?: string }): Promise<string>;
  /** A new signing key replaces the current one: the provider publishes and signs with the new key only (and starts afresh). */
  rotateKeys(): Promise<SigningKey>;
  /** Replaces the console client's redirect URIs (the provider starts afresh: sign-ins under way are lost). */
  setConsoleRedirectUris(uris: readonly string[]): Promise<void>;
  /** Requests served, by path: tests can see jartrail fetch the JWKS and discovery. */
  readonly requests: Map<string, number>;
  stop(): Promise<void>;
}

export const IDP_SCOPES = 'audit:read audit:export audit:admin audit:triage';
export const CONSOLE_CLIENT_ID = 'jartrail-console';
const DEFAULT_AUDIENCE = 'https://jartrail.test/api';

async function newSigningKey(): Promise<SigningKey & { privateJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const kid = `es-${randomBytes(6).toString('base64url')}`;
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: 'ES256', use: 'sig' };
  return { kid, alg: 'ES256', privateKey, publicJwk, privateJwk };
}

/** Collects Set-Cookie values by name, as a browser would for one origin. */
class CookieJar {
  private readonly cookies = new Map<string, string>();

  store(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const index = pair!.indexOf('=');
      this.cookies.set(pair!.slice(0, index).trim(), pair!.slice(index + 1));
    }
  }

  header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

/**
 * The provider warns, rightly, that its in-memory store and development pages are for tests (they are), and about
 * Node versions before 22 at import: kept out of the test output.
 */
async function quietly<T>(make: () => T | Promise<T>): Promise<T> {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (!String(args[0]).startsWith('oidc-provider WARNING')) warn(...args);
  };
  try {
    return await make();
  } finally {
    console.warn = warn;
  }
}

export async function startIdentityProvider(options: IdentityProviderOptions = {}): Promise<TestIdentityProvider> {
  const { default: OidcProvider } = await quietly(() => import('oidc-provider'));
  const audience = options.audience ?? DEFAULT_AUDIENCE;
  const ttl = options.accessTokenTtlSeconds ?? 300;
  // ID tokens are RS256 by default (OIDC's mandatory algorithm): the provider holds an RSA key beside the EC one.
  const rsa = await generateKeyPair('RS256', { extractable: true });
  const rsaJwk = { ...(await exportJWK(rsa.privateKey)), kid: `rs-${randomBytes(6).toString('base64url')}`, alg: 'RS256', use: 'sig' };
  let signing = await newSigningKey();
  let consoleRedirectUris = [...(options.consoleRedirectUris ?? ['http://127.0.0.1/review/callback'])];
  const secrets = new Map<string, string>();
  const serviceClients: ServiceClient[] = [
    { clientId: 'jartrail-reader', scope: 'audit:read' },
    { clientId: 'jartrail-admin', scope: IDP_SCOPES },
    { clientId: 'jartrail-nothing', scope: 'openid' },
    ...(options.clients ?? []),
  ];
  for (const client of serviceClients) secrets.set(client.clientId, randomBytes(24).toString('base64url'));
  const requests = new Map<string, number>();

  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const build = async (): Promise<Provider> => {
    const clients: ClientMetadata[] = [
      ...serviceClients.map(
        (client): ClientMetadata => ({
          client_id: client.clientId,
          client_secret: secrets.get(client.clientId)!,
          grant_types: ['client_credentials'],
          response_types: [],
          redirect_uris: [],
          token_endpoint_auth_method: 'client_secret_basic',
          scope: client.scope,
        }),
      ),
      {
        client_id: CONSOLE_CLIENT_ID,
        application_type: 'web',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: consoleRedirectUris,
        post_logout_redirect_uris: consoleRedirectUris,
        scope: `openid profile offline_access ${IDP_SCOPES}`,
      },
    ];
    const configuration: Configuration = {
      clients,
      ttl: { AccessToken: ttl, ClientCredentials: ttl, AuthorizationCode: 60, IdToken: 3600, Interaction: 600, Session: 3600, Grant: 3600, RefreshToken: 86_400 },
      scopes: ['openid', 'offline_access', 'profile', ...IDP_SCOPES.split(' ')],
      jwks: { keys: [signing.privateJwk, rsaJwk] },
      features: {
        devInteractions: { enabled: true },
        clientCredentials: { enabled: true },
        introspection: { enabled: false },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => audience,
          useGrantedResource: () => true,
          getResourceServerInfo: (_ctx, indicator) => ({
            scope: IDP_SCOPES,
            audience: indicator,
            accessTokenTTL: ttl,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'ES256' } },
          }),
        },
      },
      findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
      extraTokenClaims: (_ctx, token) => {
        const roles = 'accountId' in token && typeof token.accountId === 'string' ? options.accounts?.[token.accountId] : serviceClients.find((client) => client.clientId === token.clientId)?.roles;
        return roles ? { roles: [...roles] } : undefined;
      },
      // The development pages need a cookie secret; the provider's own default warns in every run otherwise.
      cookies: { keys: [randomBytes(32).toString('base64url')] },
      pkce: { required: () => true },
      // Loopback http is fine for tests; a real provider is https.
      clientBasedCORS: () => true,
    };
    return quietly(() => new OidcProvider(issuer, configuration));
  };

  let callback = (await build()).callback();
  server.on('request', (request, response) => {
    const path = new URL(request.url ?? '/', issuer).pathname;
    requests.set(path, (requests.get(path) ?? 0) + 1);
    void callback(request, response);
  });

  const rebuild = async () => {
    callback = (await build()).callback();
  };

  const discovery = async (clientId: string, secret?: string) =>
    oidc.discovery(new URL(issuer), clientId, undefined, secret === undefined ? oidc.None() : oidc.ClientSecretBasic(secret), { execute: [oidc.allowInsecureRequests] });

  const idp: TestIdentityProvider = {
    issuer,
    audience,
    jwksUri: `${issuer}/jwks`,
    discoveryUrl: `${issuer}/.well-known/openid-configuration`,
    consoleClientId: CONSOLE_CLIENT_ID,
    get signingKey() {
      return signing;
    },
    requests,
    env: (overrides = {}) => ({
      IDP_ISSUER: issuer,
      IDP_AUDIENCE: audience,
      IDP_ALGORITHMS: 'ES256',
      CONSOLE_CLIENT_ID: CONSOLE_CLIENT_ID,
      JWKS_ALLOW_LOOPBACK_HTTP: 'true',
      ...overrides,
    }),
    async clientCredentialsToken(clientId, scope, resource = audience) {
      const secret = secrets.get(clientId);
      if (secret === undefined) throw new Error(`no service client ${clientId}`);
      const tokens = await oidc.clientCredentialsGrant(await discovery(clientId, secret), { scope, resource }).catch((error: unknown) => {
        throw new Error(`the token endpoint refused: ${JSON.stringify((error as { cause?: unknown }).cause)}`);
      });
      return tokens.access_token;
    },
    async signInWithCodeFlow(login, flow = {}) {
      const redirectUri = flow.redirectUri ?? consoleRedirectUris[0]!;
      const config = await discovery(CONSOLE_CLIENT_ID);
      const verifier = oidc.randomPKCECodeVerifier();
      const state = oidc.randomState();
      const authorization = oidc.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri,
        scope: flow.scope ?? `openid ${IDP_SCOPES}`,
        resource: audience,
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
      });
      // The development pages: the login form, then the consent form, each answered with a redirect.
      const jar = new CookieJar();
      let next = new URL(authorization);
      const forms: Record<string, string>[] = [{ prompt: 'login', login, password: 'any' }, { prompt: 'consent' }];
      for (let step = 0; step < 12; step += 1) {
        if (next.href.startsWith(redirectUri)) break;
        const response = await fetch(next, { redirect: 'manual', headers: { cookie: jar.header() } });
        jar.store(response);
        if (response.status >= 300 && response.status < 400) {
          next = new URL(response.headers.get('location')!, next);
          continue;
        }
        const page = await response.text();
        const action = /<form[^>]*action="([^"]+)"/.exec(page)?.[1];
        const form = forms.shift();
        if (response.status !== 200 || action === undefined || form === undefined) throw new Error(`unexpected sign-in page ${next.href}: ${response.status}`);
        const submitted = await fetch(new URL(action, next), {
          method: 'POST',
          redirect: 'manual',
          headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams(form).toString(),
        });
        jar.store(submitted);
        next = new URL(submitted.headers.get('location')!, next);
      }
      if (!next.href.startsWith(redirectUri)) throw new Error(`the sign-in did not come back to ${redirectUri}`);
      const tokens = await oidc.authorizationCodeGrant(config, next, { pkceCodeVerifier: verifier, expectedState: state }, { resource: audience });
      return { accessToken: tokens.access_token, idToken: tokens.id_token };
    },
    async mint(claims = {}, mintOptions = {}) {
      const now = Math.floor(Date.now() / 1000);
      const alg = mintOptions.alg ?? 'ES256';
      return new SignJWT({ client_id: 'jartrail-minted', scope: 'audit:read', ...claims })
        .setProtectedHeader({ alg, typ: 'at+jwt', ...(mintOptions.key === undefined && { kid: signing.kid }), ...mintOptions.header })
        .setIssuer(typeof claims.iss === 'string' ? claims.iss : issuer)
        .setAudience(claims.aud ?? audience)
        .setSubject(typeof claims.sub === 'string' ? claims.sub : 'minted-subject')
        .setJti(randomUUID())
        .setIssuedAt(typeof claims.iat === 'number' ? claims.iat : now)
        .setExpirationTime(typeof claims.exp === 'number' ? claims.exp : now + ttl)
        .sign(mintOptions.key ?? signing.privateKey);
    },
    async rotateKeys() {
      signing = await newSigningKey();
      await rebuild();
      return signing;
    },
    async setConsoleRedirectUris(uris) {
      consoleRedirectUris = [...uris];
      await rebuild();
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
  return idp;
}
