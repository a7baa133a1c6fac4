import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource, QueryRunner } from 'typeorm';
import { LinkerWorker } from '../../src/chains/linker.worker';
import { validateEvent } from '../../src/evidence/event-validator';
import type { SourceKind } from '../../src/sources/source-kind';
import { linkNow, startTestApp, type TestApp } from '../support/app';
import { drainVerifications } from '../support/request-objects';
import { aToken, aToolCall, aVerification, type Envelope, randomDigest, registerSenders, registerSource } from '../support/events';

/**
 * Linking runs after commit, so ingest transactions no longer see each other: what was a race between two linking
 * transactions is now a question of commit order against seq order. These tests replay the interleavings step by
 * step with open transactions (a lower seq committing after a higher one) and check that the linker links both and
 * that the watermark never claims a record it has not linked.
 */
describe('linking after commit', () => {
  let app: TestApp;
  let replica: TestApp;
  let dataSource: DataSource;
  let sourceIds: Record<SourceKind, string>;

  beforeAll(async () => {
    // The linker runs only when a test drains it: each step below is then observable.
    app = await startTestApp({ env: { LINKER_ENABLED: 'false' } });
    replica = await startTestApp({ db: app.db, env: { LINKER_ENABLED: 'false' } });
    dataSource = app.app.get<DataSource>(getDataSourceToken());
    const [tokenService, agent, as] = await Promise.all([registerSource(app, 'token_service'), registerSource(app, 'agent'), registerSource(app, 'authorization_server')]);
    sourceIds = { token_service: tokenService.id, agent: agent.id, authorization_server: as.id };
  });
  afterAll(async () => {
    await replica.close();
    await app.close();
  });

  const linker = (which: TestApp = app) => which.app.get(LinkerWorker);

  /** Inserts an event (its link queue row follows by trigger, as on ingest) in an open transaction; the caller commits. */
  async function recordWithoutCommit(envelope: Envelope, kind: SourceKind): Promise<{ runner: QueryRunner; seq: string }> {
    const outcome = validateEvent(envelope, { sourceKind: kind, keyring: app.keyring, minimization: { subjectOf: (s) => s, keepRequestObjects: true } }, { deliveryId: randomUUID() });
    if (!outcome.ok) throw outcome.problem;
    const runner = dataSource.createQueryRunner();
    await runner.connect();
    await runner.startTransaction();
    const { event } = outcome;
    const [inserted]: { seq: string }[] = await runner.query(
      `INSERT INTO events (source_id, event_id, type, emitted_at, occurred_at, fingerprint, data) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq`,
      [sourceIds[kind], event.eventId, event.type, event.emittedAt, event.occurredAt, event.fingerprint, event.data],
    );
    return { runner, seq: String(inserted!.seq) };
  }

  async function commit({ runner }: { runner: QueryRunner }) {
    await runner.commitTransaction();
    await runner.release();
  }

  const chainsOfCall = async (callId: string) =>
    (await app.db.rows<{ chain_digest: string }>(
      `SELECT m.chain_digest FROM chain_members m JOIN events e ON e.seq = m.event_seq WHERE e.data ->> 'call_id' = $1`,
      [callId],
    )).map((row) => row.chain_digest);

  const linkedBelow = async () => (await linker().progress()).linkedBelow;

  it('links a token and its tool call whose transactions commit in the opposite order of their seqs', async () => {
    const digest = randomDigest();
    const jti = `overlap-${randomUUID()}`;
    const token = await recordWithoutCommit(aToken({ digest, jti }), 'token_service');
    const call = aToolCall({ token: { jti } });
    const callRecord = await recordWithoutCommit(call, 'agent');
    expect(BigInt(callRecord.seq)).toBeGreaterThan(BigInt(token.seq));

    await commit(callRecord);
    await linker().drain();
    // The call is linked (to nothing yet: its token is not committed); the watermark passes it, since the token's
    // lower seq is not a committed record.
    expect(await chainsOfCall(String(call.data.call_id))).toEqual([]);
    expect(BigInt(await linkedBelow())).toBeGreaterThan(BigInt(callRecord.seq));

    await commit(token);
    // Now a committed record below the watermark waits: the watermark falls back to it.
    expect(await linkedBelow()).toBe(token.seq);
    await linker().drain();
    expect(await chainsOfCall(String(call.data.call_id))).toEqual([digest]);
    expect(BigInt(await linkedBelow())).toBeGreaterThan(BigInt(callRecord.seq));
  });

  it('links a tool call to a child token whose parent commits later, all three unlinked until the parent', async () => {
    const digest = randomDigest();
    const [parent, child] = [`parent-${randomUUID()}`, `child-${randomUUID()}`];
    const parentRecord = await recordWithoutCommit(aToken({ digest, jti: parent }), 'token_service');
    const childRecord = await recordWithoutCommit(aToken({ parent: { jti: parent }, jti: child }), 'token_service');
    const call = aToolCall({ token: { jti: child } });
    const callRecord = await recordWithoutCommit(call, 'agent');
    await commit(callRecord);
    await commit(childRecord);
    await linker().drain();
    expect(await chainsOfCall(String(call.data.call_id))).toEqual([]);
    await commit(parentRecord);
    await linker().drain();
    expect(await chainsOfCall(String(call.data.call_id))).toEqual([digest]);
  });

  it('shares the work between replicas: both drain at once, every record is linked once', async () => {
    const senders = await registerSenders(app);
    const digests: string[] = [];
    for (let index = 0; index < 20; index++) {
      const verification = aVerification();
      digests.push(String(verification.data.digest));
      const jti = `shared-${randomUUID()}`;
      await senders.as.event(verification).expect(202);
      await senders.tokens.event(aToken({ digest: verification.data.digest, jti })).expect(202);
      await senders.agent.event(aToolCall({ token: { jti } })).expect(202);
    }
    const [first, second] = await Promise.all([linker(app).drain(), linker(replica).drain()]);
    expect(first + second).toBeGreaterThanOrEqual(60);
    const members = await app.db.rows<{ chain_digest: string; records: string }>(
      `SELECT chain_digest, count(*) AS records FROM chain_members WHERE chain_digest = ANY($1::text[]) GROUP BY chain_digest`,
      [digests],
    );
    expect(members).toHaveLength(20);
    expect(members.every((row) => Number(row.records) === 3)).toBe(true);
    expect(await app.db.rows(`SELECT 1 FROM link_pending`)).toEqual([]);
  });

  it('leaves nothing queued by a rolled-back ingest', async () => {
    const rolledBack = await recordWithoutCommit(aVerification(), 'authorization_server');
    await rolledBack.runner.rollbackTransaction();
    await rolledBack.runner.release();
    expect(await app.db.rows(`SELECT 1 FROM link_pending WHERE $1::bigint = ANY(event_seqs)`, [rolledBack.seq])).toEqual([]);
  });
});

