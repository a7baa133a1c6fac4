import { randomUUID } from 'node:crypto';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource, QueryRunner } from 'typeorm';
import { LinkerWorker } from '../../src/chains/linker.worker';
import { validateEvent } from '../../src/ingest/event-validator';
import { EvidenceRepository } from '../../src/ingest/evidence.repository';
import type { SourceKind } from '../../src/sources/source-kind';
import { startTestApp, type TestApp } from '../support/app';
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

  /** Records an event as ingest does, in an open transaction; the caller commits. */
  async function recordWithoutCommit(envelope: Envelope, kind: SourceKind): Promise<{ runner: QueryRunner; seq: string }> {
    const outcome = validateEvent(envelope, { sourceKind: kind, keyring: app.keyring, minimization: { subjectOf: (s) => s, keepRequestObjects: true } }, { deliveryId: randomUUID() });
    if (!outcome.ok) throw outcome.problem;
    const runner = dataSource.createQueryRunner();
    await runner.connect();
    await runner.startTransaction();
    const [inserted] = await app.app.get(EvidenceRepository).insertNew(runner.manager, sourceIds[kind], [outcome.event]);
    return { runner, seq: inserted!.seq };
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
