import type { RecordableHistogram } from 'node:perf_hooks';
import type { Pool } from 'pg';
import { type GeneratedChain, singleBody } from './chains';
import { type HttpClient, type LoadResult, queue, runLoad } from './load';
import { round2 } from './machine';
import type { VerifiableRequestObjects } from './request-objects';
import type { BenchSource, SignedRequest, Signer } from './senders';

/** The ingest load shared by bench:ingest and bench:ledger: chains sent as single events and in batches. */

export type Sources = Record<BenchSource['kind'], BenchSource>;

/**
 * Chains of this run start two hours ago, a second apart, so their events have happened. Their request objects are
 * signed with keys registered in the service, so the verification worker does the real work on them.
 */
export async function chainsFor(tag: string, count: number, objects: VerifiableRequestObjects): Promise<GeneratedChain[]> {
  const start = Date.now() - 2 * 3600_000 - count * 1000;
  return Promise.all(Array.from({ length: count }, (_, index) => objects.chain(tag, index, start + index * 1000)));
}

/**
 * Waits until the service's background work of what was sent is done (the ledger queue, unless its sequencer is
 * off, the verification queue, the link queue and the findings evaluations due, unless the evaluator is off), so that
 * each measured phase starts from an idle service and pays only for the work done during it.
 */
export async function waitForBackgroundWork(pool: Pool, timeoutSeconds: number, alive: () => void, ledgerOn = true, findingsOn = true): Promise<number> {
  const started = Date.now();
  const { rows: schema } = await pool.query<{ linking: boolean; findings: boolean }>(
    `SELECT to_regclass('link_pending') IS NOT NULL AS linking, to_regclass('finding_checks') IS NOT NULL AS findings`,
  );
  const linkQueue = schema[0]!.linking ? '(SELECT count(*) FROM link_pending)' : '0';
  // Evaluations due now; a grace period's later check is not work the service has yet.
  const findingsQueue = schema[0]!.findings && findingsOn ? '(SELECT count(*) FROM finding_checks WHERE due_at <= clock_timestamp())' : '0';
  for (;;) {
    alive();
    const { rows } = await pool.query<{ ledger: string; verification: string; linking: string; findings: string }>(
      `SELECT ${ledgerOn ? '(SELECT count(*) FROM ledger_pending)' : '0'} AS ledger, (SELECT count(*) FROM verification_queue) AS verification, ${linkQueue} AS linking, ${findingsQueue} AS findings`,
    );
    const { ledger, verification, linking, findings } = rows[0]!;
    if (Number(ledger) + Number(verification) + Number(linking) + Number(findings) === 0) return round2((Date.now() - started) / 1000);
    if (Date.now() - started > timeoutSeconds * 1000) {
      throw new Error(
        `the service's background work did not finish in ${timeoutSeconds} s (${ledger} ledger rows, ${verification} verifications, ${linking} link rows, ${findings} finding checks queued)`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Each sender owns whole chains and sends their events one at a time, in the order they happen. */
export function signedSingles(chains: readonly GeneratedChain[], senders: number, sources: Sources, signer: Signer): SignedRequest[][] {
  const queues: SignedRequest[][] = Array.from({ length: senders }, () => []);
  chains.forEach((chain, index) => {
    for (const { kind, envelope } of chain.events) {
      queues[index % senders]!.push(signer.sign(sources[kind], '/v1/events', envelope.id, singleBody(envelope), 1));
    }
  });
  return queues;
}

export async function sendSingles(client: HttpClient, perSender: SignedRequest[][], maxSeconds: number, alsoRecordInto?: RecordableHistogram): Promise<LoadResult> {
  const queues = perSender.map((requests) => queue(requests));
  return runLoad({
    concurrency: queues.length,
    maxSeconds,
    alsoRecordInto,
    nextJob: (worker) => queues[worker]!.next(),
    execute: async (request) => {
      await client.expect(202, 'POST', request.path, request.headers, request.body);
    },
  });
}

export async function sendBatches(
  client: HttpClient,
  batches: SignedRequest[],
  concurrency: number,
  maxSeconds: number,
  alsoRecordInto?: RecordableHistogram,
): Promise<LoadResult & { events: number }> {
  let events = 0;
  const next = queue(batches);
  const result = await runLoad({
    concurrency,
    maxSeconds,
    alsoRecordInto,
    nextJob: () => next.next(),
    execute: async (request) => {
      const answer = JSON.parse(await client.expect(200, 'POST', request.path, request.headers, request.body)) as { accepted: number };
      if (answer.accepted !== request.events) throw new Error(`a batch of ${request.events} had ${answer.accepted} accepted: ${JSON.stringify(answer).slice(0, 400)}`);
      events += answer.accepted;
    },
  });
  return { ...result, events };
}

