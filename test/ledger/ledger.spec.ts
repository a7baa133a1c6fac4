import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { calculateJwkThumbprint, compactVerify, createLocalJWKSet, exportJWK, generateKeyPair } from 'jose';
import { type TestApp, fieldsOf, issueApiKey, problemOf, startTestApp } from '../support/app';
import { aConsent, aToken, aVerification, registerSenders } from '../support/events';
import { checkpointNow, verifyLedger } from '../support/ledger';
import { LedgerSequencerService } from '../../src/ledger/ledger-sequencer.service';
import { verifyDocument } from '../../src/ledger/verification/evidence-verifier';

describe('the ledger over HTTP', () => {
  let app: TestApp;
  let senders: Awaited<ReturnType<typeof registerSenders>>;
  const digest = aVerification().data.digest as string;

  beforeAll(async () => {
    // A slow automatic sequencer: the tests decide when records are sequenced, through on-demand checkpoints.
    app = await startTestApp({ env: { LEDGER_SEQUENCER_INTERVAL_MS: '60000', LEDGER_CHECKPOINT_INTERVAL_SECONDS: '86400' } });
    senders = await registerSenders(app);
  });
  afterAll(() => app.close());

  it('publishes the signing key at /.well-known/jwks.json without authentication', async () => {
    const response = await app.http().get('/.well-known/jwks.json').expect(200);
    expect(response.body.keys).toEqual([expect.objectContaining({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig', kid: expect.any(String) })]);
    expect(response.body.keys[0]).not.toHaveProperty('d');
  });

  it('answers with a problem while no checkpoint exists', async () => {
    problemOf(await app.get('/v1/ledger/checkpoints/latest'), 409, 'no-checkpoint');
  });

  it('gives every accepted record and every kept conflict a gapless sequence number and signs a checkpoint on demand', async () => {
    await senders.as.event(aVerification({ digest }), { id: 'v-1' }).expect(202);
    await senders.as.event(aConsent({ digest }), { id: 'c-1' }).expect(202);
    await senders.as.event(aConsent({ digest, decision: 'denied' }), { id: 'c-1' }).expect(409);
    await senders.tokens.event(aToken({ digest }), { id: 't-1' }).expect(202);
    const checkpoint = await checkpointNow(app);
    expect(checkpoint.tree_size).toBe(4);
    const entries = await app.db.rows<{ seq: string; record_kind: string }>('SELECT seq, record_kind FROM ledger_entries ORDER BY seq');
    expect(entries.map((entry) => Number(entry.seq))).toEqual([0, 1, 2, 3]);
    expect(entries.filter((entry) => entry.record_kind === 'conflict')).toHaveLength(1);

    const jwks = (await app.http().get('/.well-known/jwks.json').expect(200)).body;
    const { payload } = await compactVerify(checkpoint.jws, createLocalJWKSet(jwks));
    expect(JSON.parse(Buffer.from(payload).toString())).toEqual({ log: 'jartrail', tree_size: 4, root_hash: checkpoint.root_hash, issued_at: checkpoint.issued_at });
    expect((await app.get('/v1/ledger/checkpoints/latest').expect(200)).body).toEqual(checkpoint);
  });

  it('shows each record of a chain with its sequence number and the checkpoint covering it', async () => {
    await senders.tokens.event(aToken({ digest }), { id: 't-2' }).expect(202);
    const chain = (await app.get(`/v1/chains/${digest}`).expect(200)).body;
    const latest = (await app.get('/v1/ledger/checkpoints/latest').expect(200)).body;
    expect(chain.request_object.verifications[0].ledger).toEqual({
      seq: 0,
      checkpoint: { tree_size: latest.tree_size, root_hash: latest.root_hash, issued_at: latest.issued_at },
      payload_purged: null,
    });
    const pendingToken = chain.tokens.find((token: { event_id: string }) => token.event_id === 't-2');
    expect(pendingToken.ledger).toEqual({ seq: null, checkpoint: null, payload_purged: null });
  });

  it('proves inclusion of any record and consistency between checkpoints, and the offline verifier accepts both', async () => {
    const first = (await app.get('/v1/ledger/checkpoints/latest').expect(200)).body;
    const second = await checkpointNow(app);
    expect(second.tree_size).toBe(5);
    const jwks = (await app.http().get('/.well-known/jwks.json').expect(200)).body;
    for (let seq = 0; seq < second.tree_size; seq++) {
      const proof = (await app.get(`/v1/ledger/proofs/inclusion?seq=${seq}`).expect(200)).body;
      expect(proof).toMatchObject({ kind: 'inclusion_proof', ledger_seq: seq, tree_size: 5, root_hash: second.root_hash, checkpoint: second });
      expect(await verifyDocument(proof, jwks)).toMatchObject({ ok: true });
    }
    const consistency = (await app.get(`/v1/ledger/proofs/consistency?from=${first.tree_size}&to=${second.tree_size}`).expect(200)).body;
    expect(consistency.from.checkpoint).toEqual(first);
    expect(await verifyDocument(consistency, jwks)).toMatchObject({ ok: true });
    const old = (await app.get(`/v1/ledger/proofs/inclusion?seq=1&tree_size=${first.tree_size}`).expect(200)).body;
    expect(await verifyDocument(old, jwks)).toMatchObject({ ok: true });
  });

  it('lists checkpoints newest first with keyset pagination', async () => {
    const page1 = (await app.get('/v1/ledger/checkpoints?limit=1').expect(200)).body;
    expect(page1.items.map((item: { tree_size: number }) => item.tree_size)).toEqual([5]);
    const page2 = (await app.get(`/v1/ledger/checkpoints?limit=1&cursor=${page1.next_cursor}`).expect(200)).body;
    expect(page2).toEqual({ items: [expect.objectContaining({ tree_size: 4 })], next_cursor: null });
    expect(fieldsOf(problemOf(await app.get('/v1/ledger/checkpoints?cursor=bm9wZQ'), 400, 'invalid-request'))).toEqual([['cursor', 'invalid_cursor']]);
  });

  it('refuses bad positions with a problem naming the field, never a 500', async () => {
    expect(fieldsOf(problemOf(await app.get('/v1/ledger/proofs/inclusion?seq=0&tree_size=999'), 422, 'not-in-ledger'))).toEqual([['tree_size', 'beyond_tree']]);
    expect(fieldsOf(problemOf(await app.get('/v1/ledger/proofs/inclusion?seq=99'), 422, 'not-in-ledger'))).toEqual([['seq', 'not_sequenced']]);
    expect(fieldsOf(problemOf(await app.get('/v1/ledger/proofs/inclusion?seq=4&tree_size=4'), 422, 'not-in-ledger'))).toEqual([['seq', 'not_in_tree']]);
    expect(fieldsOf(problemOf(await app.get('/v1/ledger/proofs/inclusion?seq=-1'), 400, 'invalid-request')).map(([field]) => field)).toEqual(['seq']);
    expect(fieldsOf(problemOf(await app.get('/v1/ledger/proofs/inclusion'), 400, 'invalid-request')).map(([field]) => field)).toEqual(['seq']);
    expect(fieldsOf(problemOf(await app.get('/v1/ledger/proofs/consistency?from=3&to=2'), 400, 'invalid-request')).map(([field]) => field)).toEqual(['from']);
    expect(fieldsOf(problemOf(await app.get('/v1/ledger/proofs/consistency?from=1&to=999'), 422, 'not-in-ledger'))).toEqual([['to', 'beyond_tree']]);
  });

  it('keeps reads to audit:read and verification, checkpoints and rotation to audit:admin', async () => {
    const reader = await issueApiKey(app, ['audit:read']);
    await app.get('/v1/ledger/checkpoints/latest', reader.key).expect(200);
    problemOf(await app.get('/v1/ledger/verify', reader.key), 403, 'forbidden');
    problemOf(await app.http().post('/v1/ledger/checkpoints').set('authorization', `Bearer ${reader.key}`), 403, 'forbidden');
    problemOf(await app.http().get('/v1/ledger/checkpoints/latest'), 401, 'unauthenticated');
  });

  it('rotates the signing key by kid: new checkpoints use the new key, old ones still verify against the JWKS', async () => {
    const before = (await app.get('/v1/ledger/checkpoints/latest').expect(200)).body;
    const rotated = (await app.http().post('/v1/ledger/signing-keys').set('authorization', `Bearer ${app.adminKey}`).expect(201)).body;
    expect(rotated.kid).not.toBe(before.kid);
    await senders.as.event(aVerification(), { id: 'v-after-rotation' }).expect(202);
    const after = await checkpointNow(app);
    expect(after.kid).toBe(rotated.kid);
    const jwks = (await app.http().get('/.well-known/jwks.json').expect(200)).body;
    expect(jwks.keys.map((key: { kid: string }) => key.kid).sort()).toEqual([before.kid, rotated.kid].sort());
    expect(await verifyDocument({ ...before }, jwks)).toMatchObject({ ok: true });
    expect(await verifyDocument({ ...after }, jwks)).toMatchObject({ ok: true });
    expect(await verifyLedger(app)).toMatchObject({ ok: true, tree_size: 6, first_failure: null });
  });

  it('exports a chain as an evidence bundle that the offline verifier accepts', async () => {
    const bundle = (await app.get(`/v1/chains/${digest}/evidence`).expect(200)).body;
    expect(bundle.records.map((record: { leaf: { event_id: string } }) => record.leaf.event_id).sort()).toEqual(['c-1', 't-1', 't-2', 'v-1']);
    expect(bundle.pending).toEqual([]);
    expect(await verifyDocument(bundle)).toMatchObject({ ok: true });
  });

  it('serves proofs only against signed checkpoints: a tree size none covers is a 422 naming the field', async () => {
    // A record sequenced, but under no checkpoint yet (the periodic run, not an on-demand one).
    await senders.as.event(aVerification(), { id: 'v-unsigned' }).expect(202);
    expect(await app.app.get(LedgerSequencerService).run({ wait: true, checkpoint: 'when_due' })).toMatchObject({ sequenced: 1, treeSize: 7, checkpoint: undefined });
    const latest = (await app.get('/v1/ledger/checkpoints/latest').expect(200)).body;
    expect(latest.tree_size).toBe(6);
    const noCheckpoint = (path: string) => app.get(path).then((response) => fieldsOf(problemOf(response, 422, 'not-in-ledger')));
    expect(await noCheckpoint('/v1/ledger/proofs/inclusion?seq=6')).toEqual([['seq', 'no_checkpoint']]);
    expect(await noCheckpoint('/v1/ledger/proofs/inclusion?seq=6&tree_size=7')).toEqual([['tree_size', 'no_checkpoint']]);
    expect(await noCheckpoint('/v1/ledger/proofs/inclusion?seq=1&tree_size=3')).toEqual([['tree_size', 'no_checkpoint']]);
    expect(await noCheckpoint('/v1/ledger/proofs/consistency?from=2&to=6')).toEqual([['from', 'no_checkpoint']]);
    expect(await noCheckpoint('/v1/ledger/proofs/consistency?from=4&to=7')).toEqual([['to', 'no_checkpoint']]);
    // Every proof served carries its signed checkpoint, and verifies against the JWKS; from the empty tree too.
    const jwks = (await app.http().get('/.well-known/jwks.json').expect(200)).body;
    const proof = (await app.get('/v1/ledger/proofs/inclusion?seq=5').expect(200)).body;
    expect(proof.checkpoint).toEqual(latest);
    expect(await verifyDocument(proof, jwks)).toMatchObject({ ok: true, keys: 'given' });
    const consistency = (await app.get('/v1/ledger/proofs/consistency?from=0').expect(200)).body;
    expect(consistency).toMatchObject({ from: { tree_size: 0, checkpoint: null }, to: { tree_size: 6, checkpoint: latest } });
    expect(await verifyDocument(consistency, jwks)).toMatchObject({ ok: true });
  });
});

describe('the ledger signing with a key given as a file', () => {
  let app: TestApp;
  let dir: string;
  let kid: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'jartrail-key-'));
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    kid = await calculateJwkThumbprint(await exportJWK(publicKey));
    const file = join(dir, 'ledger.jwk');
    await writeFile(file, JSON.stringify(await exportJWK(privateKey)), { mode: 0o600 });
    app = await startTestApp({ env: { LEDGER_SIGNING_KEY_FILE: file, LEDGER_SEQUENCER_INTERVAL_MS: '60000' } });
  });
  afterAll(async () => {
    await app.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('signs ES256 checkpoints with it, publishes its public part only, and refuses a rotation through the API', async () => {
    const senders = await registerSenders(app);
    await senders.as.event(aVerification(), { id: 'v-file-key' }).expect(202);
    const checkpoint = await checkpointNow(app);
    expect(checkpoint.kid).toBe(kid);
    const jwks = (await app.http().get('/.well-known/jwks.json').expect(200)).body;
    expect(jwks.keys).toEqual([expect.objectContaining({ kid, kty: 'EC', crv: 'P-256', alg: 'ES256' })]);
    expect(jwks.keys[0]).not.toHaveProperty('d');
    expect(await app.db.rows('SELECT kid FROM ledger_signing_keys')).toEqual([{ kid }]);
    expect(await app.db.rows('SELECT kid FROM ledger_signing_key_secrets')).toEqual([]);
    expect(await verifyDocument(checkpoint, jwks)).toMatchObject({ ok: true });
    problemOf(await app.http().post('/v1/ledger/signing-keys').set('authorization', `Bearer ${app.adminKey}`), 409, 'conflict');
  });
});
