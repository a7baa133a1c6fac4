import { createHash, hkdfSync, randomBytes, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { calculateJwkThumbprint, CompactEncrypt, type CryptoKey, exportJWK, generateKeyPair } from 'jose';
import { MIGRATIONS } from '../../migrations';
import { seal } from '../../src/common/crypto/secret-box';
import { dataSourceOptions } from '../../src/database/data-source-options';
import { runMigrationsUnderLock } from '../../src/database/database-bootstrap';
import { Keyring, masterKeyIdOf } from '../../src/common/crypto/keyring';
import { problemOf, startTestApp, type TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { aConsent, aVerification, type RegisteredSource, registerSource, WebhookSender } from '../support/events';
import { checkpointNow } from '../support/ledger';
import { aClientKey, AS_ISSUER, drainVerifications, registerClient, requestClaims, signRequestObject, verificationOf } from '../support/request-objects';

const aMasterKey = () => randomBytes(32).toString('base64url');
const idOf = (key: string) => masterKeyIdOf(Buffer.from(key, 'base64url'));
const digestOf = (compact: string) => createHash('sha256').update(compact, 'ascii').digest('base64url');

/** A service whose ledger signs only when told to (checkpointNow), so that signing is a step the test takes. */
const QUIET_LEDGER = { LEDGER_SEQUENCER_INTERVAL_MS: '60000', LEDGER_CHECKPOINT_INTERVAL_SECONDS: '86400', SOURCE_CACHE_TTL_MS: '0' };

describe('master-key rotation', () => {
  const first = aMasterKey();
  const second = aMasterKey();
  let db: TestDatabase;
  let source: RegisteredSource;
  let decryptionKeyId: string;
  let encryptTo: CryptoKey;
  const clientId = `rot-${randomUUID().slice(0, 8)}`;
  const subject = `rotating-${randomUUID().slice(0, 8)}@example.com`;
  const consent = aConsent({ subject });

  const start = (masterKey: string, previousMasterKeys: string[] = []) => startTestApp({ db, masterKey, previousMasterKeys, env: QUIET_LEDGER });

  beforeAll(async () => {
    db = await createTestDatabase();
    // Set up under the first key: a source secret, a decryption key, a ledger signing key, the service keys.
    const app = await start(first);
    try {
      source = await registerSource(app, 'authorization_server');
      await new WebhookSender(app, source).event(consent, { id: 'consent-before' }).expect(202);
      const { publicKey, privateKey } = await generateKeyPair('RSA-OAEP-256', { extractable: true });
      encryptTo = publicKey;
      const added = await app.http().post('/v1/decryption-keys').set('authorization', `Bearer ${app.adminKey}`).send({ issuer: AS_ISSUER, alg: 'RSA-OAEP-256', jwk: await exportJWK(privateKey) }).expect(201);
      decryptionKeyId = added.body.id;
      await checkpointNow(app);
    } finally {
      await app.close();
    }
  });
  afterAll(() => db.drop());

  it('re-seals every sealed value under the new key in batches while two replicas keep taking events, and records who did it and which keys', async () => {
    const replicas = [await start(second, [first]), await start(second, [first])];
    try {
      const [replica, other] = replicas as [TestApp, TestApp];
      const before = (await replica.get('/v1/master-keys').expect(200)).body;
      expect(before).toMatchObject({ current_key_id: idOf(second), held_key_ids: [idOf(second), idOf(first)] });
      expect(before.sealed).toEqual([{ key_id: idOf(first), count: 5, held: true }]);

      // Events keep flowing to both replicas for the whole rotation; not one may fail. Each replica has taken an event
      // before the rotation starts and takes two more after it ends (counted, not timed: a fast rotation may otherwise
      // end before any event overlapped it).
      let flowing = true;
      const sent: number[] = [];
      const sentBy = replicas.map(() => 0);
      const traffic = replicas.map(async (app, index) => {
        const sender = new WebhookSender(app, source);
        while (flowing) {
          sent.push((await sender.event(aVerification())).status);
          sentBy[index]! += 1;
        }
      });
      const until = async (done: () => boolean) => {
        while (!done()) await new Promise((resolve) => setTimeout(resolve, 10));
      };
      await until(() => sentBy.every((count) => count >= 1));
      const rotation = await replica.http().post('/v1/master-keys/rotate').set('authorization', `Bearer ${replica.adminKey}`).send({ batch_size: 1 });
      const atRotationEnd = [...sentBy];
      await until(() => sentBy.every((count, index) => count >= atRotationEnd[index]! + 2));
      flowing = false;
      await Promise.all(traffic);

      expect(rotation.status).toBe(200);
      expect(rotation.body).toMatchObject({
        ok: true,
        from_key_ids: [idOf(first)],
        to_key_id: idOf(second),
        resealed: { source_secrets: 1, decryption_keys: 1, ledger_signing_key_secrets: 1, service_keys: 2 },
        remaining: [],
      });
      expect(sent.length).toBeGreaterThanOrEqual(6);
      expect(new Set(sent)).toEqual(new Set([202]));
      expect((await other.get('/v1/master-keys').expect(200)).body.sealed).toEqual([{ key_id: idOf(second), count: 5, held: true }]);

      const [record] = await db.rows<{ method: string; target: string; status: number; detail: unknown; api_key_id: string; at: Date }>(
        `SELECT method, target, status, detail, api_key_id, at FROM access_records WHERE target = '/v1/master-keys/rotate'`,
      );
      expect(record).toMatchObject({
        method: 'POST',
        status: 200,
        detail: { action: 'master_key_rotation', from_key_ids: [idOf(first)], to_key_id: idOf(second), ok: true },
      });
      expect(record!.at).toBeInstanceOf(Date);
      // An admin reads the same record, with what the rotation changed, through the access log's API.
      const logged = await replica.http().get('/v1/access-records?route=/v1/master-keys/rotate').set('authorization', `Bearer ${replica.adminKey}`).expect(200);
      expect(logged.body.items).toEqual([
        expect.objectContaining({ method: 'POST', status: 200, detail: expect.objectContaining({ action: 'master_key_rotation', to_key_id: idOf(second), ok: true }) }),
      ]);
    } finally {
      await Promise.all(replicas.map((app) => app.close()));
    }
  });

  it('keeps working once the old key is removed: secrets open, the ledger signs, decryption works, pseudonyms and fingerprints are unchanged', async () => {
    const app = await start(second);
    try {
      const sender = new WebhookSender(app, source);
      await sender.event(aVerification()).expect(202);
      // The same event again is a duplicate (its fingerprint is unchanged), the search by subject finds the old chain.
      expect((await sender.event(consent, { id: 'consent-before' }).expect(200)).body).toMatchObject({ status: 'duplicate' });
      const found = (await app.get(`/v1/chains?subject=${encodeURIComponent(subject)}`).expect(200)).body.items;
      expect(found.map((chain: { digest: string }) => chain.digest)).toEqual([consent.data.digest]);
      await checkpointNow(app);

      const key = await aClientKey('ES256');
      await registerClient(app, { client_id: clientId, jwks: { keys: [key.jwk] }, request_object_signing_alg_values: ['ES256'] }).expect(201);
      const claims = requestClaims(clientId);
      const inner = await signRequestObject(key, claims);
      const jwe = await new CompactEncrypt(Buffer.from(inner, 'ascii')).setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256GCM', cty: 'JWT' }).encrypt(encryptTo);
      await sender.event(verificationOf(jwe, claims, { alg: 'ES256', kid: key.kid }, { encryption: { alg: 'RSA-OAEP-256', enc: 'A256GCM' }, inner_digest: digestOf(inner) })).expect(202);
      await drainVerifications(app);
      const chain = (await app.get(`/v1/chains/${digestOf(jwe)}`).expect(200)).body;
      expect(chain.request_object.verifications[0].independent).toMatchObject({ status: 'verified', opaque: false });
      expect(decryptionKeyId).toBeDefined();
    } finally {
      await app.close();
    }
  });

  it('names the missing key when a value is sealed under a key the replica does not hold', async () => {
    // A secret written by a replica that still had the first key as its current one, after the rotation.
    const stale = new Keyring(Buffer.from(first, 'base64url'));
    const secretId = randomUUID();
    const secret = `whsec_${randomBytes(32).toString('base64')}`;
    const { sealed, sealedBy } = stale.sealing.seal('secret', Buffer.from(secret), `source-secret:${source.id}:${secretId}`);
    await db.rows(`UPDATE source_secrets SET expires_at = now() WHERE source_id = $1`, [source.id]);
    await db.rows(`INSERT INTO source_secrets (id, source_id, sealed, sealed_by) VALUES ($1, $2, $3, $4)`, [secretId, source.id, sealed, sealedBy]);

    const app = await start(second);
    try {
      const problem = problemOf(await new WebhookSender(app, { ...source, secret }).event(aVerification()), 503, 'unavailable');
      expect(problem.detail).toContain(`master key ${idOf(first)}`);
      expect(problem.detail).toContain('JARTRAIL_PREVIOUS_MASTER_KEYS');
      expect((await app.get('/v1/master-keys').expect(200)).body.sealed).toContainEqual({ key_id: idOf(first), count: 1, held: false });
      const rotation = await app.http().post('/v1/master-keys/rotate').set('authorization', `Bearer ${app.adminKey}`).expect(200);
      expect(rotation.body).toMatchObject({ ok: false, remaining: [{ key_id: idOf(first), count: 1, held: false }] });
    } finally {
      await app.close();
    }
    // Given the key again, the rotation re-seals what is left.
    const healed = await start(second, [first]);
    try {
      expect((await healed.http().post('/v1/master-keys/rotate').set('authorization', `Bearer ${healed.adminKey}`).expect(200)).body).toMatchObject({ ok: true, remaining: [] });
      await new WebhookSender(healed, { ...source, secret }).event(aVerification()).expect(202);
    } finally {
      await healed.close();
    }
  });

  it('refuses to start with none of the keys the database is sealed under, naming the key', async () => {
    const other = aMasterKey();
    await expect(start(other)).rejects.toThrow(`master key ${idOf(second)}, which this replica does not hold`);
  });

  it('answers the rotation routes only to an admin, and refuses a bad batch size naming the field', async () => {
    const app = await start(second);
    try {
      await app.http().post('/v1/master-keys/rotate').expect(401);
      const problem = problemOf(await app.http().post('/v1/master-keys/rotate').set('authorization', `Bearer ${app.adminKey}`).send({ batch_size: 0 }), 400, 'invalid-request');
      expect(problem.errors?.map((error) => error.field)).toEqual(['batch_size']);
    } finally {
      await app.close();
    }
  });
});

describe('a deployment set up before master keys could rotate', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase({ migrated: false });
  });
  afterAll(() => db.drop());

  it('upgrades in place: its sealed values are attributed to its key, open after the migration, and rotate', async () => {
    const before = new DataSource({ ...dataSourceOptions(db.url, 2), migrations: MIGRATIONS.slice(0, MIGRATIONS.findIndex((migration) => new migration().name.startsWith('MasterKeyRotation'))) });
    await before.initialize();
    await runMigrationsUnderLock(before);
    await before.destroy();

    // What the previous release stored: the check value, a source secret and a ledger key sealed under derived keys.
    const masterKey = aMasterKey();
    const keyring = new Keyring(Buffer.from(masterKey, 'base64url'));
    await db.rows(`INSERT INTO service_settings (name, value) VALUES ('master_key_check', $1)`, [keyring.checkValue]);
    const source = { id: randomUUID(), secret: `whsec_${randomBytes(32).toString('base64')}`, kind: 'authorization_server' };
    const secretId = randomUUID();
    await db.rows(`INSERT INTO sources (id, name, kind) VALUES ($1, 'as-old', 'authorization_server')`, [source.id]);
    await db.rows(`INSERT INTO source_secrets (id, source_id, sealed) VALUES ($1, $2, $3)`, [secretId, source.id, seal(keyring.sealingKey, Buffer.from(source.secret), `source-secret:${source.id}:${secretId}`)]);
    const { publicKey, privateKey } = await generateKeyPair('EdDSA', { extractable: true });
    const publicJwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(publicJwk);
    const ledgerSealingKey = Buffer.from(hkdfSync('sha256', Buffer.from(masterKey, 'base64url'), Buffer.alloc(0), 'jartrail ledger signing key sealing v1', 32));
    await db.rows(`INSERT INTO ledger_signing_keys (kid, alg, public_jwk, sealed_private_jwk) VALUES ($1, 'EdDSA', $2, $3)`, [
      kid,
      JSON.stringify({ ...publicJwk, kid, alg: 'EdDSA', use: 'sig' }),
      seal(ledgerSealingKey, Buffer.from(JSON.stringify(await exportJWK(privateKey))), `ledger signing key ${kid}`),
    ]);

    const app = await startTestApp({ db, masterKey, env: QUIET_LEDGER });
    try {
      expect((await app.get('/v1/master-keys').expect(200)).body.sealed).toEqual([{ key_id: idOf(masterKey), count: 4, held: true }]);
      await new WebhookSender(app, source).event(aVerification()).expect(202);
      expect((await checkpointNow(app)).kid).toBe(kid);
      expect(app.keyring.pseudonymOf('alice')).toBe(keyring.pseudonymOf('alice'));
    } finally {
      await app.close();
    }
    const next = aMasterKey();
    const rotated = await startTestApp({ db, masterKey: next, previousMasterKeys: [masterKey], env: QUIET_LEDGER });
    try {
      expect((await rotated.http().post('/v1/master-keys/rotate').set('authorization', `Bearer ${rotated.adminKey}`).expect(200)).body).toMatchObject({ ok: true });
    } finally {
      await rotated.close();
    }
    const after = await startTestApp({ db, masterKey: next, env: QUIET_LEDGER });
    try {
      await new WebhookSender(after, source).event(aVerification()).expect(202);
      expect((await checkpointNow(after)).kid).toBe(kid);
      expect(after.keyring.pseudonymOf('alice')).toBe(keyring.pseudonymOf('alice'));
    } finally {
      await after.close();
    }
  });
});

