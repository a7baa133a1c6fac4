import { randomUUID } from 'node:crypto';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource, QueryRunner } from 'typeorm';
import { ChainLinker } from '../../src/chains/chain-linker';
import { validateEvent, type ValidatedEvent } from '../../src/ingest/event-validator';
import { EvidenceRepository } from '../../src/ingest/evidence.repository';
import type { SourceKind } from '../../src/sources/source-kind';
import { startTestApp, type TestApp } from '../support/app';
import { aToken, aToolCall, type Envelope, randomDigest, registerSource } from '../support/events';

/**
 * The interleavings that lose a link without the advisory locks, replayed step by step with two open
 * transactions: each would miss the other's uncommitted record. With the locks, the second waits and then sees it.
 */
describe('chain linking under concurrent transactions', () => {
  let app: TestApp;
  let dataSource: DataSource;
  let sourceIds: Record<SourceKind, string>;

  beforeAll(async () => {
    app = await startTestApp();
    dataSource = app.app.get<DataSource>(getDataSourceToken());
    const [tokenService, agent] = await Promise.all([registerSource(app, 'token_service'), registerSource(app, 'agent')]);
    sourceIds = { token_service: tokenService.id, agent: agent.id, authorization_server: '' };
  });
  afterAll(() => app.close());

  const validated = (envelope: Envelope, kind: SourceKind): ValidatedEvent => {
    const outcome = validateEvent(envelope, { sourceKind: kind, keyring: app.keyring, minimization: { subjectOf: (s) => s, keepRequestObjects: true } }, { deliveryId: randomUUID() });
    if (!outcome.ok) throw outcome.problem;
    return outcome.event;
  };

  /** Records an event with its links in an open transaction; the caller commits. */
  async function recordWithoutCommit(envelope: Envelope, kind: SourceKind): Promise<QueryRunner> {
    const runner = dataSource.createQueryRunner();
    await runner.connect();
    await runner.startTransaction();
    const event = validated(envelope, kind);
    const [inserted] = await app.app.get(EvidenceRepository).insertNew(runner.manager, sourceIds[kind], [event]);
    await app.app.get(ChainLinker).link(runner.manager, [{ seq: inserted!.seq, links: event.links }]);
    return runner;
  }

  async function commit(runner: QueryRunner) {
    await runner.commitTransaction();
    await runner.release();
  }

  const chainsOfCall = async (callId: string) =>
    (await app.db.rows<{ chain_digest: string }>(
      `SELECT m.chain_digest FROM chain_members m JOIN events e ON e.seq = m.event_seq WHERE e.data ->> 'call_id' = $1`,
      [callId],
    )).map((row) => row.chain_digest);

  it('links a tool call and its token recorded in overlapping transactions', async () => {
    const digest = randomDigest();
    const jti = `overlap-${randomUUID()}`;
    const call = aToolCall({ token: { jti } });
    const callTransaction = await recordWithoutCommit(call, 'agent');
    // The token's transaction starts while the tool call is not committed; it must wait rather than miss it.
    const tokenTransaction = recordWithoutCommit(aToken({ digest, jti }), 'token_service');
    await new Promise((resolve) => setTimeout(resolve, 300));
    await commit(callTransaction);
    await commit(await tokenTransaction);
    expect(await chainsOfCall(String(call.data.call_id))).toEqual([digest]);
  });

  it('links a tool call to a token that an overlapping transaction links through its parent', async () => {
    const digest = randomDigest();
    const [parent, child] = [`parent-${randomUUID()}`, `child-${randomUUID()}`];
    // The child exists, unlinked: its parent has not arrived.
    await commit(await recordWithoutCommit(aToken({ parent: { jti: parent }, jti: child }), 'token_service'));
    const call = aToolCall({ token: { jti: child } });
    // The parent arrives and its transaction links the child; meanwhile a tool call of the child arrives.
    const parentTransaction = await recordWithoutCommit(aToken({ digest, jti: parent }), 'token_service');
    const callTransaction = recordWithoutCommit(call, 'agent');
    await new Promise((resolve) => setTimeout(resolve, 300));
    await commit(parentTransaction);
    await commit(await callTransaction);
    expect(await chainsOfCall(String(call.data.call_id))).toEqual([digest]);
  });
});
