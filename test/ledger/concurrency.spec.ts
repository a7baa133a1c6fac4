import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { verifyDocument } from '../../src/ledger/verification/evidence-verifier';
import { startTestApp, TEST_MASTER_KEY, type TestApp } from '../support/app';
import { aConsent, aToken, aVerification, type Envelope, registerSenders, type RegisteredSource, WebhookSender } from '../support/events';
import { checkpointNow, verifyLedger } from '../support/ledger';
import { type ServiceProcess, startServiceProcess } from '../support/process';

const LEDGER_ENV = { LEDGER_SEQUENCER_INTERVAL_MS: '20', LEDGER_SEQUENCER_BATCH: '7', LEDGER_CHECKPOINT_RECORDS: '15', LEDGER_CHECKPOINT_INTERVAL_SECONDS: '1' };

describe('the ledger with two service processes ingesting at once', () => {
  let inProcess: TestApp;
  let other: ServiceProcess;
  let sources: { as: RegisteredSource; tokens: RegisteredSource };

  beforeAll(async () => {
    // Small sequencer batches and frequent checkpoints, so that both processes' sequencers compete for the lock
    // many times while both take events.
    inProcess = await startTestApp({ env: LEDGER_ENV });
    other = await startServiceProcess({ DATABASE_URL: inProcess.db.url, JARTRAIL_MASTER_KEY: TEST_MASTER_KEY, LOG_LEVEL: 'warn', SOURCE_CACHE_TTL_MS: '0', ...LEDGER_ENV });
    const senders = await registerSenders(inProcess);
    sources = { as: senders.as.source, tokens: senders.tokens.source };
  }, 120_000);
  afterAll(async () => {
    await other?.stop();
    await inProcess?.close();
  });

  const senderFor = (source: RegisteredSource, replica: number) =>
    new WebhookSender(replica % 2 === 0 ? inProcess : ({ ...inProcess, http: () => request(other.url) } as TestApp), source);

  /** An ingest-shaped transaction that rolls back: it takes an identity value and queues nothing that survives. */
  async function rolledBackInsert(): Promise<void> {
    const client = await inProcess.db.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(
        `INSERT INTO events (source_id, event_id, type, emitted_at, occurred_at, fingerprint, data) VALUES ($1, $2, 'consent.decision', now(), now(), '\\x00', '{}')`,
        [sources.as.id, `rolled-back-${randomUUID()}`],
      );
      await new Promise((resolve) => setTimeout(resolve, 30));
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
  }

  it('gives committed records a gapless sequence, each exactly once, under checkpoints that are consistent with each other', async () => {
    const sent: { envelope: Envelope; source: RegisteredSource }[] = [];
    const singles: Promise<unknown>[] = [];
    for (let index = 0; index < 160; index++) {
      const envelope: Envelope = index % 3 === 0 ? aVerification() : index % 3 === 1 ? aConsent() : aToken({ digest: aVerification().data.digest });
      const source = envelope.type === 'token.issued' ? sources.tokens : sources.as;
      sent.push({ envelope, source });
      if (index < 120) singles.push(senderFor(source, index).event(envelope, { id: `e-${index}` }).expect(202));
      if (index % 10 === 0) singles.push(rolledBackInsert());
    }
    const batches = Array.from({ length: 6 }, (_, batch) =>
      senderFor(sources.as, batch).batch(Array.from({ length: 25 }, () => aVerification())).expect(200),
    );
    await Promise.all([...singles, ...batches]);
    // Then conflicting redeliveries of recorded events (kept as conflicts, which the ledger holds too), while more
    // new events arrive at both replicas.
    await Promise.all(
      sent.flatMap(({ envelope, source }, index) => {
        if (index >= 120) return [senderFor(source, index).event(envelope, { id: `e-${index}` }).expect(202)];
        const changed = { ...envelope, timestamp: new Date(Date.parse(envelope.timestamp) - 1000).toISOString() };
        return index % 20 === 0 ? [senderFor(source, index + 1).event(changed, { id: `e-${index}` }).expect(409)] : [];
      }),
    );

    const checkpoint = await checkpointNow(inProcess);
    const [{ events, conflicts }] = await inProcess.db.rows<{ events: string; conflicts: string }>(
      'SELECT (SELECT count(*) FROM events) AS events, (SELECT count(*) FROM event_conflicts) AS conflicts',
    );
    const total = Number(events) + Number(conflicts);
    expect(Number(conflicts)).toBeGreaterThan(0);
    expect(checkpoint.tree_size).toBe(total);
    const [ledger] = await inProcess.db.rows<{ n: string; min: string; max: string; distinct_records: string }>(
      `SELECT count(*) AS n, min(seq) AS min, max(seq) AS max, count(DISTINCT (record_kind, record_seq)) AS distinct_records FROM ledger_entries`,
    );
    expect(ledger).toEqual({ n: String(total), min: '0', max: String(total - 1), distinct_records: String(total) });
    expect(await inProcess.db.rows('SELECT * FROM ledger_pending')).toEqual([]);

    const checkpoints = (await inProcess.db.rows<{ tree_size: string }>('SELECT tree_size FROM ledger_checkpoints ORDER BY tree_size')).map((row) => Number(row.tree_size));
    expect(checkpoints.length).toBeGreaterThan(2);
    const jwks = (await inProcess.http().get('/.well-known/jwks.json').expect(200)).body;
    expect(jwks.keys).toHaveLength(1);
    for (let index = 1; index < checkpoints.length; index++) {
      const proof = (await inProcess.get(`/v1/ledger/proofs/consistency?from=${checkpoints[index - 1]}&to=${checkpoints[index]}`).expect(200)).body;
      expect(proof.from.checkpoint).not.toBeNull();
      expect(await verifyDocument(proof, jwks)).toMatchObject({ ok: true });
    }
    expect(await verifyLedger(inProcess)).toMatchObject({ ok: true, tree_size: total, checkpoints_checked: checkpoints.length, unledgered: 0 });
  });
});

describe('a replica with LEDGER_ENABLED=false beside one that sequences', () => {
  let quiet: TestApp;
  let sequencing: ServiceProcess;

  beforeAll(async () => {
    quiet = await startTestApp({ env: { LEDGER_ENABLED: 'false' } });
    // The built service, as `npm start` runs it: its sequencer loop runs in a worker thread.
    sequencing = await startServiceProcess({ DATABASE_URL: quiet.db.url, JARTRAIL_MASTER_KEY: TEST_MASTER_KEY, LOG_LEVEL: 'warn', LEDGER_SEQUENCER_INTERVAL_MS: '50', LEDGER_CHECKPOINT_INTERVAL_SECONDS: '1' });
  }, 120_000);
  afterAll(async () => {
    await sequencing?.stop();
    await quiet?.close();
  });

  it('queues what it records, and the other replica ledgers and checkpoints it without being asked', async () => {
    const senders = await registerSenders(quiet);
    const verification = aVerification();
    await senders.as.event(verification, { id: 'queued-1' }).expect(202);
    const digest = verification.data.digest as string;
    const deadline = Date.now() + 20_000;
    let ledger: { seq: number | null; checkpoint: unknown } = { seq: null, checkpoint: null };
    while (Date.now() < deadline && (ledger.seq === null || ledger.checkpoint === null)) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      ledger = (await quiet.get(`/v1/chains/${digest}`).expect(200)).body.request_object.verifications[0].ledger;
    }
    expect(ledger).toMatchObject({ seq: expect.any(Number), checkpoint: expect.objectContaining({ tree_size: expect.any(Number) }) });
    expect(sequencing.output()).not.toMatch(/"level":50/);
  });
});
