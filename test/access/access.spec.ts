import { createHash, randomUUID } from 'node:crypto';
import { fieldsOf, issueApiKey, problemOf, startTestApp, type TestApp } from '../support/app';
import { aConsent, aVerification, randomDigest, registerSenders } from '../support/events';

/** A fresh service and database for the enclosing `describe`. */
function withFreshApp() {
  const context = {} as { app: TestApp };
  beforeAll(async () => {
    context.app = await startTestApp();
  });
  afterAll(() => context.app.close());
  return context;
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest();

interface AccessRecordRow {
  api_key_id: string;
  method: string;
  target: string;
  status: number;
  correlation_id: string;
}

describe('auditor authentication', () => {
  const context = withFreshApp();

  it('refuses a request without a key with 401 and a Bearer challenge', async () => {
    const response = await context.app.http().get('/v1/chains');
    problemOf(response, 401, 'unauthenticated');
    expect(response.headers['www-authenticate']).toBe('Bearer realm="jartrail"');
  });

  it.each([
    ['a Basic credential', 'Basic YWRtaW46YWRtaW4='],
    ['a Bearer without a key', 'Bearer '],
    ['a key with a space in it', `Bearer ${'a'.repeat(40)} b`],
  ])('refuses %s with 401 and a Bearer challenge', async (_case, authorization) => {
    const response = await context.app.http().get('/v1/chains').set('authorization', authorization);
    problemOf(response, 401, 'unauthenticated');
    expect(response.headers['www-authenticate']).toMatch(/^Bearer realm="jartrail"/);
  });

  it('refuses an unknown key with 401 and error="invalid_token"', async () => {
    const response = await context.app.get('/v1/chains', `jtk_${randomUUID()}`);
    problemOf(response, 401, 'unauthenticated');
    expect(response.headers['www-authenticate']).toBe('Bearer realm="jartrail", error="invalid_token"');
  });

  it('refuses a key with 401 as soon as it is revoked, even one used a moment before', async () => {
    const { id, key } = await issueApiKey(context.app, ['audit:read']);
    await context.app.get('/v1/chains', key).expect(200);
    const revoked = await context.app.http().post(`/v1/api-keys/${id}/revoke`).set('authorization', `Bearer ${context.app.adminKey}`).expect(200);
    expect(revoked.body).toMatchObject({ id, revoked_at: expect.any(String) });

    const response = await context.app.get('/v1/chains', key);
    problemOf(response, 401, 'unauthenticated');
    expect(response.headers['www-authenticate']).toContain('error="invalid_token"');
  });

  it.each([
    { who: 'an audit:read key', scopes: ['audit:read'], method: 'POST', path: '/v1/api-keys', needed: 'audit:admin' },
    { who: 'an audit:read key', scopes: ['audit:read'], method: 'GET', path: '/v1/sources', needed: 'audit:admin' },
    { who: 'an audit:export key', scopes: ['audit:export'], method: 'GET', path: '/v1/chains', needed: 'audit:read' },
    { who: 'an audit:admin key', scopes: ['audit:admin'], method: 'GET', path: `/v1/chains/${randomDigest()}`, needed: 'audit:read' },
    { who: 'an audit:admin key', scopes: ['audit:admin'], method: 'GET', path: '/v1/lookup?call_id=x', needed: 'audit:read' },
  ])('answers 403 with error="insufficient_scope" to $who on $method $path', async ({ scopes, method, path, needed }) => {
    const { key } = await issueApiKey(context.app, scopes);
    const client = context.app.http();
    const response = await (method === 'POST' ? client.post(path) : client.get(path))
      .set('authorization', `Bearer ${key}`)
      .send(method === 'POST' ? { name: 'escalation', scopes: ['audit:admin'] } : undefined);
    const problem = problemOf(response, 403, 'forbidden');
    expect(problem.required_scope).toBe(needed);
    expect(response.headers['www-authenticate']).toBe(`Bearer realm="jartrail", error="insufficient_scope", scope="${needed}"`);
    expect(await context.app.db.rows("SELECT 1 FROM api_keys WHERE name = 'escalation'")).toEqual([]);
  });

  it('lets a key do what its scope allows', async () => {
    const reader = await issueApiKey(context.app, ['audit:read']);
    await context.app.get('/v1/chains', reader.key).expect(200);
    const admin = await issueApiKey(context.app, ['audit:admin']);
    await context.app.get('/v1/api-keys', admin.key).expect(200);
    await context.app.get('/v1/sources', admin.key).expect(200);
  });
});

describe('API keys', () => {
  const context = withFreshApp();

  it('makes an admin key with every scope from BOOTSTRAP_ADMIN_KEY, stored as its SHA-256', async () => {
    const response = await context.app.get('/v1/api-keys').expect(200);
    const bootstrap = response.body.items.filter((item: any) => item.name === 'bootstrap-admin');
    expect(bootstrap).toHaveLength(1);
    expect([...bootstrap[0].scopes].sort()).toEqual(['audit:admin', 'audit:export', 'audit:read', 'audit:triage']);
    const [row] = await context.app.db.rows<{ key_sha256: Buffer }>('SELECT key_sha256 FROM api_keys WHERE id = $1', [bootstrap[0].id]);
    expect(row!.key_sha256.equals(sha256(context.app.adminKey))).toBe(true);
  });

  it('keeps one bootstrap key when the service starts again with the same BOOTSTRAP_ADMIN_KEY', async () => {
    const restarted = await startTestApp({ db: context.app.db, env: { BOOTSTRAP_ADMIN_KEY: context.app.adminKey } });
    try {
      await restarted.get('/v1/api-keys', context.app.adminKey).expect(200);
    } finally {
      await restarted.close();
    }
    expect(await context.app.db.rows("SELECT id FROM api_keys WHERE name = 'bootstrap-admin'")).toHaveLength(1);
  });

  it('issues a key that is shown once and stored only as its SHA-256', async () => {
    const response = await context.app.http().post('/v1/api-keys').set('authorization', `Bearer ${context.app.adminKey}`).send({ name: 'incident-42', scopes: ['audit:read', 'audit:export'] }).expect(201);
    const { id, key } = response.body;
    expect(response.body).toEqual({ id, name: 'incident-42', scopes: ['audit:read', 'audit:export'], created_at: expect.any(String), revoked_at: null, key: expect.stringMatching(/^jtk_[A-Za-z0-9_-]{43}$/) });
    await context.app.get('/v1/chains', key).expect(200);

    const [row] = await context.app.db.rows<{ key_sha256: Buffer; whole: string }>('SELECT key_sha256, row_to_json(k)::text AS whole FROM api_keys k WHERE id = $1', [id]);
    expect(row!.key_sha256.equals(sha256(key))).toBe(true);
    const secretPart = key.slice('jtk_'.length);
    const everything = (await context.app.db.rows<{ whole: string }>('SELECT row_to_json(k)::text AS whole FROM api_keys k')).map((r) => r.whole).join('\n');
    expect(everything).not.toContain(secretPart);
    expect(everything).not.toContain(Buffer.from(key).toString('hex'));
  });

  it('lists keys without the keys themselves', async () => {
    const { id, key } = await issueApiKey(context.app, ['audit:read'], 'listed');
    const response = await context.app.get('/v1/api-keys').expect(200);
    const listed = response.body.items.find((item: any) => item.id === id);
    expect(listed).toEqual({ id, name: 'listed', scopes: ['audit:read'], created_at: expect.any(String), revoked_at: null });
    expect(response.text).not.toContain(key);
    expect(response.text).not.toContain(context.app.adminKey);
    for (const item of response.body.items) expect(Object.keys(item).sort()).toEqual(['created_at', 'id', 'name', 'revoked_at', 'scopes']);
  });

  it('shows a revoked key as revoked, and keeps its first revocation time', async () => {
    const { id } = await issueApiKey(context.app, ['audit:read']);
    const admin = () => context.app.http().post(`/v1/api-keys/${id}/revoke`).set('authorization', `Bearer ${context.app.adminKey}`);
    const first = (await admin().expect(200)).body.revoked_at;
    expect(first).toEqual(expect.any(String));
    expect((await admin().expect(200)).body.revoked_at).toBe(first);
    const listed = (await context.app.get('/v1/api-keys').expect(200)).body.items.find((item: any) => item.id === id);
    expect(listed.revoked_at).toBe(first);
  });

  it('answers 404 to the revocation of an unknown key and 400 naming id to a malformed one', async () => {
    const post = (id: string) => context.app.http().post(`/v1/api-keys/${id}/revoke`).set('authorization', `Bearer ${context.app.adminKey}`);
    problemOf(await post(randomUUID()), 404, 'not-found');
    expect(fieldsOf(problemOf(await post('not-a-uuid'), 400, 'invalid-request')).map(([field]) => field)).toEqual(['id']);
  });

  it.each([
    ['an unknown scope', { name: 'x', scopes: ['audit:write'] }, 'scopes.0'],
    ['no scopes', { name: 'x', scopes: [] }, 'scopes'],
    ['no name', { scopes: ['audit:read'] }, 'name'],
    ['an unknown field', { name: 'x', scopes: ['audit:read'], expires: 'never' }, 'expires'],
  ])('refuses a key request with %s, naming the field', async (_case, body, field) => {
    const response = await context.app.http().post('/v1/api-keys').set('authorization', `Bearer ${context.app.adminKey}`).send(body);
    expect(fieldsOf(problemOf(response, 400, 'invalid-request')).map(([name]) => name)).toEqual([field]);
  });
});

describe('a revoked bootstrap key', () => {
  const context = withFreshApp();

  it('stays revoked when the service starts again with the same BOOTSTRAP_ADMIN_KEY', async () => {
    const other = await issueApiKey(context.app, ['audit:admin']);
    const [bootstrap] = await context.app.db.rows<{ id: string }>("SELECT id FROM api_keys WHERE name = 'bootstrap-admin'");
    await context.app.http().post(`/v1/api-keys/${bootstrap!.id}/revoke`).set('authorization', `Bearer ${other.key}`).expect(200);
    await context.app.get('/v1/api-keys').expect(401);

    const restarted = await startTestApp({ db: context.app.db, env: { BOOTSTRAP_ADMIN_KEY: context.app.adminKey } });
    try {
      await restarted.get('/v1/api-keys', context.app.adminKey).expect(401);
      await restarted.get('/v1/api-keys', other.key).expect(200);
    } finally {
      await restarted.close();
    }
  });
});

describe('access records: every auditor request is recorded', () => {
  const context = withFreshApp();
  let reader: { id: string; key: string };
  let digest: string;
  const subject = `alice-${randomUUID().slice(0, 8)}@example.com`;

  const recordOf = async (correlationId: string) => {
    const rows = await context.app.db.rows<AccessRecordRow>(
      'SELECT api_key_id, method, target, status, correlation_id FROM access_records WHERE correlation_id = $1',
      [correlationId],
    );
    expect(rows).toHaveLength(1);
    return rows[0]!;
  };

  beforeAll(async () => {
    reader = await issueApiKey(context.app, ['audit:read']);
    const { as } = await registerSenders(context.app);
    const verification = aVerification();
    digest = String(verification.data.digest);
    await as.event(verification).expect(202);
    await as.event(aConsent({ digest, subject })).expect(202);
  });

  it('records who looked at what: key, method, target, status and the x-request-id as correlation id', async () => {
    const response = await context.app.get(`/v1/chains/${digest}`, reader.key).expect(200);
    const correlationId = response.headers['x-request-id'];
    expect(correlationId).toEqual(expect.any(String));
    expect(await recordOf(correlationId)).toEqual({ api_key_id: reader.id, method: 'GET', target: `/v1/chains/${digest}`, status: 200, correlation_id: correlationId });
  });

  it("keeps the caller's X-Request-Id as the correlation id", async () => {
    const callerId = `incident-7-${randomUUID()}`;
    const response = await context.app.get('/v1/chains?limit=5', reader.key).set('x-request-id', callerId).expect(200);
    expect(response.headers['x-request-id']).toBe(callerId);
    expect(await recordOf(callerId)).toMatchObject({ api_key_id: reader.id, target: '/v1/chains?limit=5', status: 200 });
  });

  it('records a request refused for lack of scope (403)', async () => {
    const response = await context.app.get('/v1/api-keys', reader.key).expect(403);
    expect(await recordOf(response.headers['x-request-id'])).toMatchObject({ api_key_id: reader.id, method: 'GET', target: '/v1/api-keys', status: 403 });
  });

  it('records a look that found nothing (404)', async () => {
    const unknown = randomDigest();
    const response = await context.app.get(`/v1/chains/${unknown}`, reader.key).expect(404);
    expect(await recordOf(response.headers['x-request-id'])).toMatchObject({ api_key_id: reader.id, target: `/v1/chains/${unknown}`, status: 404 });
  });

  it('records a request refused as invalid (400)', async () => {
    const response = await context.app.get('/v1/lookup?call_id=a&token_jti=b', reader.key).expect(400);
    expect(await recordOf(response.headers['x-request-id'])).toMatchObject({ api_key_id: reader.id, target: '/v1/lookup?call_id=a&token_jti=b', status: 400 });
  });

  it('records an admin action with its status', async () => {
    const response = await context.app.http().post('/v1/api-keys').set('authorization', `Bearer ${context.app.adminKey}`).send({ name: 'recorded', scopes: ['audit:read'] }).expect(201);
    const [admin] = await context.app.db.rows<{ id: string }>("SELECT id FROM api_keys WHERE name = 'bootstrap-admin'");
    expect(await recordOf(response.headers['x-request-id'])).toMatchObject({ api_key_id: admin!.id, method: 'POST', target: '/v1/api-keys', status: 201 });
  });

  it('records a subject search with the pseudonym, never the raw subject', async () => {
    const pseudonym = context.app.keyring.pseudonymOf(subject);
    const response = await context.app.get(`/v1/chains?subject=${encodeURIComponent(subject)}&limit=10`, reader.key).expect(200);
    expect(response.body.items.map((item: any) => item.digest)).toEqual([digest]);
    const record = await recordOf(response.headers['x-request-id']);
    expect(new URL(record.target, 'http://x').searchParams.getAll('subject')).toEqual([pseudonym]);
    expect(new URL(record.target, 'http://x').searchParams.get('limit')).toBe('10');
    expect(record.target).not.toContain(subject.split('@')[0]);
  });

  it.each([
    ['unencoded', (s: string) => `subject=${s}`],
    ['with an encoded parameter name', (s: string) => `sub%6Aect=${encodeURIComponent(s)}`],
    ['refused as invalid', (s: string) => `subject=${encodeURIComponent(s)}&limit=1000`],
    ['given twice', (s: string) => `subject=${encodeURIComponent(s)}&subject=${encodeURIComponent(s)}`],
  ])('keeps the raw subject out of the access records for a subject search %s', async (_case, query) => {
    const response = await context.app.get(`/v1/chains?${query(subject)}`, reader.key);
    const record = await recordOf(response.headers['x-request-id']);
    expect(record.status).toBe(response.status);
    expect(record.target).not.toContain(subject.split('@')[0]);
  });
});

describe('which routes need a key', () => {
  const context = withFreshApp();

  it.each(['/health/live', '/health/ready'])('answers %s without any key', async (path) => {
    const response = await context.app.http().get(path).expect(200);
    expect(response.body.status).toBe('ok');
  });

  it('refuses every /v1 route without credentials', async () => {
    const document = (await context.app.http().get('/openapi.json').expect(200)).body as {
      paths: Record<string, Record<string, { security?: Record<string, string[]>[] }>>;
    };
    const operations = Object.entries(document.paths)
      .filter(([path]) => path.startsWith('/v1/'))
      .flatMap(([path, methods]) => Object.entries(methods).map(([method, operation]) => ({ method, path, operation })));
    const auditorRoutes = operations.filter(({ operation }) => operation.security?.some((scheme) => 'api-key' in scheme) && operation.security?.some((scheme) => 'access-token' in scheme));
    // Only the signed webhook routes and the SET route (the SET's signature) authenticate otherwise, and the console's
    // sign-in options are public (a console has no credential before it signs in); a new route has to be one of these.
    const publicRoutes = ['get /v1/access/sign-in-options'];
    expect(operations.filter((operation) => !auditorRoutes.includes(operation)).map(({ method, path }) => `${method} ${path}`).sort()).toEqual([
      'get /v1/access/sign-in-options',
      'post /v1/events',
      'post /v1/events/batch',
      'post /v1/sets',
    ]);
    expect(auditorRoutes.map(({ method, path }) => `${method} ${path}`)).toEqual(
      expect.arrayContaining(['get /v1/chains/{digest}', 'get /v1/lookup', 'get /v1/chains', 'post /v1/api-keys', 'get /v1/sources', 'post /v1/sources/{id}/rotate-secret']),
    );

    for (const { method, path, operation } of operations.filter(({ method, path }) => !publicRoutes.includes(`${method} ${path}`))) {
      const url = path.replace('{digest}', randomDigest()).replace('{id}', randomUUID());
      const response = await context.app.http()[method as 'get' | 'post'](url).set('content-type', 'application/json').send('{}');
      const isAuditorRoute = auditorRoutes.some((route) => route.operation === operation);
      // RFC 8935 answers every refused SET with 400 and an error code; an unsigned body is refused all the same.
      const refusal = path === '/v1/sets' ? { status: 400, err: 'invalid_request' } : { status: 401 };
      const observed = { route: `${method} ${path}`, status: response.status, challenge: response.headers['www-authenticate'], ...(path === '/v1/sets' && { err: (response.body as { err?: string }).err }) };
      expect(observed).toEqual({
        route: `${method} ${path}`,
        ...refusal,
        challenge: isAuditorRoute ? 'Bearer realm="jartrail"' : undefined,
      });
    }
  });

  it('refuses an auditor key on the webhook routes: they take signatures only', async () => {
    const response = await context.app.http().post('/v1/events').set('authorization', `Bearer ${context.app.adminKey}`).set('content-type', 'application/json').send(aVerification());
    problemOf(response, 401, 'unauthenticated');
  });
});
