import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { problemOf, startTestApp, type TestApp } from '../support/app';
import { startIdentityProvider, type TestIdentityProvider } from '../support/identity-provider';

const withBearer = (app: TestApp, path: string, token: string) => app.http().get(path).set('authorization', `Bearer ${token}`);

async function recordOf(app: TestApp, correlationId: string): Promise<Record<string, unknown>> {
  const { items } = (await app.get('/v1/access-records?limit=500').expect(200)).body as { items: Record<string, unknown>[] };
  return items.find((item) => item.correlation_id === correlationId)!;
}

describe('roles mapped to scopes', () => {
  let idp: TestIdentityProvider;
  let app: TestApp;

  beforeAll(async () => {
    idp = await startIdentityProvider({
      clients: [
        { clientId: 'reviewer-service', scope: 'openid', roles: ['auditors', 'payroll-users'] },
        { clientId: 'security-team', scope: 'openid', roles: ['jartrail-admins'] },
      ],
      accounts: { carol: ['auditors'] },
    });
    app = await startTestApp({
      env: idp.env({
        // The key set named outright rather than found by discovery.
        IDP_JWKS_URI: idp.jwksUri,
        IDP_SCOPE_CLAIM: 'roles',
        IDP_TOKEN_TYPES: 'at+jwt,JWT',
        IDP_ROLE_MAP: JSON.stringify({ auditors: ['audit:read'], 'jartrail-admins': ['audit:read', 'audit:admin'] }),
      }),
    });
  });
  afterAll(async () => {
    await app?.close();
    await idp?.stop();
  });

  it('grants the scopes a role maps to, and nothing for a role it does not map', async () => {
    const reviewer = await idp.clientCredentialsToken('reviewer-service', 'openid');
    await withBearer(app, '/v1/chains', reviewer).expect(200);
    expect(problemOf(await withBearer(app, '/v1/access-records', reviewer), 403, 'forbidden').required_scope).toBe('audit:admin');

    const admin = await idp.clientCredentialsToken('security-team', 'openid');
    await withBearer(app, '/v1/access-records', admin).expect(200);
  });

  it('maps the roles of a person who signed in through the console client', async () => {
    const { accessToken } = await idp.signInWithCodeFlow('carol', { scope: 'openid' });
    const response = await withBearer(app, '/v1/chains', accessToken).expect(200);
    expect(await recordOf(app, response.headers['x-request-id']!)).toMatchObject({ subject: 'carol', issuer: idp.issuer, credential: 'jwt' });
  });

  it('ignores the scope claim when scopes come from roles: audit:read in scope grants nothing', async () => {
    const scoped = await idp.clientCredentialsToken('jartrail-reader', 'audit:read');
    expect(problemOf(await withBearer(app, '/v1/chains', scoped), 403, 'forbidden').required_scope).toBe('audit:read');
  });

  it('accepts typ JWT as well when IDP_TOKEN_TYPES allows it, and still no other typ', async () => {
    await withBearer(app, '/v1/chains', await idp.mint({ roles: ['auditors'] }, { header: { typ: 'JWT' } })).expect(200);
    const other = await withBearer(app, '/v1/chains', await idp.mint({ roles: ['auditors'] }, { header: { typ: 'secevent+jwt' } }));
    expect(problemOf(other, 401, 'unauthenticated').token_error).toBe('wrong_type');
  });

  it('asks the console to request openid only: the provider grants the roles', async () => {
    const response = await app.http().get('/v1/access/sign-in-options').expect(200);
    expect(response.body.identity_providers).toEqual([expect.objectContaining({ issuer: idp.issuer, scope: 'openid', resource: idp.audience })]);
  });
});

describe('several identity providers (IDENTITY_PROVIDERS)', () => {
  let first: TestIdentityProvider;
  let second: TestIdentityProvider;
  let app: TestApp;

  beforeAll(async () => {
    [first, second] = await Promise.all([startIdentityProvider(), startIdentityProvider({ audience: 'urn:jartrail:api' })]);
    app = await startTestApp({
      env: {
        JWKS_ALLOW_LOOPBACK_HTTP: 'true',
        IDENTITY_PROVIDERS: JSON.stringify([
          { issuer: first.issuer, audience: first.audience, algorithms: ['ES256'], console_client_id: first.consoleClientId },
          { issuer: second.issuer, audience: second.audience, algorithms: ['ES256'], scope_claim: 'scp' },
        ]),
      },
    });
  });
  afterAll(async () => {
    await app?.close();
    await Promise.all([first?.stop(), second?.stop()]);
  });

  it("accepts each provider's tokens for its own audience, and records which provider vouched", async () => {
    const fromFirst = await withBearer(app, '/v1/chains', await first.clientCredentialsToken('jartrail-reader', 'audit:read')).expect(200);
    expect(await recordOf(app, fromFirst.headers['x-request-id']!)).toMatchObject({ subject: 'jartrail-reader', issuer: first.issuer });
    // The second provider's scopes are in scp, as an array (Okta) or a space-delimited string (Entra ID).
    for (const scp of [['audit:read'], 'openid audit:read']) {
      const fromSecond = await withBearer(app, '/v1/chains', await second.mint({ scp, sub: 'dave' })).expect(200);
      expect(await recordOf(app, fromSecond.headers['x-request-id']!)).toMatchObject({ subject: 'dave', issuer: second.issuer });
    }
  });

  it("refuses one provider's token meant for the other's audience", async () => {
    const crossed = await second.mint({ aud: first.audience, scp: ['audit:read'] });
    expect(problemOf(await withBearer(app, '/v1/chains', crossed), 401, 'unauthenticated').token_error).toBe('wrong_audience');
  });

  it('offers sign-in only with the providers that have a console client', async () => {
    const response = await app.http().get('/v1/access/sign-in-options').expect(200);
    expect(response.body.identity_providers.map((provider: { issuer: string }) => provider.issuer)).toEqual([first.issuer]);
  });
});

