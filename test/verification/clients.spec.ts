import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fieldsOf, problemOf, startTestApp, type TestApp } from '../support/app';
import { registerSenders, type WebhookSender } from '../support/events';
import { aClientKey, type ClientKey, drainVerifications, registerClient, requestClaims, signRequestObject, verificationOf } from '../support/request-objects';

/** A jwks_uri on loopback whose answers the test controls. */
class JwksServer {
  private server!: Server;
  delayMs = 0;
  body = '';
  requests = 0;

  async start(): Promise<void> {
    this.server = createServer((_request, response) => {
      this.requests++;
      setTimeout(() => response.setHeader('content-type', 'application/json').end(this.body), this.delayMs).unref();
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
  }

  url(path = '/jwks'): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

describe('the client registry', () => {
  let app: TestApp;
  let key: ClientKey;

  beforeAll(async () => {
    app = await startTestApp({ env: { VERIFY_WORKER_ENABLED: 'false' } });
    key = await aClientKey('ES256');
  });
  afterAll(() => app.close());

  const admin = (test: ReturnType<ReturnType<TestApp['http']>['post']>) => test.set('authorization', `Bearer ${app.adminKey}`);

  it('registers, shows, lists and replaces a client, with the documented defaults', async () => {
    const clientId = `app-${randomUUID().slice(0, 8)}`;
    const created = await registerClient(app, { client_id: clientId, jwks: { keys: [key.jwk] }, request_object_signing_alg_values: ['ES256'] }).expect(201);
    expect(created.body).toMatchObject({
      client_id: clientId,
      jwks_uri: null,
      require_signed_request_object: false,
      require_encrypted_request_object: false,
      request_object_encryption_alg_values: [],
      high_impact_scopes: [],
      max_request_object_lifetime: 3600,
    });
    expect((await app.get(`/v1/clients/${clientId}`).expect(200)).body).toEqual(created.body);
    expect((await app.get('/v1/clients').expect(200)).body.items.map((client: { client_id: string }) => client.client_id)).toContain(clientId);

    const replaced = await admin(app.http().put(`/v1/clients/${clientId}`))
      .send({ jwks: { keys: [key.jwk] }, request_object_signing_alg_values: ['ES256', 'PS256'], require_signed_request_object: true, require_encrypted_request_object: true, high_impact_scopes: ['payments'], max_request_object_lifetime: 600 })
      .expect(200);
    expect(replaced.body).toMatchObject({ request_object_signing_alg_values: ['ES256', 'PS256'], require_signed_request_object: true, require_encrypted_request_object: true, high_impact_scopes: ['payments'], max_request_object_lifetime: 600 });
    problemOf(await registerClient(app, { client_id: clientId, jwks: { keys: [key.jwk] }, request_object_signing_alg_values: ['ES256'] }), 409, 'conflict');
    problemOf(await app.get('/v1/clients/nobody'), 404, 'not-found');
    problemOf(await admin(app.http().put('/v1/clients/nobody')).send({ jwks: { keys: [key.jwk] }, request_object_signing_alg_values: ['ES256'] }), 404, 'not-found');
  });

  it('refuses unsafe registrations, naming the field', async () => {
    const base = { client_id: `bad-${randomUUID().slice(0, 8)}`, jwks: { keys: [key.jwk] }, request_object_signing_alg_values: ['ES256'] };
    expect(fieldsOf(problemOf(await registerClient(app, { ...base, request_object_signing_alg_values: ['none'] }), 400, 'invalid-request'))).toEqual([['request_object_signing_alg_values.0', 'invalid_value']]);
    expect(fieldsOf(problemOf(await registerClient(app, { ...base, request_object_signing_alg_values: ['HS256'] }), 400, 'invalid-request'))).toEqual([['request_object_signing_alg_values.0', 'invalid_value']]);
    expect(fieldsOf(problemOf(await registerClient(app, { ...base, jwks: { keys: [{ ...key.jwk, d: 'private' }] } }), 400, 'invalid-request'))).toEqual([['jwks', 'invalid_jwks']]);
    expect(fieldsOf(problemOf(await registerClient(app, { ...base, jwks_uri: 'https://keys.example.com/jwks' }), 400, 'invalid-request'))).toEqual([
      ['jwks', 'exactly_one'],
      ['jwks_uri', 'exactly_one'],
    ]);
    const { jwks: _jwks, ...withoutKeys } = base;
    expect(fieldsOf(problemOf(await registerClient(app, { ...withoutKeys, jwks_uri: 'http://keys.example.com/jwks' }), 400, 'invalid-request'))).toEqual([['jwks_uri', 'insecure_uri']]);
    // Loopback http needs JWKS_ALLOW_LOOPBACK_HTTP=true, which this app does not set.
    expect(fieldsOf(problemOf(await registerClient(app, { ...withoutKeys, jwks_uri: 'http://127.0.0.1:1/jwks' }), 400, 'invalid-request'))).toEqual([['jwks_uri', 'insecure_uri']]);
  });
});

describe('client keys from a jwks_uri', () => {
  let app: TestApp;
  let as: WebhookSender;
  let key: ClientKey;
  const server = new JwksServer();

  beforeAll(async () => {
    await server.start();
    app = await startTestApp({
      env: {
        VERIFY_WORKER_ENABLED: 'false',
        JWKS_ALLOW_LOOPBACK_HTTP: 'true',
        JWKS_URI_ALLOW_PRIVATE: 'true',
        JWKS_TIMEOUT_MS: '200',
        JWKS_MAX_BYTES: '4096',
        JWKS_CACHE_TTL_SECONDS: '0',
        VERIFY_RETRY_BASE_MS: '50',
        VERIFY_MAX_ATTEMPTS: '3',
      },
    });
    ({ as } = await registerSenders(app));
    key = await aClientKey('ES256');
  });
  afterAll(async () => {
    await app.close();
    await server.stop();
  });

  async function reportObject(clientId: string) {
    const claims = requestClaims(clientId);
    const event = verificationOf(await signRequestObject(key, claims), claims, { alg: 'ES256', kid: key.kid });
    await as.event(event).expect(202);
    return String(event.data.digest);
  }

  const statusOf = async (digest: string) => (await app.get(`/v1/chains/${digest}`).expect(200)).body.request_object.verifications[0].independent;

  /** Drains until the verdict is final (retries wait VERIFY_RETRY_BASE_MS, doubling). */
  async function settled(digest: string) {
    for (let round = 0; round < 40; round++) {
      await drainVerifications(app);
      const status = await statusOf(digest);
      if (status.status !== 'pending') return status;
      await sleep(50);
    }
    throw new Error('the verification stayed pending');
  }

  it('shows pending while the jwks_uri times out, and fills the verdict in when a later fetch succeeds', async () => {
    const clientId = `slow-${randomUUID().slice(0, 8)}`;
    server.body = JSON.stringify({ keys: [key.jwk] });
    server.delayMs = 1000;
    await registerClient(app, { client_id: clientId, jwks_uri: server.url(), request_object_signing_alg_values: ['ES256'] }).expect(201);
    const digest = await reportObject(clientId);

    await drainVerifications(app);
    expect(await statusOf(digest)).toMatchObject({ status: 'pending' });
    expect(await app.db.rows('SELECT attempts, last_error FROM verification_queue')).toEqual([{ attempts: 1, last_error: expect.stringMatching(/did not answer within 200 ms/) }]);
    expect(await app.get('/v1/chains?independent_verdict=pending').expect(200)).toMatchObject({ body: { items: [{ digest }] } });

    server.delayMs = 0;
    expect(await settled(digest)).toMatchObject({ status: 'verified', kid: key.kid });
  });

  it('gives up after the last attempt on a key set over the size limit: unverifiable, jwks_unavailable', async () => {
    const clientId = `big-${randomUUID().slice(0, 8)}`;
    server.body = JSON.stringify({ keys: [key.jwk], padding: 'x'.repeat(8192) });
    await registerClient(app, { client_id: clientId, jwks_uri: server.url('/big'), request_object_signing_alg_values: ['ES256'] }).expect(201);
    const digest = await reportObject(clientId);
    expect(await settled(digest)).toMatchObject({ status: 'unverifiable', reasons: [{ code: 'jwks_unavailable', detail: expect.stringMatching(/at most 4096 are read/) }] });
  });
});
