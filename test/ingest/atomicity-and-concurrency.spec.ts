import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { linkNow, startTestApp, TEST_MASTER_KEY, type TestApp } from '../support/app';
import { aConsent, aToken, aToolCall, aVerification, type Envelope, randomDigest, registerSenders, type RegisteredSource, WebhookSender } from '../support/events';
import { type ServiceProcess, startServiceProcess } from '../support/process';

describe('a failed write leaves nothing', () => {
  let app: TestApp;
  let senders: Awaited<ReturnType<typeof registerSenders>>;

  beforeAll(async () => {
    app = await startTestApp();
    senders = await registerSenders(app);
    // A fault that strikes at the last write of the ingest transaction (the event's row in the link queue, written
    // by the trigger at the end of the insert), for one tool.
    await app.db.pool.query(`
      CREATE FUNCTION test_fail_queue() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF EXISTS (SELECT 1 FROM events WHERE seq = ANY(NEW.event_seqs) AND data ->> 'tool' = 'explode') THEN RAISE EXCEPTION 'injected failure'; END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER test_fail_queue BEFORE INSERT ON link_pending FOR EACH ROW EXECUTE FUNCTION test_fail_queue();`);
  });
  afterAll(() => app.close());

  const rowsFor = async (eventIds: string[]) => ({
    events: await app.db.rows('SELECT seq FROM events WHERE event_id = ANY($1)', [eventIds]),
    ledgerQueue: await app.db.rows('SELECT p.* FROM ledger_pending p JOIN events e ON e.seq = ANY(p.record_seqs) WHERE e.event_id = ANY($1)', [eventIds]),
    members: await app.db.rows('SELECT m.* FROM chain_members m JOIN events e ON e.seq = m.event_seq WHERE e.event_id = ANY($1)', [eventIds]),
  });

  it('answers 500 without details and writes neither the event nor its place in any queue', async () => {
    const digest = randomDigest();
    const jti = `tok-${randomUUID()}`;
    await senders.tokens.event(aToken({ digest, jti })).expect(202);
    const call = { id: `exploding-${randomUUID()}`, ...aToolCall({ token: { jti }, tool: 'explode' }) };

    const response = await senders.agent.event(call).expect(500);
    expect(response.body).toEqual({
      type: 'urn:jartrail:problem:internal',
      title: 'Internal error',
      status: 500,
      instance: '/v1/events',
      correlation_id: response.headers['x-request-id'],
    });
    await linkNow(app);
    expect(await rowsFor([call.id])).toEqual({ events: [], ledgerQueue: [], members: [] });
  });

  it('writes nothing of a batch when one of its events cannot be written', async () => {
    const digest = randomDigest();
    const jti = `tok-${randomUUID()}`;
    await senders.tokens.event(aToken({ digest, jti })).expect(202);
    const fine = { id: `fine-${randomUUID()}`, ...aToolCall({ token: { jti } }) };
    const failing = { id: `failing-${randomUUID()}`, ...aToolCall({ token: { jti }, tool: 'explode' }) };
    await senders.agent.batch([fine, failing]).expect(500);
    await linkNow(app);
    expect(await rowsFor([fine.id, failing.id])).toEqual({ events: [], ledgerQueue: [], members: [] });

    // Once the fault is gone, the same delivery is accepted as new: nothing of it had been kept.
    await app.db.pool.query('DROP TRIGGER test_fail_queue ON link_pending');
    const retried = await senders.agent.batch([fine, failing]).expect(200);
    expect(retried.body.accepted).toBe(2);
    expect((await app.get(`/v1/chains/${digest}`).expect(200)).body.tool_calls).toHaveLength(2);
  });
});

