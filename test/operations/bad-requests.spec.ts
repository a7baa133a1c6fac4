import { randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, CompactSign } from 'jose';
import { DataSource } from 'typeorm';
import { SourceSetKeys1796220000000 } from '../../migrations/1796220000000-SourceSetKeys';
import { dataSourceOptions } from '../../src/database/data-source-options';
import { fieldsOf, problemOf, startTestApp, type TestApp } from '../support/app';
import { aConsent } from '../support/events';
import { aClientKey, type ClientKey } from '../support/request-objects';

/** Hostile input on the auditor and admin API (queries, paths, admin bodies): always a 4xx problem, never a 500. */
describe('bad requests on the query and admin API', () => {
  let app: TestApp;
  let key: ClientKey;

  beforeAll(async () => {
    app = await startTestApp();
    key = await aClientKey('ES256');
  });
  afterAll(() => app.close());

  const admin = (path: string) => app.http().post(path).set('authorization', `Bearer ${app.adminKey}`);

  describe('text PostgreSQL cannot store (NUL, lone surrogates)', () => {
    it.each([
      ['/v1/chains?client_id=a%00b', 'client_id', 'nul_character'],
      ['/v1/chains?tool=%00', 'tool', 'nul_character'],
      ['/v1/lookup?call_id=call%00', 'call_id', 'nul_character'],
      ['/v1/lookup?side_effect_reference=%ED%A0%80', 'side_effect_reference', 'invalid_percent_encoding'],
      ['/v1/chains?subject=%ZZ', 'subject', 'invalid_percent_encoding'],
    ])('answers %s with 400, naming the parameter', async (path, field, code) => {
      const problem = problemOf(await app.get(path), 400, 'invalid-request');
      expect(fieldsOf(problem)).toEqual([[field, code]]);
    });

    it('answers a NUL in a path parameter with 400', async () => {
      problemOf(await app.get('/v1/clients/client%00one'), 400, 'invalid-request');
    });

    it('refuses a NUL in a registration body with 422, naming the field, and registers nothing', async () => {
      const body = { client_id: 'nul\u0000client', jwks: { keys: [key.jwk] }, request_object_signing_alg_values: ['ES256'] };
      const problem = problemOf(await admin('/v1/clients').send(body), 422, 'unstorable-text');
      expect(problem.errors).toEqual([expect.objectContaining({ pointer: '/client_id', code: 'nul_character' })]);
      const sources = problemOf(await admin('/v1/sources').send({ name: 'lone \ud800', kind: 'agent' }), 422, 'unstorable-text');
      expect(fieldsOf(sources)).toEqual([['name', 'lone_surrogate']]);
      expect(await app.db.rows('SELECT 1 FROM clients')).toEqual([]);
    });
  });

  describe('forged cursors', () => {
    const forged = (createdAt: string) => Buffer.from(JSON.stringify([createdAt, 'A'.repeat(43)])).toString('base64url');

    it.each(['2026-02-30T00:00:00.000000Z', '2026-13-01T00:00:00.000000Z', '2026-01-01T24:00:00.000000Z', '0000-01-01T00:00:00.000000Z'])(
      'answers a cursor with the impossible time %s with 400',
      async (createdAt) => {
        const problem = problemOf(await app.get(`/v1/chains?cursor=${forged(createdAt)}`), 400, 'invalid-request');
        expect(fieldsOf(problem)).toEqual([['cursor', 'invalid_cursor']]);
      },
    );

    it('answers a search from year 0 (which PostgreSQL does not have) with 400 or an empty page, never 500', async () => {
      const response = await app.get('/v1/chains?from=0000-01-01T00:00:00Z');
      expect(response.status).toBeLessThan(500);
    });

    it('still takes a well-formed one', async () => {
      await app.get(`/v1/chains?cursor=${forged('2028-02-29T23:59:59.999999Z')}`).expect(200);
    });
  });

  describe("the router's and the body reader's own errors are problem details too", () => {
    it('answers an unknown route with 404', async () => {
      problemOf(await app.get('/v1/nowhere'), 404, 'not-found');
      problemOf(await app.http().delete('/v1/chains'), 404, 'not-found');
    });

    it('answers a malformed percent-encoding in the path with 400', async () => {
      problemOf(await app.get('/v1/clients/%E0%A4%A'), 400, 'invalid-request');
      problemOf(await app.get('/v1/clients/%zz'), 400, 'invalid-request');
    });

    it('answers an over-long path parameter with 414', async () => {
      const response = await app.get(`/v1/clients/${'c'.repeat(5000)}`);
      expect({ status: response.status, type: response.body.type, contentType: response.headers['content-type'] }).toEqual({
        status: 414,
        type: 'urn:jartrail:problem:uri-too-long',
        contentType: expect.stringMatching(/^application\/problem\+json/),
      });
      expect(response.body.correlation_id).toBe(response.headers['x-request-id']);
    });

    it('answers a body of another content type with 415', async () => {
      problemOf(await admin('/v1/sources').set('content-type', 'text/plain').send('name=x'), 415, 'unsupported-media-type');
      problemOf(await admin('/v1/sources').set('content-type', 'application/x-www-form-urlencoded').send('name=x'), 415, 'unsupported-media-type');
    });

    it('answers a body over the limit with 413', async () => {
      const body = JSON.stringify({ name: 'x'.repeat(11 * 1024 * 1024), kind: 'agent' });
      problemOf(await admin('/v1/sources').set('content-type', 'application/json').send(body), 413, 'payload-too-large');
    });
  });

  describe('deeply nested admin bodies', () => {
    it('answers a client whose jwks nests 100,000 levels deep with 422, naming where, and registers nothing', async () => {
      const nested = '{"x":'.repeat(100_000) + '1' + '}'.repeat(100_000);
      const body = `{"client_id":"deep","request_object_signing_alg_values":["ES256"],"jwks":{"keys":[${JSON.stringify(key.jwk).replace(/}$/, `,"ext":${nested}}`)}]}}`;
      const problem = problemOf(await admin('/v1/clients').set('content-type', 'application/json').send(body), 422, 'json-too-complex');
      expect(problem.errors).toEqual([expect.objectContaining({ code: 'too_deep', field: expect.stringMatching(/^jwks\.keys\.0\.ext\.x/) })]);
      expect(await app.db.rows("SELECT 1 FROM clients WHERE client_id = 'deep'")).toEqual([]);
      // The service still answers.
      await app.get('/v1/clients').expect(200);
    });
  });

  describe('jwks_uri on a non-public address', () => {
    it.each(['https://169.254.169.254/latest/meta-data', 'https://10.0.0.1/jwks', 'https://[::1]/jwks', 'https://[fd12::1]/jwks', 'https://localhost/jwks', 'https://[::ffff:127.0.0.1]/jwks'])(
      'refuses a client whose jwks_uri is %s with 400, registering nothing',
      async (jwksUri) => {
        const problem = problemOf(
          await admin('/v1/clients').send({ client_id: `ssrf-${jwksUri.length}`, jwks_uri: jwksUri, request_object_signing_alg_values: ['ES256'] }),
          400,
          'invalid-request',
        );
        expect(fieldsOf(problem)).toEqual([['jwks_uri', 'insecure_uri']]);
        expect(await app.db.rows("SELECT 1 FROM clients WHERE client_id LIKE 'ssrf-%'")).toEqual([]);
      },
    );

    it("refuses a source's set_jwks_uri on a private address with 400", async () => {
      const source = (await admin('/v1/sources').send({ name: `set-source-${Date.now()}`, kind: 'agent' }).expect(201)).body;
      const response = await app.http().put(`/v1/sources/${source.id}/set-keys`).set('authorization', `Bearer ${app.adminKey}`).send({ set_jwks_uri: 'https://192.168.0.10/jwks' });
      expect(problemOf(response, 400, 'invalid-request').errors?.[0]?.code).toBe('insecure_uri');
    });
  });

  describe('one SET key, one source', () => {
    const createSource = (name: string, setJwks?: object) => admin('/v1/sources').send({ name: `${name}-${Date.now()}`, kind: 'agent', ...(setJwks && { set_jwks: setJwks }) });
    const setKeys = (id: string, setJwks: object) => app.http().put(`/v1/sources/${id}/set-keys`).set('authorization', `Bearer ${app.adminKey}`).send({ set_jwks: setJwks });

    it('refuses a second source registering a key another source holds, under any kid, with 409', async () => {
      const shared = await aClientKey('ES256');
      const first = (await createSource('first', { keys: [shared.jwk] }).expect(201)).body;
      const problem = problemOf(await createSource('second', { keys: [{ ...shared.jwk, kid: 'another-kid' }] }), 409, 'conflict');
      expect(fieldsOf(problem)).toEqual([['set_jwks.keys.0', 'key_registered']]);
      const other = (await createSource('other').expect(201)).body;
      const own = await aClientKey('ES256');
      problemOf(await setKeys(other.id, { keys: [own.jwk, shared.jwk] }), 409, 'conflict');
      // Nothing of the refused set was kept; the holder can set its own key again, and its new keys free the old one.
      await setKeys(other.id, { keys: [own.jwk] }).expect(200);
      await setKeys(first.id, { keys: [shared.jwk] }).expect(200);
      await setKeys(first.id, { keys: [(await aClientKey('ES256')).jwk] }).expect(200);
      await setKeys(other.id, { keys: [shared.jwk] }).expect(200);
    });

    it('backfills the keys of existing sources with their RFC 7638 thumbprints when the migration runs', async () => {
      const [keyA, keyB, keyC] = await Promise.all([aClientKey('ES256'), aClientKey('RS256'), aClientKey('EdDSA')]);
      const source = (await createSource('backfilled', { keys: [keyA.jwk, keyB.jwk, keyC.jwk] }).expect(201)).body;
      const migration = new SourceSetKeys1796220000000();
      const dataSource = new DataSource(dataSourceOptions(app.db.url, 1));
      await dataSource.initialize();
      try {
        const runner = dataSource.createQueryRunner();
        await migration.down(runner);
        await migration.up(runner);
        await runner.release();
      } finally {
        await dataSource.destroy();
      }
      const expected = await Promise.all([keyA, keyB, keyC].map((key) => calculateJwkThumbprint(key.jwk, 'sha256')));
      const rows = await app.db.rows<{ thumbprint: string }>('SELECT thumbprint FROM source_set_keys WHERE source_id = $1 ORDER BY thumbprint', [source.id]);
      expect(rows.map((row) => row.thumbprint)).toEqual([...expected].sort());
    });

    it('lets exactly one of two racing sources register the same key', async () => {
      const shared = await aClientKey('ES256');
      const [a, b] = await Promise.all([createSource('race-a').expect(201), createSource('race-b').expect(201)]);
      const statuses = await Promise.all([setKeys(a.body.id, { keys: [shared.jwk] }), setKeys(b.body.id, { keys: [shared.jwk] })]);
      expect(statuses.map((response) => response.status).sort()).toEqual([200, 409]);
    });
  });

  describe('Security Event Tokens', () => {
    it('refuses a SET whose payload names a member twice, or holds a NUL, with 400 invalid_request', async () => {
      const setKey = await aClientKey('ES256');
      const source = (await admin('/v1/sources').send({ name: `set-dup-${Date.now()}`, kind: 'authorization_server', set_jwks: { keys: [setKey.jwk] } }).expect(201)).body;
      const sign = (payload: string) =>
        new CompactSign(new TextEncoder().encode(payload)).setProtectedHeader({ alg: 'ES256', kid: setKey.kid, typ: 'secevent+jwt' }).sign(setKey.privateKey);
      const push = async (payload: string) => app.http().post('/v1/sets').set('content-type', 'application/secevent+jwt').send(await sign(payload));
      const claims = (data: object) =>
        JSON.stringify({ iss: source.id, aud: app.config.sets.audience, jti: randomUUID(), iat: Math.floor(Date.now() / 1000), events: { 'urn:jartrail:event:consent.decision': data } });

      const doubled = claims(aConsent().data).replace('"decision":"approved"', '"decision":"denied","decision":"approved"');
      expect((await push(doubled)).body).toEqual({ err: 'invalid_request', description: expect.any(String) });
      expect((await push(claims(aConsent({ subject: 'nul\u0000' }).data))).body).toEqual({ err: 'invalid_request', description: expect.stringContaining('NUL') });
      expect((await push(claims(aConsent().data))).status).toBe(202);
    });
  });
});
