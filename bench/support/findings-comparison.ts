import { randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import { EVENTS_PER_CHAIN } from './chains';
import type { BenchDatabase } from './database';
import { waitForBackgroundWork } from './ingest-load';
import { loadAverage } from './machine';
import { type ModeRunSettings, ingestModeRun } from './mode-runs';
import { median, medianOfRoundRatios, referenceFirst, type RoundRatios } from './report';
import type { VerifiableRequestObjects } from './request-objects';

/**
 * What findings cost ingest, as an off/on comparison on one PostgreSQL: rounds of one run with the findings evaluator
 * off and one with it on, back to back, alternating which goes first (off, on, on, off, ...), as bench:ledger does
 * for the ledger. "Off" runs the service with FINDINGS_ENABLED=false: the linker still queues each chain it changes
 * (one statement per linker batch), but nothing evaluates them; the queue is emptied afterwards so the next run does
 * not inherit it. "On" is the default service: the evaluator runs every rule over every chain the linker changed, in
 * the same process, during the measurement. Each run sends single events, then batches, and waits for all
 * background work (with findings on, the evaluations too) before the next phase. The ratio is the median of the
 * rounds' on/off ratios. Run by bench:ingest after its ceilings (issue 9: "in the same run") and alone by
 * bench:findings.
 */

export interface FindingsComparisonSettings extends ModeRunSettings {
  readonly rounds: number;
}

type Mode = 'off' | 'on';

export interface FindingsModeRun {
  readonly mode: Mode;
  readonly singlesPerSecond: number;
  readonly singlesP99: number;
  readonly batchesPerSecond: number;
  readonly batchesP99: number;
  /** Seconds from the end of the batch phase until the background work (evaluations included when on) was done. */
  readonly caughtUpSeconds: number;
  /** Chains evaluated and findings open after the run (on only). */
  readonly findings?: { readonly evaluatedChains: number; readonly open: number };
}

export interface FindingsComparison {
  readonly rounds: readonly { readonly off: FindingsModeRun; readonly on: FindingsModeRun }[];
  readonly singles: RoundRatios & { readonly off: number; readonly on: number };
  readonly batches: RoundRatios & { readonly off: number; readonly on: number };
  readonly caughtUpSeconds: { readonly off: number; readonly on: number };
}

export async function compareFindingsOnOff(options: {
  readonly database: BenchDatabase;
  readonly pool: Pool;
  /** The master key the database's secrets are sealed with (the same for every service started on it). */
  readonly masterKey: string;
  readonly settings: FindingsComparisonSettings;
  readonly log: (message: string) => void;
}): Promise<FindingsComparison> {
  const { settings, log, pool } = options;
  const registered: { objects?: VerifiableRequestObjects } = {};
  const modeRun = async (mode: Mode, tag: string): Promise<FindingsModeRun> => {
    const findingsOn = mode === 'on';
    const { after, ...rates } = await ingestModeRun({
      database: options.database,
      pool,
      masterKey: options.masterKey,
      env: findingsOn ? {} : { FINDINGS_ENABLED: 'false' },
      tag,
      registered,
      settings,
      findingsOn,
      afterBatches: async (_service, alive) => {
        const caughtUpSeconds = await waitForBackgroundWork(pool, 600, alive, true, findingsOn);
        if (!findingsOn) {
          // Nobody evaluated what the linker queued: the next run must not inherit it (the bench's own database).
          await pool.query(`DELETE FROM finding_checks`);
          return { caughtUpSeconds };
        }
        const { rows } = await pool.query<{ open: string }>(`SELECT count(*) AS open FROM findings WHERE status = 'open'`);
        return { caughtUpSeconds, findings: { evaluatedChains: settings.singleChains + settings.batchChains, open: Number(rows[0]!.open) } };
      },
    });
    const run: FindingsModeRun = { mode, ...rates, ...after };
    log(
      `  findings ${mode}: singles ${run.singlesPerSecond} events/s (p99 ${run.singlesP99} ms), batches ${run.batchesPerSecond} events/s (p99 ${run.batchesP99} ms), ` +
        `background work done ${run.caughtUpSeconds} s after the last batch${run.findings ? `, ${run.findings.open} findings open in all` : ''}`,
    );
    return run;
  };

  const rounds: { off: FindingsModeRun; on: FindingsModeRun }[] = [];
  for (let round = 0; round < settings.rounds; round++) {
    const order: Mode[] = referenceFirst(round) ? ['off', 'on'] : ['on', 'off'];
    const pair: Partial<Record<Mode, FindingsModeRun>> = {};
    for (const mode of order) {
      log(
        `findings round ${round + 1}, ${mode}: ${settings.singleChains * EVENTS_PER_CHAIN} single events, ${settings.batchChains * EVENTS_PER_CHAIN} in batches (load ${loadAverage()[0]})`,
      );
      pair[mode] = await modeRun(mode, `f${mode}${round}${randomBytes(2).toString('hex')}`);
    }
    rounds.push({ off: pair.off!, on: pair.on! });
  }
  const side = (key: 'singlesPerSecond' | 'batchesPerSecond') => {
    const off = rounds.map((round) => round.off[key]);
    const on = rounds.map((round) => round.on[key]);
    return { off: median(off), on: median(on), ...medianOfRoundRatios(on, off) };
  };
  return {
    rounds,
    singles: side('singlesPerSecond'),
    batches: side('batchesPerSecond'),
    caughtUpSeconds: { off: median(rounds.map((round) => round.off.caughtUpSeconds)), on: median(rounds.map((round) => round.on.caughtUpSeconds)) },
  };
}

/** The comparison's table rows, for bench:ingest's report and bench:findings'. */
export function findingsComparisonRows(comparison: FindingsComparison, settings: FindingsComparisonSettings): (string | number)[][] {
  const { singles, batches, caughtUpSeconds } = comparison;
  return [
    ['findings off / on (median of the rounds)', 'findings off', 'findings on', 'on / off (median of rounds)', 'rounds'],
    [`single events, ${settings.singleSenders} senders (events/s)`, singles.off, singles.on, singles.ratio, singles.roundRatios.join(' ')],
    [`batches of ${settings.batchSize}, ${settings.batchSenders} senders (events/s)`, batches.off, batches.on, batches.ratio, batches.roundRatios.join(' ')],
    ['background work done after the last batch (s)', caughtUpSeconds.off, caughtUpSeconds.on, '', ''],
  ];
}
