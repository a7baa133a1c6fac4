import { generateChain, type GeneratedChain, singleBody } from './chains';
import { type HttpClient, type LoadResult, queue, runLoad } from './load';
import type { BenchSource, SignedRequest, Signer } from './senders';

/** The ingest load shared by bench:ingest and bench:ledger: chains sent as single events and in batches. */

export type Sources = Record<BenchSource['kind'], BenchSource>;

/** Chains of this run start two hours ago, a second apart, so their events have happened. */
export function chainsFor(tag: string, count: number): GeneratedChain[] {
  const start = Date.now() - 2 * 3600_000 - count * 1000;
  return Array.from({ length: count }, (_, index) => generateChain(tag, index, start + index * 1000));
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

export async function sendSingles(client: HttpClient, perSender: SignedRequest[][], maxSeconds: number): Promise<LoadResult> {
  const queues = perSender.map((requests) => queue(requests));
  return runLoad({
    concurrency: queues.length,
    maxSeconds,
    nextJob: (worker) => queues[worker]!.next(),
    execute: async (request) => {
      await client.expect(202, 'POST', request.path, request.headers, request.body);
    },
  });
}

export async function sendBatches(client: HttpClient, batches: SignedRequest[], concurrency: number, maxSeconds: number): Promise<LoadResult & { events: number }> {
  let events = 0;
  const next = queue(batches);
  const result = await runLoad({
    concurrency,
    maxSeconds,
    nextJob: () => next.next(),
    execute: async (request) => {
      const answer = JSON.parse(await client.expect(200, 'POST', request.path, request.headers, request.body)) as { accepted: number };
      if (answer.accepted !== request.events) throw new Error(`a batch of ${request.events} had ${answer.accepted} accepted: ${JSON.stringify(answer).slice(0, 400)}`);
      events += answer.accepted;
    },
  });
  return { ...result, events };
}

