import { generateKeyPair } from 'jose';
import { issueApiKey, problemOf, startTestApp, type TestApp } from '../support/app';
import { aVerification, registerSenders } from '../support/events';
import { startIdentityProvider, type TestIdentityProvider } from '../support/identity-provider';

interface AccessRecordItem {
  api_key: { id: string; name: string } | null;
  credential: string;
  presented_key_fingerprint: string | null;
  subject: string | null;
  issuer: string | null;
  route: string | null;
  target: string;
  status: number;
  correlation_id: string;
  detail: Record<string, unknown> | null;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

/** The access record of one request, read through the admin API. */
async function recordOf(app: TestApp, correlationId: string): Promise<AccessRecordItem> {
  const { items } = (await app.get('/v1/access-records?limit=500').expect(200)).body as { items: AccessRecordItem[] };
  const found = items.filter((item) => item.correlation_id === correlationId);
  expect(found).toHaveLength(1);
  return found[0]!;
}

const withBearer = (app: TestApp, path: string, token: string) => app.http().get(path).set('authorization', `Bearer ${token}`);

describe('auditors signed in with the identity provider', () => {
  let idp: TestIdentityProvider;
  let app: TestApp;
  let digest: string;

  beforeAll(async () => {
    idp = await startIdentityProvider();
    // Discovery finds the JWKS (no IDP_JWKS_URI); an unknown kid may refetch it once every two seconds.
    app = await startTestApp({ env: idp.env({ JWKS_REFETCH_MIN_INTERVAL_SECONDS: '2' }) });
    const { as } = await registerSenders(app);
    const verification = aVerification();
    digest = String(verification.data.digest);
    await as.event(verification).expect(202);
  });
  afterAll(async () => {
    await app?.close();
    await idp?.stop();
  });

  it('lets a token from the client credentials grant read a chain', async () => {
    const token = await idp.clientCredentialsToken('jartrail-reader', 'audit:read');
    const response = await withBearer(app, `/v1/chains/${digest}`, token).set('jartrail-min-position', 'latest').expect(200);
    expect(response.body.digest).toBe(digest);
    await withBearer(app, '/v1/chains', token).expect(200);
  });

  it("lets a token from the console's code flow with PKCE read chains, as the person who signed in", async () => {
    const { accessToken } = await idp.signInWithCodeFlow('alice@example.com');
    const response = await withBearer(app, '/v1/chains', accessToken).expect(200);
    expect(await recordOf(app, response.headers['x-request-id']!)).toMatchObject({ credential: 'jwt', subject: 'alice@example.com', issuer: idp.issuer, api_key: null, status: 200 });
  });

  it('records the subject and issuer of the token in the access log, and filters by them', async () => {
    const token = await idp.clientCredentialsToken('jartrail-reader', 'audit:read');
    const response = await withBearer(app, `/v1/chains/${digest}`, token).expect(200);
    expect(await recordOf(app, response.headers['x-request-id']!)).toEqual({
      api_key: null,
      credential: 'jwt',
      presented_key_fingerprint: null,
      subject: 'jartrail-reader',
      issuer: idp.issuer,
      route: '/v1/chains/:digest',
      target: `/v1/chains/${digest}`,
      status: 200,
      correlation_id: response.headers['x-request-id'],
      seq: expect.any(String),
      at: expect.any(String),
      method: 'GET',
      detail: null,
    });
    const bySubject = (await app.get('/v1/access-records?subject=jartrail-reader&limit=500').expect(200)).body.items as AccessRecordItem[];
    expect(bySubject.length).toBeGreaterThanOrEqual(3);
    expect(bySubject.every((item) => item.subject === 'jartrail-reader' && item.issuer === idp.issuer)).toBe(true);
    const byIssuer = (await app.get(`/v1/access-records?issuer=${encodeURIComponent(idp.issuer)}&limit=500`).expect(200)).body.items as AccessRecordItem[];
    expect(new Set(byIssuer.map((item) => item.subject))).toEqual(new Set(['jartrail-reader', 'alice@example.com']));
    expect((await app.get('/v1/access-records?subject=nobody').expect(200)).body.items).toEqual([]);
  });

  it('lets an admin token read the access log, and answers 403 with the scope needed to a token without it', async () => {
    const admin = await idp.clientCredentialsToken('jartrail-admin', 'audit:read audit:admin');
    await withBearer(app, '/v1/access-records?limit=1', admin).expect(200);

    const reader = await idp.clientCredentialsToken('jartrail-reader', 'audit:read');
    const refused = await withBearer(app, '/v1/access-records', reader);
    expect(problemOf(refused, 403, 'forbidden').required_scope).toBe('audit:admin');
    expect(refused.headers['www-authenticate']).toBe('Bearer realm="jartrail", error="insufficient_scope", scope="audit:admin"');
    expect(await recordOf(app, refused.headers['x-request-id']!)).toMatchObject({ credential: 'jwt', subject: 'jartrail-reader', status: 403 });

    const nothing = await idp.clientCredentialsToken('jartrail-nothing', 'openid');
    const none = await withBearer(app, '/v1/chains', nothing);
    expect(problemOf(none, 403, 'forbidden').required_scope).toBe('audit:read');
    expect(none.headers['www-authenticate']).toContain('scope="audit:read"');
  });

  it('starts an export for a token holder, recorded against its subject and issuer, and lets it through to triage (test/findings/triage.spec.ts)', async () => {
    const admin = await idp.clientCredentialsToken('jartrail-admin', 'audit:read audit:export audit:admin audit:triage');
    const created = await app.http().post('/v1/exports').set('authorization', `Bearer ${admin}`).send({ format: 'ndjson' }).expect(202);
    expect(await app.db.rows('SELECT api_key_id, requested_by_subject, requested_by_issuer FROM exports WHERE id = $1', [created.body.id])).toEqual([
      { api_key_id: null, requested_by_subject: 'jartrail-admin', requested_by_issuer: idp.issuer },
    ]);
    expect((await app.http().get(`/v1/exports/${created.body.id as string}`).set('authorization', `Bearer ${admin}`).expect(200)).body.status).toMatch(/queued|running|completed/);
    // Who asked is one of the two, never both, never neither: PostgreSQL holds it.
    await expect(app.db.pool.query(`UPDATE exports SET api_key_id = NULL, requested_by_subject = NULL, requested_by_issuer = NULL WHERE id = $1`, [created.body.id])).rejects.toThrow(
      /chk_exports_requested_by/,
    );

    // No finding here: the token is let through to the route, which answers for the finding.
    const triage = await app.http().post('/v1/findings/999999999/triage').set('authorization', `Bearer ${admin}`).send({ status: 'acknowledged', note: 'seen' });
    problemOf(triage, 404, 'not-found');
  });

  const refusals: [string, () => Promise<string>, string][] = [
    ['a token for another audience', () => idp.mint({ aud: 'https://another-api.example' }), 'wrong_audience'],
    ['a token from another issuer', () => idp.mint({ iss: 'https://evil.example' }), 'unknown_issuer'],
    ['an expired token', () => idp.mint({ iat: now() - 600, exp: now() - 60 }), 'expired'],
    ['a token not valid yet', () => idp.mint({ nbf: now() + 120 }), 'not_yet_valid'],
    ['an HS256 token', () => idp.mint({}, { alg: 'HS256', key: new Uint8Array(32).fill(1) }), 'alg_not_allowed'],
    ['an unsigned (alg none) token', async () => `${base64url({ alg: 'none', typ: 'at+jwt' })}.${base64url({ iss: idp.issuer, aud: idp.audience, sub: 'mallory', exp: now() + 300, scope: 'audit:admin' })}.`, 'alg_not_allowed'],
    ["a token signed with the provider's RSA key, RS256 not being pinned", () => rsaSignedToken(idp), 'alg_not_allowed'],
    ['a token signed by a key the provider does not publish', async () => idp.mint({}, { key: (await generateKeyPair('ES256')).privateKey, header: { kid: 'not-published' } }), 'unknown_key'],
    ["a token signed by another key under the provider's kid", async () => idp.mint({}, { key: (await generateKeyPair('ES256')).privateKey, header: { kid: idp.signingKey.kid } }), 'bad_signature'],
    ['an ID-token-like token (typ JWT)', () => idp.mint({}, { header: { typ: 'JWT' } }), 'wrong_type'],
    ['a token without typ', () => idp.mint({}, { header: { typ: undefined } }), 'wrong_type'],
    ['an encrypted token (five parts)', async () => 'eyJhbGciOiJkaXIifQ.a.b.c.d', 'encrypted'],
    ['dots that are no JWT', async () => 'abc.def.ghi', 'malformed'],
  ];

  it.each(refusals)('refuses %s with 401 invalid_token, and records it by fingerprint', async (_case, tokenOf, reason) => {
    const token = await tokenOf();
    const response = await withBearer(app, '/v1/chains', token);
    const problem = problemOf(response, 401, 'unauthenticated');
    expect(problem.token_error).toBe(reason);
    expect(response.headers['www-authenticate']).toMatch(/^Bearer realm="jartrail", error="invalid_token", error_description="[^"\\]+"$/);
    const record = await recordOf(app, response.headers['x-request-id']!);
    expect(record).toMatchObject({ credential: 'refused_jwt', api_key: null, status: 401, detail: { token_error: reason }, presented_key_fingerprint: expect.stringMatching(/^kfp:/) });
    const stored = JSON.stringify(await app.db.rows('SELECT * FROM access_records'));
    expect(stored).not.toContain(token);
    // Nor its signature, where it has one long enough to be told apart from other text.
    const signatures = token.split('.').slice(2, 3).filter((part) => part.length > 20);
    expect(signatures.filter((signature) => stored.includes(signature))).toEqual([]);
  });

  it('names who an expired token was for (its signature verified), and no one for a forged token', async () => {
    const expired = await withBearer(app, '/v1/chains', await idp.mint({ sub: 'bob', iat: now() - 600, exp: now() - 60 }));
    expect(await recordOf(app, expired.headers['x-request-id']!)).toMatchObject({ credential: 'refused_jwt', subject: 'bob', issuer: idp.issuer });
    const forged = await withBearer(app, '/v1/chains', await idp.mint({ sub: 'bob' }, { key: (await generateKeyPair('ES256')).privateKey, header: { kid: idp.signingKey.kid } }));
    expect(await recordOf(app, forged.headers['x-request-id']!)).toMatchObject({ credential: 'refused_jwt', subject: null, issuer: null });
  });

  it('accepts a token within the clock tolerance (30 s) of its exp and nbf', async () => {
    await withBearer(app, '/v1/chains', await idp.mint({ iat: now() - 600, exp: now() - 10 })).expect(200);
    await withBearer(app, '/v1/chains', await idp.mint({ nbf: now() + 10 })).expect(200);
  });

  it('picks up a key the provider rotated in, fetching its JWKS again at most once per refetch interval', async () => {
    const fetches = () => idp.requests.get('/jwks') ?? 0;
    await sleep(2100);
    await idp.rotateKeys();
    const before = fetches();
    const first = await idp.clientCredentialsToken('jartrail-reader', 'audit:read');
    await withBearer(app, '/v1/chains', first).expect(200);
    expect(fetches()).toBe(before + 1);

    // Rotated again at once: the refetch interval (2 s) has not passed, so the new kid is unknown for now ...
    await idp.rotateKeys();
    const second = await idp.mint({ scope: 'audit:read' });
    expect(problemOf(await withBearer(app, '/v1/chains', second), 401, 'unauthenticated').token_error).toBe('unknown_key');
    expect(fetches()).toBe(before + 1);
    // ... and known once it has.
    await sleep(2100);
    await withBearer(app, '/v1/chains', second).expect(200);
    expect(fetches()).toBe(before + 2);
  });

  it('accepts a token whose aud names this service among others', async () => {
    await withBearer(app, '/v1/chains', await idp.mint({ aud: ['https://another-api.example', idp.audience] })).expect(200);
  });

  it('lets an admin token make an API key: the credential is checked before the body is read, as for keys', async () => {
    const admin = await idp.clientCredentialsToken('jartrail-admin', 'audit:admin');
    await app.http().post('/v1/api-keys').set('authorization', `Bearer ${admin}`).send({ name: 'made-by-token', scopes: ['audit:read'] }).expect(201);
    const anonymous = await app.http().post('/v1/api-keys').set('authorization', `Bearer ${await idp.mint({ iat: now() - 600, exp: now() - 60, scope: 'audit:admin' })}`).send({ name: 'x', scopes: ['audit:read'] });
    problemOf(anonymous, 401, 'unauthenticated');
  });

  it('says who a credential is and what it may do, whatever its scopes (GET /v1/access/me)', async () => {
    const { accessToken } = await idp.signInWithCodeFlow('erin', { scope: 'openid audit:read audit:export' });
    expect((await withBearer(app, '/v1/access/me', accessToken).expect(200)).body).toEqual({
      credential: 'jwt',
      api_key: null,
      subject: 'erin',
      issuer: idp.issuer,
      scopes: ['audit:read', 'audit:export'],
    });
    const nothing = await idp.clientCredentialsToken('jartrail-nothing', 'openid');
    expect((await withBearer(app, '/v1/access/me', nothing).expect(200)).body).toMatchObject({ subject: 'jartrail-nothing', scopes: [] });
    const key = await issueApiKey(app, ['audit:export'], 'exporter');
    expect((await app.get('/v1/access/me', key.key).expect(200)).body).toEqual({
      credential: 'api_key',
      api_key: { id: key.id, name: 'exporter' },
      subject: null,
      issuer: null,
      scopes: ['audit:export'],
    });
    problemOf(await app.http().get('/v1/access/me'), 401, 'unauthenticated');
    problemOf(await withBearer(app, '/v1/access/me', await idp.mint({ iat: now() - 600, exp: now() - 60 })), 401, 'unauthenticated');
  });

  it('keeps API keys working beside tokens', async () => {
    const reader = await issueApiKey(app, ['audit:read']);
    const response = await app.get('/v1/chains', reader.key).expect(200);
    expect(await recordOf(app, response.headers['x-request-id']!)).toMatchObject({ credential: 'api_key', api_key: { id: reader.id }, subject: null, issuer: null });
    problemOf(await app.get('/v1/chains', `jtk_${'x'.repeat(43)}`), 401, 'unauthenticated');
  });

  it('tells the console how to sign in, without authentication and without secrets', async () => {
    const response = await app.http().get('/v1/access/sign-in-options').expect(200);
    expect(response.body).toEqual({
      identity_providers: [
        {
          issuer: idp.issuer,
          client_id: idp.consoleClientId,
          scope: 'openid audit:read audit:export audit:admin audit:triage',
          resource: idp.audience,
          authorization_endpoint: `${idp.issuer}/auth`,
          token_endpoint: `${idp.issuer}/token`,
          end_session_endpoint: `${idp.issuer}/session/end`,
        },
      ],
      api_key_sign_in: true,
    });
  });
});

/** A token the provider itself signed with its RSA key (its ID tokens'), as the provider's JWKS publishes it. */
async function rsaSignedToken(idp: TestIdentityProvider): Promise<string> {
  const { idToken } = await idp.signInWithCodeFlow('rsa-user');
  const [header] = idToken!.split('.');
  expect(JSON.parse(Buffer.from(header!, 'base64url').toString())).toMatchObject({ alg: 'RS256' });
  return idToken!;
}
