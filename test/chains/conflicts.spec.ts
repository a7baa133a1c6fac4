import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EvidenceBundle } from '../../src/ledger/verification/documents';
import { verifyDocument } from '../../src/ledger/verification/evidence-verifier';
import { startTestApp, type TestApp } from '../support/app';
import { aConsent, aVerification, registerSenders } from '../support/events';
import { checkpointNow } from '../support/ledger';
import { runCli } from '../support/process';

/** `jartrail verify FILE --jwks JWKS`: the built CLI in its own process, with no network and no database. */
const cliVerify = (file: string, jwksFile: string) => runCli(['verify', file, '--jwks', jwksFile]);

describe('conflicts kept as evidence are shown to auditors: in the chain document and in the evidence bundle', () => {
  let app: TestApp;
  let dir: string;
  const verification = aVerification();
  const digest = verification.data.digest as string;
  const consent = aConsent({ digest, decision: 'approved' });
  const changed = { ...consent, data: { ...consent.data, decision: 'denied' } };
  let chain: Record<string, any>;
  let bundle: EvidenceBundle;

  beforeAll(async () => {
    // The tests decide when records are sequenced, through on-demand checkpoints.
    app = await startTestApp({ env: { LEDGER_SEQUENCER_INTERVAL_MS: '60000', LEDGER_CHECKPOINT_INTERVAL_SECONDS: '86400' } });
    dir = await mkdtemp(join(tmpdir(), 'jartrail-conflicts-'));
    const { as } = await registerSenders(app);
    await as.event(verification, { id: 'ver-1' }).expect(202);
    await as.event(consent, { id: 'con-1' }).expect(202);
    await as.event(changed, { id: 'con-1' }).expect(409);
    await checkpointNow(app);
    chain = (await app.get(`/v1/chains/${digest}`).expect(200)).body;
    bundle = (await app.get(`/v1/chains/${digest}/evidence`).expect(200)).body;
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    await app.close();
  });

  it('lists the refused body in the chain document with its own ledger seq and the record it contradicts', async () => {
    const [stored] = await app.db.rows<{ seq: string }>(`SELECT l.seq FROM ledger_entries l WHERE l.record_kind = 'conflict'`);
    const consentSeq = chain.consents[0].ledger.seq;
    expect(chain.conflicts).toEqual([
      {
        event_id: 'con-1',
        source: { id: expect.any(String), name: expect.any(String) },
        type: 'consent.decision',
        emitted_at: changed.timestamp,
        recorded_at: expect.any(String),
        data: expect.objectContaining({ decision: 'denied' }),
        conflicts_with: { event_id: 'con-1', ledger_seq: consentSeq },
        ledger: { seq: Number(stored!.seq), checkpoint: expect.objectContaining({ tree_size: 3 }), payload_purged: null },
      },
    ]);
    // The first body stays the record.
    expect(chain.consents.map((record: any) => record.data.decision)).toEqual(['approved']);
    // The conflict's seq is enough to read it: its inclusion proof holds the kept body's leaf.
    const proof = (await app.get(`/v1/ledger/proofs/inclusion?seq=${chain.conflicts[0].ledger.seq}`).expect(200)).body;
    expect(proof.leaf).toMatchObject({ kind: 'conflict', event_id: 'con-1', original_seq: expect.any(String) });
  });

  it('exports the conflict in the evidence bundle with its ledger entry and inclusion proof', async () => {
    expect(bundle.records.map((record) => record.leaf?.event_id).sort()).toEqual(['con-1', 'ver-1']);
    expect(bundle.conflicts).toEqual([
      {
        ledger_seq: chain.conflicts[0].ledger.seq,
        leaf: expect.objectContaining({ kind: 'conflict', event_id: 'con-1', original_seq: bundle.records.find((record) => record.leaf?.event_id === 'con-1')!.leaf!.record_seq }),
        payload: expect.objectContaining({ decision: 'denied' }),
        salt: expect.any(String),
        inclusion_proof: expect.any(Array),
      },
    ]);
    expect(bundle.pending).toEqual([]);
  });

  it('verifies the bundle offline with `jartrail verify`, conflicts included', async () => {
    const jwks = (await app.http().get('/.well-known/jwks.json').expect(200)).body;
    const jwksFile = join(dir, 'jwks.json');
    await writeFile(jwksFile, JSON.stringify(jwks));
    const bundleFile = join(dir, 'bundle.json');
    await writeFile(bundleFile, JSON.stringify(bundle));

    const verified = await cliVerify(bundleFile, jwksFile);
    expect(verified).toMatchObject({ code: 0 });
    const report = JSON.parse(verified.stdout) as { ok: boolean; checks: { subject: string; ok: boolean }[] };
    expect(report.ok).toBe(true);
    expect(report.checks.filter((check) => check.subject.startsWith(`conflict ledger_seq=${bundle.conflicts![0]!.ledger_seq}`))).not.toHaveLength(0);
  });

  it('fails the offline verification when a kept conflict is altered, passed off as a record, or dropped from its record', async () => {
    const conflict = bundle.conflicts![0]!;
    const altered = { ...bundle, conflicts: [{ ...conflict, payload: { ...conflict.payload, decision: 'approved' } }] };
    expect(await verifyDocument(altered)).toMatchObject({ ok: false, first_failure: { subject: expect.stringMatching(/^conflict ledger_seq=/), detail: expect.stringContaining('payload differs') } });

    const passedOff = { ...bundle, records: [...bundle.records, conflict], conflicts: [] };
    expect(await verifyDocument(passedOff)).toMatchObject({ ok: false, first_failure: { detail: 'the leaf is of kind conflict, not event' } });

    const orphaned = { ...bundle, records: bundle.records.filter((record) => record.leaf?.event_id !== 'con-1') };
    expect(await verifyDocument(orphaned)).toMatchObject({ ok: false, first_failure: { detail: expect.stringContaining('not in this bundle') } });
  });
});