describe('no identity provider configured', () => {
  let idp: TestIdentityProvider;
  let app: TestApp;

  beforeAll(async () => {
    idp = await startIdentityProvider();
    app = await startTestApp({ env: { CONSOLE_API_KEY_SIGN_IN: 'true' } });
  });
  afterAll(async () => {
    await app?.close();
    await idp?.stop();
  });

  it('refuses a bearer JWT with 401 and a problem that says no identity provider is configured', async () => {
    const token = await idp.clientCredentialsToken('jartrail-admin', 'audit:read');
    const response = await withBearer(app, '/v1/chains', token);
    const problem = problemOf(response, 401, 'unauthenticated');
    expect(problem).toMatchObject({ token_error: 'no_identity_provider', detail: expect.stringContaining('no identity provider is configured') });
    expect(response.headers['www-authenticate']).toContain('error="invalid_token"');
    expect(await recordOf(app, response.headers['x-request-id']!)).toMatchObject({ credential: 'refused_jwt', subject: null, detail: { token_error: 'no_identity_provider' } });
  });

  it('offers API-key sign-in only', async () => {
    expect((await app.http().get('/v1/access/sign-in-options').expect(200)).body).toEqual({ identity_providers: [], api_key_sign_in: true });
  });
});

describe.each([
  ['found by discovery', {}],
  ['named by IDP_JWKS_URI', { jwksUri: true }],
])('an identity provider that cannot be reached, its keys %s', (_case, { jwksUri }: { jwksUri?: boolean }) => {
  let app: TestApp;
  let token: string;

  beforeAll(async () => {
    const idp = await startIdentityProvider();
    token = await idp.mint();
    await idp.stop();
    app = await startTestApp({ env: { ...idp.env({ JWKS_TIMEOUT_MS: '1000', ...(jwksUri && { IDP_JWKS_URI: idp.jwksUri }) }), CONSOLE_API_KEY_SIGN_IN: 'false' } });
  });
  afterAll(() => app?.close());

  it('answers 503 with Retry-After, not 401: the token may well be good', async () => {
    const response = await withBearer(app, '/v1/chains', token);
    expect(problemOf(response, 503, 'unavailable').token_error).toBe('identity_provider_unavailable');
    expect(response.headers['retry-after']).toBe('30');
    expect(await recordOf(app, response.headers['x-request-id']!)).toMatchObject({ credential: 'refused_jwt', status: 503, detail: { token_error: 'identity_provider_unavailable' } });
  });

  it('still offers sign-in, without the endpoints it could not discover', async () => {
    const response = await app.http().get('/v1/access/sign-in-options').expect(200);
    expect(response.body).toMatchObject({ identity_providers: [{ authorization_endpoint: null, token_endpoint: null }], api_key_sign_in: false });
  });
});

describe('an identity provider whose key set is larger than JWKS_MAX_BYTES', () => {
  let idp: TestIdentityProvider;
  let app: TestApp;
  let server: Server;

  beforeAll(async () => {
    idp = await startIdentityProvider();
    // A key set padded past the limit: one real key, and a great deal of whitespace.
    const body = `{"keys": [${JSON.stringify(idp.signingKey.publicJwk)}]${' '.repeat(8192)}}`;
    server = createServer((_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end(body));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const jwksUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
    app = await startTestApp({ env: idp.env({ IDP_JWKS_URI: jwksUri, JWKS_MAX_BYTES: '4096' }) });
  });
  afterAll(async () => {
    await app?.close();
    await idp?.stop();
    await new Promise((resolve) => server?.close(resolve));
  });

  it('does not read past the limit, and answers 503', async () => {
    const response = await withBearer(app, '/v1/chains', await idp.mint());
    expect(problemOf(response, 503, 'unavailable').token_error).toBe('identity_provider_unavailable');
  });
});
