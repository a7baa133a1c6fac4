import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import { Pool } from 'undici';
import { type CpuUse, measureCpu } from './machine';

/** Latency percentiles in milliseconds (HDR histogram with 3 significant figures, recorded in nanoseconds). */
export interface LatencySummary {
  readonly count: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

export function newHistogram(): RecordableHistogram {
  return createHistogram({ lowest: 1, highest: 120e9, figures: 3 });
}

export function summarize(histogram: RecordableHistogram): LatencySummary {
  const ms = (ns: number) => Math.round(ns / 1e4) / 100;
  return {
    count: histogram.count,
    mean: ms(histogram.mean),
    p50: ms(histogram.percentile(50)),
    p90: ms(histogram.percentile(90)),
    p99: ms(histogram.percentile(99)),
    max: ms(histogram.max),
  };
}

export interface LoadResult {
  readonly concurrency: number;
  /** Jobs (requests, transactions) that completed without error. */
  readonly completed: number;
  readonly failed: number;
  readonly firstErrors: readonly string[];
  readonly seconds: number;
  readonly latency: LatencySummary;
  readonly cpu: CpuUse;
}

export interface LoadOptions<Job> {
  readonly concurrency: number;
  /** The next job for this worker, or undefined when it has nothing left to do. */
  readonly nextJob: (worker: number) => Job | undefined;
  /** Runs one job; throws on any failure (a wrong status, an error). */
  readonly execute: (job: Job, worker: number) => Promise<void>;
  /** Stop starting new jobs after this many seconds (jobs in flight finish). */
  readonly maxSeconds?: number;
  /** Also record every job's latency here: one summary over several runs (the rounds of a ratio). */
  readonly alsoRecordInto?: RecordableHistogram;
}

/**
 * Runs `concurrency` closed-loop workers, each sending its next job when the previous one has answered, and
 * measures the latency of every job and the wall-clock time of the whole run.
 */
export async function runLoad<Job>(options: LoadOptions<Job>): Promise<LoadResult> {
  const histogram = newHistogram();
  let completed = 0;
  let failed = 0;
  const firstErrors: string[] = [];
  const stopCpu = measureCpu();
  const started = process.hrtime.bigint();
  const deadline = options.maxSeconds === undefined ? undefined : started + BigInt(Math.round(options.maxSeconds * 1e9));
  const worker = async (index: number) => {
    for (;;) {
      if (deadline !== undefined && process.hrtime.bigint() >= deadline) return;
      const job = options.nextJob(index);
      if (job === undefined) return;
      const jobStarted = process.hrtime.bigint();
      try {
        await options.execute(job, index);
        const elapsed = process.hrtime.bigint() - jobStarted;
        histogram.record(elapsed);
        options.alsoRecordInto?.record(elapsed);
        completed++;
      } catch (error) {
        failed++;
        if (firstErrors.length < 5) firstErrors.push((error as Error).message.slice(0, 500));
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, (_, index) => worker(index)));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { concurrency: options.concurrency, completed, failed, firstErrors, seconds, latency: summarize(histogram), cpu: stopCpu() };
}

export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
}

/** Keep-alive HTTP/1.1 connections to the service, one per concurrent client. */
export class HttpClient {
  private readonly pool: Pool;

  constructor(
    readonly url: string,
    connections: number,
  ) {
    this.pool = new Pool(url, { connections, pipelining: 1, keepAliveTimeout: 120_000, keepAliveMaxTimeout: 600_000 });
  }

  async request(method: 'GET' | 'POST' | 'PUT', path: string, headers: Record<string, string>, body?: string): Promise<HttpAnswer> {
    const response = await this.pool.request({ method, path, headers, body });
    return { status: response.statusCode, body: await response.body.text() };
  }

  async expect(status: number, method: 'GET' | 'POST' | 'PUT', path: string, headers: Record<string, string>, body?: string): Promise<string> {
    const answer = await this.request(method, path, headers, body);
    if (answer.status !== status) throw new Error(`${method} ${path.slice(0, 120)}: ${answer.status} (expected ${status}): ${answer.body.slice(0, 400)}`);
    return answer.body;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/** Hands out items in order without copying or shifting the array. */
export function queue<T>(items: readonly T[]): { next(): T | undefined; readonly remaining: number } {
  let position = 0;
  return {
    next: () => (position < items.length ? items[position++] : undefined),
    get remaining() {
      return items.length - position;
    },
  };
}

export function rate(count: number, seconds: number): number {
  return seconds > 0 ? Math.round((count / seconds) * 10) / 10 : 0;
}