describe('linking lag is observable', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ env: { LINKER_LAG_WARNING_SECONDS: '1' } });
  });
  afterAll(() => app.close());

  it('gauges the lag on /health/ready, degrades readiness and warns in the log while the linker cannot keep up', async () => {
    const senders = await registerSenders(app);
    const warn = jest.spyOn(Logger.prototype, 'warn');
    // The linker is held up: a transaction keeps the membership table locked against its writes.
    const blocker = await app.db.pool.connect();
    await blocker.query('BEGIN');
    await blocker.query('LOCK TABLE chain_members IN EXCLUSIVE MODE');
    try {
      const accepted = await senders.as.event(aVerification()).expect(202);
      await new Promise((resolve) => setTimeout(resolve, 1800));
      const ready = await app.http().get('/health/ready').expect(200);
      expect(ready.body.status).toBe('degraded');
      expect(ready.body.details.linker).toMatchObject({ status: 'degraded', pending_records: 1, linked_below: accepted.body.position });
      expect(ready.body.details.linker.oldest_pending_seconds).toBeGreaterThan(1);
      expect(warn.mock.calls.some(([payload, message]) => /linking lags/.test(String(message)) && (payload as { pendingRecords?: number }).pendingRecords === 1)).toBe(true);
    } finally {
      await blocker.query('ROLLBACK');
      blocker.release();
      warn.mockRestore();
    }
    await linkNow(app);
    const ready = await app.http().get('/health/ready').expect(200);
    expect(ready.body.details.linker).toMatchObject({ status: 'up', pending_records: 0, oldest_pending_seconds: 0 });
  });
});

