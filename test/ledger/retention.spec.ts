import { RetentionService } from '../../src/ledger/retention.service';
import { verifyDocument } from '../../src/ledger/verification/evidence-verifier';
import { startTestApp, type TestApp } from '../support/app';
import { aConsent, aVerification, registerSenders } from '../support/events';
import { checkpointNow, verifyLedger } from '../support/ledger';
import { drainVerifications } from '../support/request-objects';

describe('retention', () => {
  let app: TestApp;
  let senders: Awaited<ReturnType<typeof registerSenders>>;
  let digest: string;

  beforeAll(async () => {
    app = await startTestApp({ env: { LEDGER_SEQUENCER_INTERVAL_MS: '60000', RETENTION_PAYLOAD_DAYS: '30', RETENTION_POLICY: 'gdpr-30d' } });
    senders = await registerSenders(app);
    const verification = aVerification();
    digest = verification.data.digest as string;
    await senders.as.event(verification, { id: 'v-1' }).expect(202);
    await drainVerifications(app); // no request object in the event: not_verifiable, judged before the purge
    await senders.as.event(aConsent({ digest }), { id: 'c-1' }).expect(202);
    await senders.as.event(aConsent({ digest, decision: 'denied' }), { id: 'c-1' }).expect(409);
    await checkpointNow(app);
  });
  afterAll(() => app.close());

  it('stops at the first record recorded after the cutoff', async () => {
    expect(await app.app.get(RetentionService).purge('gdpr-30d', new Date(Date.now() - 3_600_000), 1)).toBe(0);
    expect(await app.db.rows(`SELECT count(*)::int AS n FROM ledger_purges`)).toEqual([{ n: 0 }]);
  });

  it('blanks ledgered payloads older than the period, in batches, and records each purge', async () => {
    await senders.as.event(aConsent({ digest }), { id: 'c-late' }).expect(202); // committed, not yet sequenced: kept
    const purged = await app.app.get(RetentionService).purge('gdpr-30d', new Date(Date.now() + 60_000), 1);
    expect(purged).toBe(3);
    expect(await app.db.rows(`SELECT event_id, data IS NULL AS purged FROM events ORDER BY seq`)).toEqual([
      { event_id: 'v-1', purged: true },
      { event_id: 'c-1', purged: true },
      { event_id: 'c-late', purged: false },
    ]);
    expect(await app.db.rows(`SELECT data IS NULL AS purged FROM event_conflicts`)).toEqual([{ purged: true }]);
    // One row per batch, by ledger seq range: the walk follows the ledger and stops before the unsequenced record.
    const purges = await app.db.rows<{ policy: string; from_ledger_seq: string; to_ledger_seq: string; records: number }>(
      `SELECT policy, from_ledger_seq, to_ledger_seq, records FROM ledger_purges ORDER BY id`,
    );
    expect(purges.map((purge) => [purge.policy, Number(purge.from_ledger_seq), Number(purge.to_ledger_seq), purge.records])).toEqual([
      ['gdpr-30d', 0, 0, 1],
      ['gdpr-30d', 1, 1, 1],
      ['gdpr-30d', 2, 2, 1],
    ]);
    // Nothing is old enough any more: a second run walks nothing and records nothing.
    expect(await app.app.get(RetentionService).purge('gdpr-30d', new Date(Date.now() + 60_000), 10)).toBe(0);
    expect(await app.db.rows(`SELECT count(*)::int AS n FROM ledger_purges`)).toEqual([{ n: 3 }]);
  });

  it('leaves every proof valid: the full verification and the offline verifier pass after the purge', async () => {
    await checkpointNow(app);
    expect(await verifyLedger(app)).toMatchObject({ ok: true, tree_size: 4, first_failure: null });
    const bundle = (await app.get(`/v1/chains/${digest}/evidence`).expect(200)).body;
    expect(bundle.records.filter((record: { payload: unknown }) => record.payload === null)).toHaveLength(2);
    expect(bundle.conflicts).toEqual([expect.objectContaining({ ledger_seq: 2, payload: null, leaf: expect.objectContaining({ kind: 'conflict' }) })]);
    expect(await verifyDocument(bundle)).toMatchObject({ ok: true });
    for (let seq = 0; seq < 4; seq++) expect(await verifyDocument((await app.get(`/v1/ledger/proofs/inclusion?seq=${seq}`).expect(200)).body, bundle.jwks)).toMatchObject({ ok: true });
  });

  it('shows "payload purged under policy X" in the chain document', async () => {
    const chain = (await app.get(`/v1/chains/${digest}`).expect(200)).body;
    const [verification] = chain.request_object.verifications;
    expect(verification.data).toBeNull();
    // The verdicts outlive the payload: jartrail's, and the AS's as jartrail's verdict row copied it.
    expect(verification.independent).toMatchObject({ status: 'not_verifiable', as_verdict: 'accepted' });
    expect(verification.ledger.payload_purged).toEqual({ policy: 'gdpr-30d', purged_at: expect.any(String), note: 'payload purged under policy gdpr-30d' });
    expect(chain.timeline.find((entry: { event_id: string }) => entry.event_id === 'v-1').summary).toBe('request_object.verification: payload purged under policy gdpr-30d');
    expect(chain.consents.find((consent: { event_id: string }) => consent.event_id === 'c-late').ledger.payload_purged).toBeNull();
    // The kept conflict is purged like the records, and still shows where it stands in the ledger.
    expect(chain.conflicts).toEqual([
      expect.objectContaining({ event_id: 'c-1', data: null, conflicts_with: { event_id: 'c-1', ledger_seq: 1 }, ledger: expect.objectContaining({ seq: 2, payload_purged: expect.objectContaining({ policy: 'gdpr-30d' }) }) }),
    ]);
  });

  it('lets nothing but the purge function change evidence, and that function nothing but payloads', async () => {
    await expect(app.db.pool.query(`UPDATE events SET data = NULL`)).rejects.toMatchObject({ message: expect.stringMatching(/append-only/) });
    const client = await app.db.pool.connect();
    try {
      // The old gate was a setting, and any session (here even the superuser's) can set one: no longer a way in.
      for (const update of [`UPDATE events SET data = NULL WHERE event_id = 'c-late'`, `UPDATE events SET event_id = 'other' WHERE event_id = 'c-late'`]) {
        await client.query('BEGIN');
        await client.query(`SELECT set_config('jartrail.purge_policy', 'forged', true)`);
        await expect(client.query(update)).rejects.toMatchObject({ message: expect.stringMatching(/append-only/) });
        await client.query('ROLLBACK');
      }
    } finally {
      client.release();
    }
    expect(await app.db.rows(`SELECT data IS NULL AS purged FROM events WHERE event_id = 'c-late'`)).toEqual([{ purged: false }]);
    await expect(app.db.pool.query(`DELETE FROM ledger_purges`)).rejects.toMatchObject({ message: expect.stringMatching(/append-only/) });
  });

  it('runs the purge function as the purger role, which logs in never, and takes only the next range, of old records', async () => {
    expect(await app.db.rows(`SELECT rolcanlogin, rolsuper FROM pg_roles WHERE rolname = 'jartrail_purger'`)).toEqual([{ rolcanlogin: false, rolsuper: false }]);
    expect(await app.db.rows(`SELECT pg_get_userbyid(proowner) AS owner, prosecdef FROM pg_proc WHERE proname = 'jartrail_purge_payloads'`)).toEqual([
      { owner: 'jartrail_purger', prosecdef: true },
    ]);
    const [{ kid }] = await app.db.rows<{ kid: string }>(`SELECT kid FROM ledger_signing_keys LIMIT 1`);
    const purge = (from: number, to: number, before: string) => app.db.pool.query(`SELECT jartrail_purge_payloads('x', $1, $2, $3, $4, 'a.b.c')`, [before, from, to, kid]);
    // The last purge ended at ledger seq 2: a range that skips or repeats is refused, and so is one with a record too new.
    await expect(purge(2, 3, '2099-01-01')).rejects.toMatchObject({ message: expect.stringMatching(/next purge starts at ledger seq 3/) });
    await expect(purge(4, 4, '2099-01-01')).rejects.toMatchObject({ message: expect.stringMatching(/next purge starts at ledger seq 3/) });
    await expect(purge(3, 3, '2000-01-01')).rejects.toMatchObject({ message: expect.stringMatching(/recorded at or after the cutoff/) });
  });
});
