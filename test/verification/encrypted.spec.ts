import { createHash, randomUUID } from 'node:crypto';
import { CompactEncrypt, generateKeyPair } from 'jose';
import { startTestApp, type TestApp } from '../support/app';
import { registerSenders, type WebhookSender } from '../support/events';
import { aClientKey, addDecryptionKey, type ClientKey, drainVerifications, registerClient, requestClaims, signRequestObject, verificationOf } from '../support/request-objects';

const digestOf = (compact: string) => createHash('sha256').update(compact, 'ascii').digest('base64url');

describe('encrypted request objects', () => {
  let app: TestApp;
  let as: WebhookSender;
  let key: ClientKey;
  const clientId = `enc-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    app = await startTestApp({ env: { VERIFY_WORKER_ENABLED: 'false' } });
    ({ as } = await registerSenders(app));
    key = await aClientKey('PS256');
    await registerClient(app, { client_id: clientId, jwks: { keys: [key.jwk] }, request_object_signing_alg_values: ['PS256'] }).expect(201);
  });
  afterAll(() => app.close());

  async function encryptedEvent(alg: string, encryptTo: Parameters<CompactEncrypt['encrypt']>[0], kid: string) {
    const claims = requestClaims(clientId);
    const inner = await signRequestObject(key, claims);
    const jwe = await new CompactEncrypt(Buffer.from(inner, 'ascii')).setProtectedHeader({ alg, enc: 'A256GCM', kid, cty: 'JWT' }).encrypt(encryptTo);
    const event = verificationOf(jwe, claims, { alg: 'PS256', kid: key.kid }, { encryption: { alg, enc: 'A256GCM', kid }, inner_digest: digestOf(inner) });
    await as.event(event).expect(202);
    return { inner, jwe };
  }

  it.each([
    ['RSA-OAEP-256', {}],
    ['ECDH-ES+A256KW', { crv: 'P-256' }],
  ] as const)('decrypts a %s / A256GCM object with the AS key given to jartrail, verifies the inner JWS and records its digest', async (alg, options) => {
    const { publicKey, privateKey } = await generateKeyPair(alg, { ...options, extractable: true });
    const { answer: added, kid } = await addDecryptionKey(app, alg, privateKey);
    expect(added.status).toBe(201);
    expect(added.body.public_jwk.d).toBeUndefined();
    expect(JSON.stringify((await app.get('/v1/decryption-keys').expect(200)).body)).not.toMatch(/"d"/);

    const { inner, jwe } = await encryptedEvent(alg, publicKey, kid);
    await drainVerifications(app);
    const chain = (await app.get(`/v1/chains/${digestOf(jwe)}`).expect(200)).body;
    expect(chain.digest).toBe(digestOf(jwe));
    expect(chain.aliases).toEqual([digestOf(inner)]);
    expect(chain.request_object.verifications[0].independent).toMatchObject({ status: 'verified', alg: 'PS256', inner_digest: digestOf(inner), opaque: false });
    // The private key is stored sealed: its "d" is nowhere in the database in clear.
    const [stored] = await app.db.rows<{ sealed: Buffer }>('SELECT sealed FROM decryption_keys WHERE kid = $1', [kid]);
    expect(stored!.sealed.toString('latin1')).not.toContain('"d"');
  });

  it('keeps an object opaque when jartrail holds no key for that AS, with the AS-reported inner digest as an unverified alias', async () => {
    const { publicKey } = await generateKeyPair('RSA-OAEP-256');
    const { inner, jwe } = await encryptedEvent('RSA-OAEP-256', publicKey, 'unknown-enc-key');
    await drainVerifications(app);
    const chain = (await app.get(`/v1/chains/${digestOf(inner)}`).expect(200)).body;
    expect(chain.digest).toBe(digestOf(jwe));
    expect(chain.request_object.verifications[0].independent).toMatchObject({ status: 'unverifiable', opaque: true, inner_digest: null, reasons: [{ code: 'no_decryption_key' }] });
  });
});
