import { createHash, randomUUID } from 'node:crypto';
import { CompactEncrypt, generateKeyPair } from 'jose';
import { problemOf, startTestApp, type TestApp } from '../support/app';
import { registerSenders, type WebhookSender } from '../support/events';
import { aClientKey, addDecryptionKey, type ClientKey, drainVerifications, registerClient, requestClaims, signRequestObject, verificationOf } from '../support/request-objects';

const digestOf = (compact: string) => createHash('sha256').update(compact, 'ascii').digest('base64url');

describe('disabled clients and decryption keys', () => {
  let app: TestApp;
  let as: WebhookSender;
  let key: ClientKey;

  beforeAll(async () => {
    app = await startTestApp({ env: { VERIFY_WORKER_ENABLED: 'false' } });
    ({ as } = await registerSenders(app));
    key = await aClientKey('ES256');
  });
  afterAll(() => app.close());

  const admin = (path: string) => app.http().post(path).set('authorization', `Bearer ${app.adminKey}`);

  async function independentVerdictOf(requestObject: string, claims: Record<string, unknown>, data: Record<string, unknown> = {}, header = { alg: key.alg, kid: key.kid }) {
    await as.event(verificationOf(requestObject, claims, header, data)).expect(202);
    await drainVerifications(app);
    return (await app.get(`/v1/chains/${digestOf(requestObject)}`).expect(200)).body.request_object.verifications[0].independent;
  }

  it('verifies nothing new for a disabled client: unverifiable, client_disabled; the registration is kept and can be enabled again', async () => {
    const clientId = `off-${randomUUID().slice(0, 8)}`;
    const registered = await registerClient(app, { client_id: clientId, jwks: { keys: [key.jwk] }, request_object_signing_alg_values: ['ES256'] }).expect(201);
    expect(registered.body).toMatchObject({ status: 'enabled', disabled_at: null });

    const disabled = await admin(`/v1/clients/${clientId}/disable`).expect(200);
    expect(disabled.body).toMatchObject({ client_id: clientId, status: 'disabled', jwks: registered.body.jwks });
    expect(Date.parse(disabled.body.disabled_at)).not.toBeNaN();
    // Disabling twice keeps the first time.
    expect((await admin(`/v1/clients/${clientId}/disable`).expect(200)).body.disabled_at).toBe(disabled.body.disabled_at);
    expect((await app.get(`/v1/clients/${clientId}`).expect(200)).body).toMatchObject({ status: 'disabled' });

    const claims = requestClaims(clientId);
    const independent = await independentVerdictOf(await signRequestObject(key, claims), claims);
    expect(independent).toMatchObject({ status: 'unverifiable', reasons: [{ code: 'client_disabled' }] });
    expect(independent.reasons[0].detail).toContain(clientId);

    expect((await admin(`/v1/clients/${clientId}/enable`).expect(200)).body).toMatchObject({ status: 'enabled', disabled_at: null });
    const again = requestClaims(clientId);
    expect(await independentVerdictOf(await signRequestObject(key, again), again)).toMatchObject({ status: 'verified', reasons: [] });
  });

  it('answers 404 for an unknown client or decryption key, and 401 without an admin key', async () => {
    problemOf(await admin('/v1/clients/nobody-here/disable'), 404, 'not-found');
    problemOf(await admin('/v1/clients/nobody-here/enable'), 404, 'not-found');
    problemOf(await admin(`/v1/decryption-keys/${randomUUID()}/disable`), 404, 'not-found');
    await app.http().post('/v1/clients/nobody-here/disable').expect(401);
    await app.http().post(`/v1/decryption-keys/${randomUUID()}/disable`).expect(401);
    problemOf(await admin('/v1/decryption-keys/not-a-uuid/disable'), 400, 'invalid-request');
  });

  it('never decrypts with a disabled decryption key: the object stays opaque with the reason decryption_key_disabled', async () => {
    const clientId = `enc-off-${randomUUID().slice(0, 8)}`;
    await registerClient(app, { client_id: clientId, jwks: { keys: [key.jwk] }, request_object_signing_alg_values: ['ES256'] }).expect(201);
    const { publicKey, privateKey } = await generateKeyPair('RSA-OAEP-256', { extractable: true });
    const { answer: added, kid } = await addDecryptionKey(app, 'RSA-OAEP-256', privateKey);
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ status: 'enabled', disabled_at: null });

    const disabled = await admin(`/v1/decryption-keys/${added.body.id}/disable`).expect(200);
    expect(disabled.body).toMatchObject({ id: added.body.id, status: 'disabled', kid });
    expect(disabled.body.public_jwk.d).toBeUndefined();
    const listed = (await app.get('/v1/decryption-keys').expect(200)).body.items.find((item: { id: string }) => item.id === added.body.id);
    expect(listed).toMatchObject({ status: 'disabled', disabled_at: disabled.body.disabled_at });

    const claims = requestClaims(clientId);
    const inner = await signRequestObject(key, claims);
    const jwe = await new CompactEncrypt(Buffer.from(inner, 'ascii')).setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256GCM', kid, cty: 'JWT' }).encrypt(publicKey);
    const independent = await independentVerdictOf(jwe, claims, { encryption: { alg: 'RSA-OAEP-256', enc: 'A256GCM', kid }, inner_digest: digestOf(inner) });
    expect(independent).toMatchObject({ status: 'unverifiable', opaque: true, inner_digest: null, reasons: [{ code: 'decryption_key_disabled' }] });
    expect(independent.reasons[0].detail).toContain(added.body.id);
  });
});
