import type { Pool } from 'pg';
import { round2 } from './machine';

/** One look at the link queue: committed events not yet linked, and how long the oldest has waited. */
export interface LagSample {
  readonly atSeconds: number;
  readonly records: number;
  readonly ageSeconds: number;
}

export interface LagSummary {
  readonly samples: number;
  readonly records: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly ageSeconds: { readonly p50: number; readonly p99: number; readonly max: number };
  /** Events still waiting for the linker when the phase ended. */
  readonly recordsAtEnd: number;
  /** Median of the pending records in the phase's second quarter and in its last quarter. */
  readonly secondQuarterRecords: number;
  readonly lastQuarterRecords: number;
  /**
   * The linker falls behind: the last quarter's median backlog is more than twice the second quarter's and more
   * than one second of the phase's rate. Such a phase does not meet a target, whatever its rate.
   */
  readonly growing: boolean;
}

const LAG_SQL = `SELECT COALESCE(sum(cardinality(event_seqs)), 0)::int AS records,
  COALESCE(extract(epoch FROM clock_timestamp() - min(queued_at)), 0)::float8 AS age FROM link_pending`;

/** Samples the link queue every `intervalMs` while a phase runs (from its own connection). */
export class LinkLagSampler {
  private readonly samples: LagSample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private pending: Promise<void> = Promise.resolve();
  private started = 0;

  constructor(
    private readonly pool: Pool,
    private readonly intervalMs = 250,
  ) {}

  /** Whether this schema links after commit (a link queue exists). */
  static async applies(pool: Pool): Promise<boolean> {
    const { rows } = await pool.query<{ present: boolean }>(`SELECT to_regclass('link_pending') IS NOT NULL AS present`);
    return rows[0]!.present;
  }

  start(): void {
    this.started = Date.now();
    this.timer = setInterval(() => {
      this.pending = this.pending.then(() => this.sample());
    }, this.intervalMs);
  }

  /** Stops sampling after one last sample: the backlog at the end of the phase. */
  async stop(): Promise<LagSample[]> {
    clearInterval(this.timer);
    await this.pending;
    await this.sample();
    return this.samples;
  }

  private async sample(): Promise<void> {
    const { rows } = await this.pool.query<{ records: number; age: number }>(LAG_SQL);
    this.samples.push({ atSeconds: (Date.now() - this.started) / 1000, records: rows[0]!.records, ageSeconds: round2(rows[0]!.age) });
  }
}

/** Waits until the link queue is empty; returns how long that took. */
export async function waitForLinking(pool: Pool, timeoutSeconds: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    const { rows } = await pool.query<{ records: number }>(LAG_SQL);
    if (rows[0]!.records === 0) return round2((Date.now() - started) / 1000);
    if (Date.now() - started > timeoutSeconds * 1000) throw new Error(`linking did not catch up in ${timeoutSeconds} s (${rows[0]!.records} events queued)`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function medianOfRange(samples: readonly LagSample[], from: number, to: number): number {
  const inRange = samples.filter((sample) => sample.atSeconds >= from && sample.atSeconds < to).map((sample) => sample.records).sort((a, b) => a - b);
  return percentile(inRange, 50);
}

export function summarizeLag(samples: readonly LagSample[], phaseSeconds: number, eventsPerSecond: number): LagSummary {
  const records = samples.map((sample) => sample.records).sort((a, b) => a - b);
  const ages = samples.map((sample) => sample.ageSeconds).sort((a, b) => a - b);
  const secondQuarterRecords = medianOfRange(samples, phaseSeconds / 4, phaseSeconds / 2);
  const lastQuarterRecords = medianOfRange(samples, (phaseSeconds * 3) / 4, phaseSeconds + 1);
  return {
    samples: samples.length,
    records: { p50: percentile(records, 50), p99: percentile(records, 99), max: records.at(-1) ?? 0 },
    ageSeconds: { p50: percentile(ages, 50), p99: percentile(ages, 99), max: ages.at(-1) ?? 0 },
    recordsAtEnd: samples.at(-1)?.records ?? 0,
    secondQuarterRecords,
    lastQuarterRecords,
    growing: lastQuarterRecords > 2 * secondQuarterRecords && lastQuarterRecords > eventsPerSecond,
  };
}