describe('a failing linker loses nothing', () => {
  let app: TestApp;
  let senders: Awaited<ReturnType<typeof registerSenders>>;

  beforeAll(async () => {
    app = await startTestApp({ env: { LINKER_MAX_WAIT_MS: '300' } });
    senders = await registerSenders(app);
    // A fault in the linker's transaction (its last write, the search facets), for one tool.
    await app.db.pool.query(`
      CREATE FUNCTION test_fail_facet() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.name = 'tool' AND NEW.value = 'explode' THEN RAISE EXCEPTION 'injected failure'; END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER test_fail_facet BEFORE INSERT ON chain_facets FOR EACH ROW EXECUTE FUNCTION test_fail_facet();`);
  });
  afterAll(() => app.close());

  it('keeps a committed record queued while linking fails, says so to readers, and links it once the fault is gone', async () => {
    const verification = aVerification();
    const digest = String(verification.data.digest);
    const jti = `tok-${randomUUID()}`;
    await senders.as.event(verification).expect(202);
    await senders.tokens.event(aToken({ digest, jti })).expect(202);
    await linkNow(app);
    const call = aToolCall({ token: { jti }, tool: 'explode' });
    const accepted = await senders.agent.event(call).expect(202);
    const position = String(accepted.body.position);

    await expect(linkNow(app)).rejects.toThrow(/injected failure/);
    const waiting = (await app.http().get(`/v1/chains/${digest}?min_position=${position}`).set('authorization', `Bearer ${app.adminKey}`).expect(200)).body;
    expect(waiting.linking).toMatchObject({ requested_position: position, reached: false, chain_complete: false });
    expect(BigInt(waiting.linking.linked_below)).toBeLessThanOrEqual(BigInt(position));
    expect(waiting.tool_calls).toEqual([]);
    expect(waiting.unlinked_records.map((record: { event_id: string }) => record.event_id)).toEqual([accepted.body.event_id]);
    const found = (await app.http().get(`/v1/lookup?call_id=${call.data.call_id}`).set('authorization', `Bearer ${app.adminKey}`).expect(200)).body;
    expect(found.records).toEqual([expect.objectContaining({ chains: [], linked: false })]);

    await app.db.pool.query('DROP TRIGGER test_fail_facet ON chain_facets');
    const linked = (await app.get(`/v1/chains/${digest}?min_position=${position}`).expect(200)).body;
    expect(linked.linking).toMatchObject({ reached: true, chain_complete: true });
    expect(linked.tool_calls.map((record: { event_id: string }) => record.event_id)).toEqual([accepted.body.event_id]);
    expect(linked.unlinked_records).toEqual([]);
  });
});

describe('two service processes on one database', () => {
  let inProcess: TestApp;
  let other: ServiceProcess;
  let sources: { as: RegisteredSource; tokens: RegisteredSource; agent: RegisteredSource };

  beforeAll(async () => {
    inProcess = await startTestApp();
    // A second, separate process: the built service, as `npm start` runs it, on the same database and master key.
    other = await startServiceProcess({ DATABASE_URL: inProcess.db.url, JARTRAIL_MASTER_KEY: TEST_MASTER_KEY, LOG_LEVEL: 'warn', SOURCE_CACHE_TTL_MS: '0' });
    const senders = await registerSenders(inProcess);
    sources = { as: senders.as.source, tokens: senders.tokens.source, agent: senders.agent.source };
  }, 120_000);
  afterAll(async () => {
    await other?.stop();
    await inProcess?.close();
  });

  /** The same source sending to either replica, as a load balancer would spread it. */
  const senderFor = (source: RegisteredSource, replica: 'here' | 'there') =>
    new WebhookSender(replica === 'here' ? inProcess : ({ ...inProcess, http: () => request(other.url) } as TestApp), source);

  it('stores each event exactly once when both receive the same events at the same time', async () => {
    const events: Envelope[] = Array.from({ length: 60 }, (_, index) =>
      index % 2 === 0 ? { id: `same-${index}-${randomUUID()}`, ...aVerification() } : { id: `same-${index}-${randomUUID()}`, ...aConsent() },
    );
    const responses = await Promise.all(
      events.flatMap((event) => [senderFor(sources.as, 'here').event(event), senderFor(sources.as, 'there').event(event)]),
    );
    const statuses = responses.map((response) => response.status);
    // For each event, one replica recorded it (202) and the other found it recorded (200).
    for (let index = 0; index < events.length; index++) {
      expect([statuses[2 * index], statuses[2 * index + 1]].sort()).toEqual([200, 202]);
    }
    const stored = await inProcess.db.rows<{ event_id: string; n: string }>(
      'SELECT event_id, count(*) AS n FROM events WHERE event_id = ANY($1) GROUP BY event_id',
      [events.map((event) => event.id)],
    );
    expect(stored).toHaveLength(events.length);
    expect(stored.every((row) => Number(row.n) === 1)).toBe(true);
  });

  it('links records of one chain that arrive at different replicas at the same moment', async () => {
    const chains = Array.from({ length: 100 }, () => ({ digest: randomDigest(), jti: `race-${randomUUID()}`, refreshJti: `race-rt-${randomUUID()}` }));
    await Promise.all(
      chains.flatMap(({ digest, jti, refreshJti }) => [
        // The token and its child at one replica, the tool calls of both at the other, all at once.
        senderFor(sources.tokens, 'here').event(aToken({ digest, jti: refreshJti, token_type: 'refresh' })).expect(202),
        senderFor(sources.tokens, 'there').event(aToken({ parent: { jti: refreshJti }, jti })).expect(202),
        senderFor(sources.agent, 'here').event(aToolCall({ token: { jti } })).expect(202),
        senderFor(sources.agent, 'there').event(aToolCall({ token: { jti: refreshJti } })).expect(202),
      ]),
    );
    for (const { digest } of chains) {
      const chain = (await inProcess.get(`/v1/chains/${digest}`).expect(200)).body;
      expect({ digest, tokens: chain.tokens.length, calls: chain.tool_calls.length }).toEqual({ digest, tokens: 2, calls: 2 });
    }
  });
});
