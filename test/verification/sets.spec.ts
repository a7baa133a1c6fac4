import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CryptoKey, SignJWT } from 'jose';
import { startTestApp, type TestApp } from '../support/app';
import { aConsent, aToken, randomDigest } from '../support/events';
import { aClientKey, type ClientKey, type SigningAlg } from '../support/request-objects';

const AUDIENCE = 'https://jartrail.test';

interface SetSource {
  readonly id: string;
}

describe('Security Event Tokens pushed to POST /v1/sets (RFC 8417, RFC 8935)', () => {
  let app: TestApp;
  let keys: Record<SigningAlg, ClientKey>;
  let as: SetSource;
  let jwksServer: Server;

  const createSource = async (body: Record<string, unknown>): Promise<SetSource> =>
    (await app.http().post('/v1/sources').set('authorization', `Bearer ${app.adminKey}`).send(body).expect(201)).body;

  beforeAll(async () => {
    app = await startTestApp({ env: { JARTRAIL_SET_AUDIENCE: AUDIENCE, JWKS_ALLOW_LOOPBACK_HTTP: 'true', JWKS_URI_ALLOW_PRIVATE: 'true', VERIFY_WORKER_ENABLED: 'false' } });
    const [rs, ps, es, ed] = await Promise.all([aClientKey('RS256'), aClientKey('PS256'), aClientKey('ES256'), aClientKey('EdDSA')]);
    keys = { RS256: rs, PS256: ps, ES256: es, EdDSA: ed };
    as = await createSource({ name: `as-${randomUUID().slice(0, 8)}`, kind: 'authorization_server', set_jwks: { keys: [rs.jwk, es.jwk, ed.jwk] } });
    jwksServer = createServer((_request, response) => response.setHeader('content-type', 'application/json').end(JSON.stringify({ keys: [es.jwk] })));
    await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await new Promise((resolve) => jwksServer.close(resolve));
    await app.close();
  });

  interface SetOptions {
    readonly key?: { alg: string; kid?: string; privateKey: CryptoKey | Uint8Array };
    readonly iss?: string;
    readonly aud?: string;
    readonly jti?: string;
    readonly iat?: number;
    readonly events?: Record<string, unknown>;
    readonly typ?: string;
  }

  const consentEvents = (digest = randomDigest()) => ({ 'urn:jartrail:event:consent.decision': aConsent({ digest }).data });

  async function aSet(options: SetOptions = {}): Promise<string> {
    const key = options.key ?? keys.ES256;
    return new SignJWT({ events: options.events ?? consentEvents() })
      .setProtectedHeader({ alg: key.alg, ...(key.kid !== undefined && { kid: key.kid }), typ: options.typ ?? 'secevent+jwt' })
      .setIssuer(options.iss ?? as.id)
      .setAudience(options.aud ?? AUDIENCE)
      .setJti(options.jti ?? randomUUID())
      .setIssuedAt(options.iat ?? Math.floor(Date.now() / 1000))
      .sign(key.privateKey);
  }

  const push = (token: string, contentType = 'application/secevent+jwt') => app.http().post('/v1/sets').set('content-type', contentType).send(token);
  const eventCount = async () => Number((await app.db.rows<{ count: string }>('SELECT count(*) AS count FROM events'))[0]!.count);

  /** The RFC 8935 error body, and that nothing was written. */
  async function refused(token: string, err: string, contentType?: string) {
    const before = await eventCount();
    const response = await push(token, contentType);
    expect({ status: response.status, contentType: response.headers['content-type'], body: response.body }).toEqual({
      status: 400,
      contentType: expect.stringMatching(/^application\/json/),
      body: { err, description: expect.any(String) },
    });
    expect(await eventCount()).toBe(before);
    return response.body as { err: string; description: string };
  }

  it.each(['ES256', 'RS256', 'EdDSA'] as const)('accepts a %s-signed SET with 202 and an empty body, recorded as the event its URN names', async (alg) => {
    const jti = `set-${randomUUID()}`;
    const digest = randomDigest();
    const response = await push(await aSet({ key: keys[alg], jti, events: consentEvents(digest) }));
    expect({ status: response.status, text: response.text }).toEqual({ status: 202, text: '' });
    const [row] = await app.db.rows<{ type: string; source_id: string }>('SELECT type, source_id FROM events WHERE event_id = $1', [jti]);
    expect(row).toEqual({ type: 'consent.decision', source_id: as.id });
    expect((await app.get(`/v1/chains/${digest}`).expect(200)).body.consents).toHaveLength(1);
  });

  it('takes a retransmitted SET as a duplicate (202, nothing new), and refuses a changed one under the same jti, keeping it as evidence', async () => {
    const jti = `set-${randomUUID()}`;
    const token = await aSet({ jti });
    await push(token).expect(202);
    const before = await eventCount();
    await push(token).expect(202);
    expect(await eventCount()).toBe(before);

    const changed = await aSet({ jti, events: consentEvents() });
    const body = await refused(changed, 'invalid_request');
    expect(body.description).toMatch(/different SET.*kept as evidence/);
    expect(await app.db.rows('SELECT event_id FROM event_conflicts WHERE event_id = $1', [jti])).toEqual([{ event_id: jti }]);
  });

  it('refuses a SET signed with a key the source did not register: invalid_key', async () => {
    const stranger = await aClientKey('ES256', keys.ES256.kid);
    await refused(await aSet({ key: stranger }), 'invalid_key');
    await refused(await aSet({ key: { ...stranger, kid: 'not-registered' } }), 'invalid_key');
    // PS256 suits no registered key (the source registered no PS256 key).
    await refused(await aSet({ key: keys.PS256 }), 'invalid_key');
  });

  it('refuses an unknown issuer: invalid_issuer', async () => {
    await refused(await aSet({ iss: randomUUID() }), 'invalid_issuer');
    await refused(await aSet({ iss: 'https://as.example.com' }), 'invalid_issuer');
  });

  it('refuses a SET for another audience: invalid_audience', async () => {
    await refused(await aSet({ aud: 'https://someone-else.example' }), 'invalid_audience');
  });

  it('refuses an unsigned SET (alg none) and an HMAC one: authentication_failed', async () => {
    const claims = { iss: as.id, aud: AUDIENCE, jti: randomUUID(), iat: Math.floor(Date.now() / 1000), events: consentEvents() };
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'secevent+jwt' })).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`;
    await refused(none, 'authentication_failed');
    await refused(await aSet({ key: { alg: 'HS256', privateKey: new TextEncoder().encode('x'.repeat(32)) } }), 'authentication_failed');
  });

  it('refuses what is not a SET: invalid_request', async () => {
    await refused('not a jwt', 'invalid_request');
    await refused('eyJhbGciOiJFUzI1NiJ9.bm90LWpzb24.c2ln', 'invalid_request');
    await refused(await aSet({ typ: 'JWT' }), 'invalid_request');
    await refused(await aSet({ events: { ...consentEvents(), 'urn:jartrail:event:token.issued': aToken().data } }), 'invalid_request');
    await refused(await aSet({ events: { 'urn:example:other': {} } }), 'invalid_request');
    const invalid = await refused(await aSet({ events: { 'urn:jartrail:event:consent.decision': { digest: 'short' } } }), 'invalid_request');
    expect(invalid.description).toMatch(/events\.urn:jartrail:event:consent\.decision\.digest: digest_length/);
    await refused(await aSet(), 'invalid_request', 'application/json');
  });

  it('accepts one spelling of a signed SET: the others with the same bytes are invalid_request, so a retransmission cannot pass as a changed SET', async () => {
    const jti = `set-${randomUUID()}`;
    const token = await aSet({ jti });
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    // An ES256 signature is 64 bytes: its last character has 4 unused bits.
    const variant = `${token.slice(0, -1)}${alphabet[alphabet.indexOf(token.at(-1)!) ^ 1]}`;
    const body = await refused(variant, 'invalid_request');
    expect(body.description).toMatch(/signature is not canonical base64url/);
    await refused(`${token}=`, 'invalid_request');
    await push(token).expect(202);
    await refused(variant, 'invalid_request');
    expect(await app.db.rows('SELECT event_id FROM event_conflicts WHERE event_id = $1', [jti])).toEqual([]);
  });

  it('refuses a kid that is not a string (a number, an object): invalid_request, not ignored', async () => {
    for (const kid of [1, { kid: keys.ES256.kid }]) {
      const token = await aSet({ key: { ...keys.ES256, kid: kid as never } });
      const body = await refused(token, 'invalid_request');
      expect(body.description).toMatch(/kid must be a string/);
    }
  });

  it("refuses an event type outside the source's kind, and a source without SET keys: access_denied", async () => {
    await refused(await aSet({ events: { 'urn:jartrail:event:token.issued': aToken({ digest: randomDigest() }).data } }), 'access_denied');
    const bare = await createSource({ name: `bare-${randomUUID().slice(0, 8)}`, kind: 'authorization_server' });
    await refused(await aSet({ iss: bare.id }), 'access_denied');
  });

  it("fetches a source's keys from its set_jwks_uri (https only, loopback http behind the setting)", async () => {
    const uri = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks`;
    const source = await createSource({ name: `uri-${randomUUID().slice(0, 8)}`, kind: 'authorization_server', set_jwks_uri: uri });
    await push(await aSet({ iss: source.id })).expect(202);
    await refused(await aSet({ iss: source.id, key: keys.RS256 }), 'invalid_key');
    const insecure = await app.http().post('/v1/sources').set('authorization', `Bearer ${app.adminKey}`).send({ name: 'plain-http', kind: 'agent', set_jwks_uri: 'http://keys.example.com/jwks' });
    expect(insecure.status).toBe(400);
  });

  it('registers SET keys on an existing source', async () => {
    const source = await createSource({ name: `late-${randomUUID().slice(0, 8)}`, kind: 'authorization_server' });
    await refused(await aSet({ iss: source.id }), 'access_denied');
    // Its own key: a key another source holds is refused (one SET key, one source).
    const own = await aClientKey('ES256');
    const updated = await app.http().put(`/v1/sources/${source.id}/set-keys`).set('authorization', `Bearer ${app.adminKey}`).send({ set_jwks: { keys: [own.jwk] } }).expect(200);
    expect(updated.body.set_jwks.keys).toHaveLength(1);
    await push(await aSet({ iss: source.id, key: own })).expect(202);
    const privateKey = await app.http().put(`/v1/sources/${source.id}/set-keys`).set('authorization', `Bearer ${app.adminKey}`).send({ set_jwks: { keys: [{ ...keys.ES256.jwk, d: 'secret' }] } });
    expect(privateKey.status).toBe(400);
  });
});