describe('read-your-writes on the query routes', () => {
  let app: TestApp;

  beforeAll(async () => {
    // No background linking: only a reader's wait (which wakes this process's linker) or a test links.
    app = await startTestApp({ env: { LINKER_POLL_INTERVAL_MS: '60000', LINKER_MAX_WAIT_MS: '2000' } });
  });
  afterAll(() => app.close());

  const read = (path: string) => app.http().get(path).set('authorization', `Bearer ${app.adminKey}`);

  it('waits for the position an ingest answer gave, on the chain, search and lookup routes, by parameter or header', async () => {
    const senders = await registerSenders(app);
    const verification = aVerification({ client_id: `ryw-${randomUUID()}` });
    const jti = `ryw-${randomUUID()}`;
    await senders.as.event(verification).expect(202);
    await senders.tokens.event(aToken({ digest: verification.data.digest, jti })).expect(202);
    const batch = await senders.agent.batch([aToolCall({ token: { jti } }), aToolCall({ token: { jti } })]).expect(200);
    const position = String(batch.body.position);
    expect(batch.body.results.map((result: { position: string }) => result.position).sort()).toEqual([expect.any(String), position]);

    const chain = (await read(`/v1/chains/${verification.data.digest}?min_position=${position}`).expect(200)).body;
    expect(chain.linking).toMatchObject({ requested_position: position, reached: true, chain_complete: true });
    expect(BigInt(chain.linking.linked_below)).toBeGreaterThan(BigInt(position));
    expect(chain.tool_calls).toHaveLength(2);

    const search = (await read(`/v1/chains?client_id=${verification.data.client_id}`).set('jartrail-min-position', position).expect(200)).body;
    expect(search.linking).toMatchObject({ requested_position: position, reached: true });
    expect(search.items.map((item: { digest: string }) => item.digest)).toEqual([verification.data.digest]);

    const lookup = (await read(`/v1/lookup?token_jti=${jti}&min_position=latest`).expect(200)).body;
    expect(lookup.linking.reached).toBe(true);
    expect(lookup.records).toEqual([expect.objectContaining({ chains: [verification.data.digest], linked: true })]);
  });

  it('answers with what it has after the bound, and says the position was not reached', async () => {
    const chain = (await read(`/v1/chains?min_position=9223372036854775807`).expect(200)).body;
    expect(chain.linking).toMatchObject({ requested_position: '9223372036854775807', reached: false });
  });

  it.each([
    ['0', 'a position starts at 1'],
    ['12a', 'not a number'],
    ['9223372036854775808', 'past the largest position'],
  ])('refuses min_position=%s (%s) with 400 naming it', async (value) => {
    const problem = (await read(`/v1/chains?min_position=${value}`).expect(400)).body;
    expect(problem.errors.map((error: { field: string }) => error.field)).toEqual(['min_position']);
    const fromHeader = (await read(`/v1/lookup?call_id=x`).set('jartrail-min-position', value).expect(400)).body;
    expect(fromHeader.errors.map((error: { field: string }) => error.field)).toEqual(['headers.jartrail-min-position']);
  });
});

describe('independent verdicts and linking, in either order', () => {
  let app: TestApp;

  beforeAll(async () => {
    // Neither worker runs on its own: the test decides which goes first.
    app = await startTestApp({ env: { LINKER_ENABLED: 'false' } });
  });
  afterAll(() => app.close());

  it.each(['verdict first', 'linking first'])('gives the chain its verdict facet, %s', async (order) => {
    const senders = await registerSenders(app);
    const verification = aVerification({ client_id: `order-${randomUUID()}` });
    await senders.as.event(verification).expect(202);
    if (order === 'verdict first') {
      await drainVerifications(app);
      await linkNow(app);
    } else {
      await linkNow(app);
      await drainVerifications(app);
    }
    const search = (await app.get(`/v1/chains?client_id=${verification.data.client_id}&independent_verdict=not_verifiable`).expect(200)).body;
    expect(search.items.map((item: { digest: string }) => item.digest)).toEqual([verification.data.digest]);
  });
});
