import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { issueApiKey, problemOf, startTestApp, type TestApp } from '../support/app';
import { registerSenders, type WebhookSender } from '../support/events';
import { aClientKey, type ClientKey, drainVerifications, registerClient, requestClaims, signRequestObject, verificationOf } from '../support/request-objects';

const digestOf = (envelope: { data: Record<string, unknown> }) => String(envelope.data.digest);

describe('independent verification of reported request objects', () => {
  let app: TestApp;
  let as: WebhookSender;
  let es256: ClientKey;
  let rs256: ClientKey;
  const clientId = `agent-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    // The worker runs when a test drains it, so that "pending" can be seen; KEEP_REQUEST_OBJECTS=false shows the
    // queue keeps what minimisation drops.
    app = await startTestApp({ env: { VERIFY_WORKER_ENABLED: 'false', KEEP_REQUEST_OBJECTS: 'false' } });
    ({ as } = await registerSenders(app));
    [es256, rs256] = await Promise.all([aClientKey('ES256'), aClientKey('RS256')]);
    await registerClient(app, { client_id: clientId, jwks: { keys: [es256.jwk, rs256.jwk] }, request_object_signing_alg_values: ['ES256', 'PS256'] }).expect(201);
  });
  afterAll(() => app.close());

  const chain = async (digest: string) => (await app.get(`/v1/chains/${digest}`).expect(200)).body;

  it('shows the AS verdict, the independent verdict and the reason when the AS accepted an algorithm outside the pinned list', async () => {
    const claims = requestClaims(clientId);
    const object = await signRequestObject(rs256, claims);
    const event = verificationOf(object, claims, { alg: 'RS256', kid: rs256.kid });
    await as.event(event).expect(202);

    // Committed before any verification: the chain exists and says pending.
    const before = await chain(digestOf(event));
    expect(before.request_object.verifications[0].independent).toMatchObject({ status: 'pending', as_verdict: 'accepted' });
    const pending = await app.get(`/v1/chains?independent_verdict=pending&client_id=${clientId}`).expect(200);
    expect(pending.body.items.map((item: { digest: string }) => item.digest)).toContain(digestOf(event));
    expect(await app.db.rows('SELECT request_object FROM verification_queue')).toEqual([{ request_object: object }]);
    expect((await app.db.rows<{ data: Record<string, unknown> }>('SELECT data FROM events'))[0]!.data.request_object).toBeUndefined();

    await drainVerifications(app);
    const after = await chain(digestOf(event));
    expect(after.verdict_mismatch).toBe(true);
    expect(after.request_object.verifications[0].data.verdict).toBe('accepted');
    expect(after.request_object.verifications[0].independent).toMatchObject({
      status: 'rejected',
      as_verdict: 'accepted',
      mismatch: true,
      alg: 'RS256',
      kid: rs256.kid,
      reasons: [{ code: 'alg_not_allowed', detail: expect.stringContaining('RS256') }],
      verified_at: expect.any(String),
    });
    expect(after.timeline[0].summary).toMatch(/jartrail: rejected \(alg_not_allowed\)/);
    expect(await app.db.rows('SELECT * FROM verification_queue')).toEqual([]);
  });

  it('verifies a good object, and search tells verified, rejected and mismatched chains apart', async () => {
    const claims = requestClaims(clientId);
    const object = await signRequestObject(es256, claims);
    const good = verificationOf(object, claims, { alg: 'ES256', kid: es256.kid });
    await as.event(good).expect(202);
    await drainVerifications(app);
    expect((await chain(digestOf(good))).request_object.verifications[0].independent).toMatchObject({ status: 'verified', mismatch: false, reasons: [] });

    const search = async (query: string) => (await app.get(`/v1/chains?${query}`).expect(200)).body.items.map((item: { digest: string }) => item.digest);
    expect(await search('independent_verdict=verified')).toEqual([digestOf(good)]);
    expect(await search('independent_verdict=rejected')).not.toContain(digestOf(good));
    expect(await search(`verdict_mismatch=true&client_id=${clientId}`)).not.toContain(digestOf(good));
    expect(await search('independent_verdict=pending')).toEqual([]);
  });

  it('pages through verdict searches with stable keyset cursors', async () => {
    const digests: string[] = [];
    for (let index = 0; index < 5; index++) {
      const claims = requestClaims(clientId, { aud: 'https://elsewhere.example' });
      const object = await signRequestObject(es256, claims);
      const event = verificationOf(object, claims, { alg: 'ES256', kid: es256.kid });
      await as.event(event).expect(202);
      digests.unshift(digestOf(event));
    }
    await drainVerifications(app);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { items: { digest: string }[]; next_cursor: string | null } } = await app.get(`/v1/chains?verdict_mismatch=true&limit=2${cursor ? `&cursor=${cursor}` : ''}`).expect(200);
      seen.push(...page.body.items.map((item) => item.digest));
      cursor = page.body.next_cursor;
    } while (cursor);
    // Newest first; the first test's chain is the oldest mismatch.
    expect(seen.slice(0, 5)).toEqual(digests);
    expect(seen).toHaveLength(6);
  });

  it('calls an unregistered client unverifiable, and an event without its object not verifiable', async () => {
    const stranger = await aClientKey('ES256');
    const claims = requestClaims('stranger-app');
    const object = await signRequestObject(stranger, claims);
    const unknown = verificationOf(object, claims, { alg: 'ES256', kid: stranger.kid });
    const withoutObject = verificationOf(object, claims, { alg: 'ES256', kid: stranger.kid }, { request_object: undefined });
    await as.event(unknown).expect(202);
    await drainVerifications(app);
    expect((await chain(digestOf(unknown))).request_object.verifications[0].independent).toMatchObject({ status: 'unverifiable', reasons: [{ code: 'client_unknown' }] });
    await as.event({ ...withoutObject, data: { ...withoutObject.data, digest: digestOf(unknown) } }).expect(202);
    await drainVerifications(app);
    const verifications = (await chain(digestOf(unknown))).request_object.verifications;
    expect(verifications.map((verification: { independent: { status: string } }) => verification.independent.status)).toEqual(['unverifiable', 'not_verifiable']);
  });

  it('calls a report without its object not verifiable, with no mismatch, even for a client that requires signed objects', async () => {
    const strict = await aClientKey('ES256');
    const strictId = `strict-${randomUUID().slice(0, 8)}`;
    await registerClient(app, { client_id: strictId, jwks: { keys: [strict.jwk] }, request_object_signing_alg_values: ['ES256'], require_signed_request_object: true }).expect(201);
    const claims = requestClaims(strictId);
    const event = verificationOf(await signRequestObject(strict, claims), claims, { alg: 'ES256', kid: strict.kid }, { request_object: undefined });
    await as.event(event).expect(202);
    await drainVerifications(app);
    const document = await chain(digestOf(event));
    expect(document.verdict_mismatch).toBe(false);
    expect(document.request_object.verifications[0].independent).toMatchObject({ status: 'not_verifiable', as_verdict: 'accepted', mismatch: false, reasons: [{ code: 'no_request_object' }] });
  });

  it('refuses an unknown verdict filter by name', async () => {
    problemOf(await app.get('/v1/chains?independent_verdict=maybe'), 400, 'invalid-request');
    problemOf(await app.get('/v1/chains?verdict_mismatch=false'), 400, 'invalid-request');
  });

  it('commits the event even when the object is garbage, and the verdict says so', async () => {
    const garbage = 'eyJhbGciOiJFUzI1NiJ9.bm90LWpzb24.c2ln';
    const claims = requestClaims(clientId);
    const event = verificationOf(garbage, claims, { alg: 'ES256' });
    await as.event(event).expect(202);
    await drainVerifications(app);
    expect((await chain(digestOf(event))).request_object.verifications[0].independent).toMatchObject({ status: 'rejected', reasons: [{ code: 'malformed' }] });
  });

  it('rejects as malformed a signature spelled with non-zero unused bits, though its bytes are those of a valid one', async () => {
    const claims = requestClaims(clientId);
    const object = await signRequestObject(es256, claims);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const variant = `${object.slice(0, -1)}${alphabet[alphabet.indexOf(object.at(-1)!) ^ 1]}`;
    const event = verificationOf(variant, claims, { alg: 'ES256', kid: es256.kid });
    await as.event(event).expect(202);
    await drainVerifications(app);
    expect((await chain(digestOf(event))).request_object.verifications[0].independent).toMatchObject({
      status: 'rejected',
      mismatch: true,
      reasons: [{ code: 'malformed', detail: expect.stringContaining('signature is not canonical base64url') }],
    });
  });

  it('rejects as malformed an object whose kid is a number, though its signature verifies under a client key', async () => {
    const claims = requestClaims(clientId);
    const object = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 7, typ: 'oauth-authz-req+jwt' } as never).sign(es256.privateKey);
    const event = verificationOf(object, claims, { alg: 'ES256' });
    await as.event(event).expect(202);
    await drainVerifications(app);
    expect((await chain(digestOf(event))).request_object.verifications[0].independent).toMatchObject({
      status: 'rejected',
      reasons: [{ code: 'malformed', detail: expect.stringContaining('kid must be a string') }],
    });
  });

  it('records a PAR push the AS refused, which has no request_uri, and still requires one of an accepted push', async () => {
    const claims = requestClaims(clientId);
    const object = await signRequestObject(rs256, claims);
    const refusedPush = verificationOf(object, claims, { alg: 'RS256', kid: rs256.kid }, { delivery: 'par', verdict: 'rejected', reason: 'alg not allowed' });
    await as.event(refusedPush).expect(202);
    await drainVerifications(app);
    const [verification] = (await chain(digestOf(refusedPush))).request_object.verifications;
    expect(verification.data).toMatchObject({ delivery: 'par', verdict: 'rejected' });
    expect(verification.data.request_uri).toBeUndefined();
    expect(verification.independent).toMatchObject({ status: 'rejected', as_verdict: 'rejected', mismatch: false, reasons: [{ code: 'alg_not_allowed' }] });
    const acceptedPush = verificationOf(object, claims, { alg: 'RS256', kid: rs256.kid }, { delivery: 'par' });
    const problem = problemOf(await as.event(acceptedPush), 422, 'invalid-event');
    expect(problem.errors).toEqual([expect.objectContaining({ field: 'data.request_uri' })]);
  });

  it('keeps verdicts append-only', async () => {
    await expect(app.db.pool.query('UPDATE independent_verdicts SET verdict = verdict')).rejects.toMatchObject({ message: expect.stringMatching(/append-only/) });
  });

  it('lets only admins register clients', async () => {
    const reader = await issueApiKey(app, ['audit:read']);
    problemOf(await app.http().get('/v1/clients').set('authorization', `Bearer ${reader.key}`), 403, 'forbidden');
  });
});

describe('the verification worker', () => {
  it('runs on its own in every service process: the verdict fills in without anyone draining the queue', async () => {
    const app = await startTestApp({ env: { VERIFY_WORKER_ENABLED: 'true', VERIFY_POLL_INTERVAL_MS: '50' } });
    try {
      const { as } = await registerSenders(app);
      const key = await aClientKey('EdDSA');
      const clientId = `auto-${randomUUID().slice(0, 8)}`;
      await registerClient(app, { client_id: clientId, jwks: { keys: [key.jwk] }, request_object_signing_alg_values: ['EdDSA'] }).expect(201);
      const claims = requestClaims(clientId);
      const event = verificationOf(await signRequestObject(key, claims), claims, { alg: 'EdDSA', kid: key.kid });
      await as.event(event).expect(202);
      let status = 'pending';
      for (let round = 0; round < 100 && status === 'pending'; round++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        status = (await app.get(`/v1/chains/${String(event.data.digest)}`).expect(200)).body.request_object.verifications[0].independent.status;
      }
      expect(status).toBe('verified');
    } finally {
      await app.close();
    }
  });
});