describe('two rotations at once', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  it('re-seal each value once between them, and leave nothing under the old key', async () => {
    const first = aMasterKey();
    const second = aMasterKey();
    const setup = await startTestApp({ db, masterKey: first, env: QUIET_LEDGER });
    try {
      for (let index = 0; index < 6; index++) await registerSource(setup, 'agent');
    } finally {
      await setup.close();
    }
    const replicas = await Promise.all([0, 1].map(() => startTestApp({ db, masterKey: second, previousMasterKeys: [first], env: QUIET_LEDGER })));
    try {
      const before = (await replicas[0]!.get('/v1/master-keys').expect(200)).body.sealed;
      expect(before).toEqual([{ key_id: idOf(first), count: 9, held: true }]);
      const reports = await Promise.all(
        replicas.map(async (app) => (await app.http().post('/v1/master-keys/rotate').set('authorization', `Bearer ${app.adminKey}`).send({ batch_size: 1 }).expect(200)).body),
      );
      const total = (report: { resealed: Record<string, number> }) => Object.values(report.resealed).reduce((sum, count) => sum + count, 0);
      expect(total(reports[0]) + total(reports[1])).toBe(9);
      expect(reports.map((report) => report.ok)).toEqual([true, true]);
      expect((await replicas[1]!.get('/v1/master-keys').expect(200)).body.sealed).toEqual([{ key_id: idOf(second), count: 9, held: true }]);
    } finally {
      await Promise.all(replicas.map((app) => app.close()));
    }
  });
});
