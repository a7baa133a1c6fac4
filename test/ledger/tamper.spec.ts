import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompactSign, exportJWK, generateKeyPair } from 'jose';
import { canonicalJson } from '../../src/common/canonical-json';
import { verifyDocument } from '../../src/ledger/verification/evidence-verifier';
import type { EvidenceBundle, PublicJwks } from '../../src/ledger/verification/documents';
import { linkNow, startTestApp, type TestApp } from '../support/app';
import { aConsent, aToken, aVerification, registerSenders } from '../support/events';
import { checkpointNow, tamper, verifyLedger } from '../support/ledger';
import { REPOSITORY_ROOT } from '../support/process';

/** `jartrail verify FILE [--jwks JWKS]` as a user runs it: the built CLI, in its own process, with no network. */
function cliVerify(file: string, jwksFile: string | undefined): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const args = ['verify', file, ...(jwksFile === undefined ? [] : ['--jwks', jwksFile])];
    const child = spawn(process.execPath, [join(REPOSITORY_ROOT, 'bin', 'jartrail.js'), ...args], { env: { PATH: process.env.PATH ?? '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

interface Scenario {
  readonly name: string;
  readonly tamper: (app: TestApp) => Promise<void>;
  /** What the service's verify must name first. */
  readonly service: { what: string; ledger_seq?: number; event_id?: string; tree_size?: number; reason: RegExp };
  /** The subject of the offline verifier's first failure. */
  readonly offline: RegExp;
  /** Named too, after the first failure: by the service, and offline (a subject). */
  readonly alsoNamed?: { service: { what: string; ledger_seq?: number; event_id?: string; reason: RegExp }; offline: RegExp };
}

/** A superuser's own session, in a transaction: whatever `steps` do commits together. */
async function asSuperuser(app: TestApp, steps: readonly string[]): Promise<void> {
  const client = await app.db.pool.connect();
  try {
    await client.query('BEGIN');
    for (const step of steps) await client.query(step);
    await client.query('COMMIT');
  } finally {
    client.release();
  }
}

/**
 * One chain (verification v-1, consent c-1, tokens t-1 and t-2: ledger seqs 0 to 3) under a signed checkpoint,
 * then one change made around the service, as the superuser with triggers and foreign keys off. Each change must
 * be caught by the service's full verification and by the offline verifier over an exported bundle, both naming
 * the record (or the checkpoint).
 */
const SCENARIOS: Scenario[] = [
  {
    name: 'a changed payload',
    tamper: (app) => tamper(app, `UPDATE events SET data = jsonb_set(data, '{decision}', '"denied"') WHERE event_id = 'c-1'`),
    service: { what: 'record', ledger_seq: 1, event_id: 'c-1', reason: /payload differs/ },
    offline: /^record ledger_seq=1 event_id=c-1$/,
  },
  {
    name: 'a changed field',
    tamper: (app) => tamper(app, `UPDATE events SET occurred_at = occurred_at - interval '1 hour' WHERE event_id = 't-1'`),
    service: { what: 'record', ledger_seq: 2, event_id: 't-1', reason: /fields differ/ },
    offline: /^record ledger_seq=2 event_id=t-1$/,
  },
  {
    name: 'a deleted record',
    tamper: (app) => tamper(app, `DELETE FROM events WHERE event_id = 'c-1'`),
    service: { what: 'record', ledger_seq: 1, reason: /missing \(deleted\)/ },
    offline: /^record ledger_seq=1 event_id=\?$/,
  },
  {
    name: 'two swapped records',
    tamper: (app) =>
      tamper(
        app,
        `UPDATE events e SET data = o.data, fingerprint = o.fingerprint, occurred_at = o.occurred_at
         FROM events o WHERE (e.event_id, o.event_id) IN (('t-1', 't-2'), ('t-2', 't-1'))`,
      ),
    service: { what: 'record', ledger_seq: 2, event_id: 't-1', reason: /payload differs/ },
    offline: /^record ledger_seq=2 event_id=t-1$/,
  },
  {
    name: 'a payload blanked with the triggers off (session_replication_role = replica)',
    tamper: (app) => tamper(app, `UPDATE events SET data = NULL WHERE event_id = 'c-1'`),
    service: { what: 'record', ledger_seq: 1, event_id: 'c-1', reason: /blanked, but no signed purge covers/ },
    offline: /^record ledger_seq=1 event_id=c-1$/,
  },
  {
    name: 'a payload blanked with the append-only trigger disabled',
    tamper: (app) =>
      asSuperuser(app, [
        'ALTER TABLE events DISABLE TRIGGER trg_events_append_only',
        `UPDATE events SET data = NULL WHERE event_id = 't-2'`,
        'ALTER TABLE events ENABLE TRIGGER trg_events_append_only',
      ]),
    service: { what: 'record', ledger_seq: 3, event_id: 't-2', reason: /blanked, but no signed purge covers/ },
    offline: /^record ledger_seq=3 event_id=t-2$/,
  },
  {
    name: 'payloads blanked through the purge function under a forged signature',
    tamper: async (app) => {
      const [{ kid }] = await app.db.rows<{ kid: string }>(`SELECT kid FROM ledger_signing_keys LIMIT 1`);
      const { privateKey } = await generateKeyPair('EdDSA');
      const claims = { log: 'jartrail', policy: 'forged', from_ledger_seq: 0, to_ledger_seq: 1, recorded_before: '2099-01-01T00:00:00.000000Z' };
      const jws = await new CompactSign(Buffer.from(canonicalJson(claims))).setProtectedHeader({ alg: 'EdDSA', kid, typ: 'jartrail-purge+json' }).sign(privateKey);
      await app.db.pool.query(`SELECT jartrail_purge_payloads('forged', '2099-01-01T00:00:00Z', 0, 1, $1, $2)`, [kid, jws]);
    },
    service: { what: 'purge', ledger_seq: 0, reason: /signature does not verify/ },
    offline: /^purge from_ledger_seq=0 to_ledger_seq=1 policy=forged$/,
    alsoNamed: { service: { what: 'record', ledger_seq: 1, event_id: 'c-1', reason: /no signed purge covers/ }, offline: /^record ledger_seq=1 event_id=c-1$/ },
  },
  {
    name: 'a purge row inserted around the service, and the payload it claims to cover blanked',
    tamper: (app) =>
      tamper(
        app,
        `WITH purge AS (
           INSERT INTO ledger_purges (policy, from_ledger_seq, to_ledger_seq, records, recorded_before, kid, jws)
           SELECT 'forged', 2, 2, 1, now(), kid, 'eyJhbGciOiJFZERTQSJ9.e30.AAAA' FROM ledger_signing_keys LIMIT 1
         )
         UPDATE events SET data = NULL WHERE event_id = 't-1'`,
      ),
    service: { what: 'purge', ledger_seq: 2, reason: /signature does not verify/ },
    offline: /^purge from_ledger_seq=2 to_ledger_seq=2 policy=forged$/,
    alsoNamed: { service: { what: 'record', ledger_seq: 2, event_id: 't-1', reason: /no signed purge covers/ }, offline: /^record ledger_seq=2 event_id=t-1$/ },
  },
  {
    name: 'a forged checkpoint signature',
    tamper: async (app) => {
      const [checkpoint] = await app.db.rows<{ tree_size: string; kid: string; root_hash: Buffer; issued_at: Date }>(
        `SELECT tree_size, kid, root_hash, to_char(issued_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS issued_at FROM ledger_checkpoints ORDER BY tree_size DESC LIMIT 1`,
      );
      const { privateKey } = await generateKeyPair('EdDSA');
      const claims = { log: 'jartrail', tree_size: Number(checkpoint!.tree_size), root_hash: checkpoint!.root_hash.toString('base64url'), issued_at: checkpoint!.issued_at };
      const forged = await new CompactSign(Buffer.from(canonicalJson(claims))).setProtectedHeader({ alg: 'EdDSA', kid: checkpoint!.kid, typ: 'jartrail-checkpoint+json' }).sign(privateKey);
      await tamper(app, `UPDATE ledger_checkpoints SET jws = $1 WHERE tree_size = $2`, [forged, checkpoint!.tree_size]);
    },
    service: { what: 'checkpoint', tree_size: 4, reason: /signature does not verify/ },
    offline: /^checkpoint tree_size=4 /,
  },
];

describe.each(SCENARIOS)('tampering around the service: $name', (scenario) => {
  let app: TestApp;
  let dir: string;
  let digest: string;
  let trustedJwks: PublicJwks;

  beforeAll(async () => {
    app = await startTestApp({ env: { LEDGER_SEQUENCER_INTERVAL_MS: '60000', LEDGER_CHECKPOINT_INTERVAL_SECONDS: '86400' } });
    dir = await mkdtemp(join(tmpdir(), 'jartrail-tamper-'));
    const senders = await registerSenders(app);
    const verification = aVerification();
    digest = verification.data.digest as string;
    await senders.as.event(verification, { id: 'v-1' }).expect(202);
    await senders.as.event(aConsent({ digest }), { id: 'c-1' }).expect(202);
    await senders.tokens.event(aToken({ digest }), { id: 't-1' }).expect(202);
    await senders.tokens.event(aToken({ digest }), { id: 't-2' }).expect(202);
    await linkNow(app);
    const checkpoint = await checkpointNow(app);
    if (checkpoint.tree_size !== 4) throw new Error(`the setup expected a tree of 4, not ${checkpoint.tree_size}`);
    // The auditor keeps the public keys from before, from a channel the operator does not control.
    trustedJwks = (await app.http().get('/.well-known/jwks.json').expect(200)).body;
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    await app.close();
  });

  it('verifies before the change, in the service and offline', async () => {
    expect(await verifyLedger(app)).toMatchObject({ ok: true, tree_size: 4, checkpoints_checked: 1, first_failure: null });
    const bundle = (await app.get(`/v1/chains/${digest}/evidence`).expect(200)).body as EvidenceBundle;
    expect(await verifyDocument(bundle, trustedJwks)).toMatchObject({ ok: true });
  });

  it('is detected by the service verification, naming the first record that differs', async () => {
    await scenario.tamper(app);
    const report = await verifyLedger(app);
    expect(report.ok).toBe(false);
    expect(report.first_failure).toMatchObject({ ...scenario.service, reason: expect.stringMatching(scenario.service.reason) });
    const alsoNamed = scenario.alsoNamed ? [scenario.alsoNamed.service] : [];
    expect(report.failures).toEqual(expect.arrayContaining(alsoNamed.map(({ reason, ...named }) => expect.objectContaining({ ...named, reason: expect.stringMatching(reason) }))));
  });

  it('is detected offline by `jartrail verify` over an exported bundle, naming the record', async () => {
    const bundle = (await app.get(`/v1/chains/${digest}/evidence`).expect(200)).body as EvidenceBundle;
    const report = await verifyDocument(bundle, trustedJwks);
    expect(report.ok).toBe(false);
    expect(report.first_failure?.subject).toMatch(scenario.offline);
    const alsoNamed = scenario.alsoNamed ? [scenario.alsoNamed.offline] : [];
    expect(report.checks.filter((check) => !check.ok).map((check) => check.subject)).toEqual(expect.arrayContaining(alsoNamed.map((subject) => expect.stringMatching(subject))));

    const bundleFile = join(dir, 'bundle.json');
    const jwksFile = join(dir, 'jwks.json');
    await writeFile(bundleFile, JSON.stringify(bundle));
    await writeFile(jwksFile, JSON.stringify(trustedJwks));
    const cli = await cliVerify(bundleFile, jwksFile);
    expect(cli.code).toBe(1);
    expect(JSON.parse(cli.stdout).first_failure.subject).toMatch(scenario.offline);
    expect(cli.stderr).toMatch(/NOT VERIFIED/);
  });
});

describe('offline verification trusts only the keys it is given', () => {
  let app: TestApp;
  let dir: string;
  let bundle: EvidenceBundle;
  let trustedJwks: PublicJwks;

  beforeAll(async () => {
    app = await startTestApp({ env: { LEDGER_SEQUENCER_INTERVAL_MS: '60000', LEDGER_CHECKPOINT_INTERVAL_SECONDS: '86400' } });
    dir = await mkdtemp(join(tmpdir(), 'jartrail-keys-'));
    const senders = await registerSenders(app);
    const verification = aVerification();
    await senders.as.event(verification, { id: 'v-1' }).expect(202);
    // Linked after commit: the chain exists once the linker has run (it 404ed under load when left to the background).
    await linkNow(app);
    await checkpointNow(app);
    trustedJwks = (await app.http().get('/.well-known/jwks.json').expect(200)).body;
    bundle = (await app.get(`/v1/chains/${verification.data.digest as string}/evidence`).expect(200)).body;
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    await app.close();
  });

  /** The bundle with its checkpoint re-signed by a forger's key, whose public part the forger ships inside. */
  async function forgedBundle(): Promise<EvidenceBundle> {
    const { privateKey, publicKey } = await generateKeyPair('EdDSA', { extractable: true });
    const kid = 'forger';
    const claims = { log: 'jartrail', tree_size: bundle.checkpoint.tree_size, root_hash: bundle.checkpoint.root_hash, issued_at: bundle.checkpoint.issued_at };
    const jws = await new CompactSign(Buffer.from(canonicalJson(claims))).setProtectedHeader({ alg: 'EdDSA', kid, typ: 'jartrail-checkpoint+json' }).sign(privateKey);
    return { ...bundle, checkpoint: { ...bundle.checkpoint, kid, jws }, jwks: { keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'EdDSA' }] } };
  }

  it('without --jwks, says loudly that it trusted the keys inside the file, and reports keys: document', async () => {
    const file = join(dir, 'bundle.json');
    await writeFile(file, JSON.stringify(bundle));
    const cli = await cliVerify(file, undefined);
    expect(cli.code).toBe(0);
    expect(JSON.parse(cli.stdout)).toMatchObject({ ok: true, keys: 'document' });
    expect(cli.stderr).toMatch(/WARNING: no --jwks given: the signatures were checked with the keys INSIDE THE FILE/);
  });

  it('with --jwks, trusts those keys alone, warns of nothing, and so refuses a bundle a forger re-signed', async () => {
    const jwksFile = join(dir, 'jwks.json');
    await writeFile(jwksFile, JSON.stringify(trustedJwks));
    const genuine = join(dir, 'genuine.json');
    await writeFile(genuine, JSON.stringify(bundle));
    const ok = await cliVerify(genuine, jwksFile);
    expect({ code: ok.code, report: JSON.parse(ok.stdout), stderr: ok.stderr }).toMatchObject({ code: 0, report: { ok: true, keys: 'given' }, stderr: '' });

    const forged = join(dir, 'forged.json');
    await writeFile(forged, JSON.stringify(await forgedBundle()));
    const fooled = await cliVerify(forged, undefined);
    expect(fooled.code).toBe(0); // the keys inside are the forger's: exactly what the warning is about
    expect(fooled.stderr).toMatch(/WARNING/);
    const refused = await cliVerify(forged, jwksFile);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout)).toMatchObject({ ok: false, keys: 'given', first_failure: { subject: expect.stringMatching(/^checkpoint tree_size=1 kid=forger$/) } });
  });
});
