import { randomUUID } from 'node:crypto';
import { startTestApp, type TestApp } from '../support/app';
import { aConsent, registerSenders, type RegisteredSource } from '../support/events';

/**
 * POST /v1/ledger/checkpoints under sustained ingest: it sequences what was queued when the request arrived, signs,
 * and answers, however fast records keep coming. The periodic sequencer is off (LEDGER_ENABLED=false), so only the
 * on-demand runs sequence, one queue row (one ingest statement of 200 records) each; two connections insert faster
 * than that, so a checkpoint that waited for an empty queue would never come.
 */
describe('an on-demand checkpoint while ingest goes on', () => {
  let app: TestApp;
  let source: RegisteredSource;

  beforeAll(async () => {
    app = await startTestApp({ env: { LEDGER_ENABLED: 'false', LEDGER_SEQUENCER_BATCH: '1' } });
    const senders = await registerSenders(app);
    source = senders.as.source;
    await senders.as.event(aConsent(), { id: 'before-the-ingest' }).expect(202);
  });
  afterAll(() => app.close());

  it('returns in bounded time and covers every record committed before the request', async () => {
    let ingesting = true;
    let statements = 0;
    // Ingest-shaped statements straight into the table (the queue trigger sees them like the service's own).
    const ingest = async () => {
      while (ingesting) {
        await app.db.pool.query(
          `INSERT INTO events (source_id, event_id, type, emitted_at, occurred_at, fingerprint, data)
           SELECT $1, $2 || '-' || n, 'consent.decision', now(), now(), '\\x00', '{}' FROM generate_series(1, 200) n`,
          [source.id, randomUUID()],
        );
        statements += 1;
      }
    };
    const loops = [ingest(), ingest()];
    try {
      while (statements < 20) await new Promise((resolve) => setTimeout(resolve, 10));
      const [{ committed }] = await app.db.rows<{ committed: number }>(`SELECT count(*)::int AS committed FROM events`);
      const started = Date.now();
      const response = await app.http().post('/v1/ledger/checkpoints').set('authorization', `Bearer ${app.adminKey}`).timeout(20_000);
      const elapsed = Date.now() - started;
      expect(response.status).toBe(200);
      expect(response.body.tree_size).toBeGreaterThanOrEqual(committed);
      expect(elapsed).toBeLessThan(20_000);
      // Ingest went on during the request: the queue still holds records committed after it arrived.
      expect(statements).toBeGreaterThan(20);
    } finally {
      ingesting = false;
      await Promise.all(loops);
    }
  }, 60_000);
});
