import { randomUUID } from 'node:crypto';
import { CompactEncrypt, generateKeyPair, SignJWT } from 'jose';
import { RetentionService } from '../../src/ledger/retention.service';
import { startTestApp, type TestApp } from '../support/app';
import { registerSenders, type WebhookSender } from '../support/events';
import { checkpointNow } from '../support/ledger';
import { aClientKey, addDecryptionKey, type ClientKey, drainVerifications, registerClient, requestClaims, signRequestObject, verificationOf } from '../support/request-objects';

const MAX_ATTEMPTS = 3;

/**
 * Faults inside the verification worker: whatever goes wrong, every queued verification ends with a verdict after
 * at most VERIFY_MAX_ATTEMPTS claims, and never stays pending for ever.
 */
describe('the verification worker under faults', () => {
  let app: TestApp;
  let as: WebhookSender;
  let key: ClientKey;
  const clientId = `faults-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    app = await startTestApp({
      env: { VERIFY_WORKER_ENABLED: 'false', VERIFY_MAX_ATTEMPTS: String(MAX_ATTEMPTS), VERIFY_RETRY_BASE_MS: '1', LEDGER_SEQUENCER_INTERVAL_MS: '60000' },
    });
    ({ as } = await registerSenders(app));
    key = await aClientKey('ES256');
    await registerClient(app, { client_id: clientId, jwks: { keys: [key.jwk] }, request_object_signing_alg_values: ['ES256'] }).expect(201);
  });
  afterAll(() => app.close());

  const independentOf = async (digest: unknown) => (await app.get(`/v1/chains/${String(digest)}`).expect(200)).body.request_object.verifications[0].independent;
  const queued = async (digest: unknown) =>
    app.db.rows<{ attempts: number; last_error: string | null }>(
      `SELECT q.attempts, q.last_error FROM verification_queue q JOIN events e ON e.seq = q.event_seq WHERE e.data ->> 'digest' = $1`,
      [String(digest)],
    );

  /** Drains as a retrying worker would: again after each retry delay, a bounded number of times. */
  async function drainRetries(rounds = MAX_ATTEMPTS * 4): Promise<void> {
    for (let round = 0; round < rounds; round++) {
      await drainVerifications(app);
      if ((await app.db.rows('SELECT 1 FROM verification_queue')).length === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it('ends a verification that fails for a reason other than the network as unverifiable (verification_error) after VERIFY_MAX_ATTEMPTS', async () => {
    // The AS's decryption key, sealed under the master key, no longer opens (a damaged row, a wrong key): not a
    // network failure, and no retry can cure it.
    const { publicKey, privateKey } = await generateKeyPair('RSA-OAEP-256', { extractable: true });
    const { answer: added, kid } = await addDecryptionKey(app, 'RSA-OAEP-256', privateKey);
    expect(added.status).toBe(201);
    await app.db.pool.query(`UPDATE decryption_keys SET sealed = sealed || '\\x00'::bytea WHERE id = $1`, [added.body.id]);
    const claims = requestClaims(clientId);
    const inner = await signRequestObject(key, claims);
    const jwe = await new CompactEncrypt(Buffer.from(inner, 'ascii')).setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256GCM', kid, cty: 'JWT' }).encrypt(publicKey);
    const event = verificationOf(jwe, claims, { alg: 'ES256', kid: key.kid }, { encryption: { alg: 'RSA-OAEP-256', enc: 'A256GCM', kid } });
    await as.event(event).expect(202);

    await drainVerifications(app);
    // One failure is retried: the next attempt is scheduled, with the error kept for operators.
    expect(await queued(event.data.digest)).toEqual([{ attempts: 1, last_error: expect.any(String) }]);
    expect(await independentOf(event.data.digest)).toMatchObject({ status: 'pending' });

    await drainRetries();
    expect(await queued(event.data.digest)).toEqual([]);
    expect(await independentOf(event.data.digest)).toMatchObject({
      status: 'unverifiable',
      as_verdict: 'accepted',
      mismatch: false,
      reasons: [{ code: 'verification_error', detail: expect.stringContaining(`${MAX_ATTEMPTS} attempts`) }],
    });
  });

  it('stores NUL and lone surrogates of an attacker-made object as U+FFFD, so that writing the verdict cannot fail', async () => {
    const claims = requestClaims(clientId);
    // A kid the client does not have, with a NUL; a scope with a lone surrogate, differing from what the AS reported.
    const object = await new SignJWT({ ...claims, scope: 'openid \ud800' }).setProtectedHeader({ alg: 'ES256', kid: 'evil\u0000kid', typ: 'oauth-authz-req+jwt' }).sign(key.privateKey);
    const event = verificationOf(object, claims, { alg: 'ES256' });
    await as.event(event).expect(202);
    await drainVerifications(app);

    expect(await queued(event.data.digest)).toEqual([]);
    const independent = await independentOf(event.data.digest);
    expect(independent).toMatchObject({ status: 'rejected', kid: 'evil\ufffdkid' });
    expect(independent.reasons.map((reason: { code: string }) => reason.code)).toEqual(['kid_unknown', 'claims_mismatch']);
    expect(independent.reasons[0].detail).toContain('evil\ufffdkid');
    expect(independent.reasons[1].differences).toEqual([{ field: 'claims.scope', reported: 'openid mail.send', actual: 'openid \ufffd' }]);
  });

  it('ends a verification whose payload retention purged while it was queued as unverifiable (payload_purged), dropping the queued object', async () => {
    const claims = requestClaims(clientId);
    const event = verificationOf(await signRequestObject(key, claims), claims, { alg: 'ES256', kid: key.kid });
    await as.event(event).expect(202);
    await checkpointNow(app);
    expect(await app.app.get(RetentionService).purge('test-purge', new Date(Date.now() + 60_000), 1000)).toBeGreaterThan(0);
    expect(await independentOf(event.data.digest)).toMatchObject({ status: 'pending', as_verdict: null });

    await drainVerifications(app);
    expect(await app.db.rows('SELECT request_object FROM verification_queue')).toEqual([]);
    expect(await independentOf(event.data.digest)).toMatchObject({
      status: 'unverifiable',
      as_verdict: null,
      mismatch: false,
      reasons: [{ code: 'payload_purged', detail: expect.any(String) }],
    });
  });
});
