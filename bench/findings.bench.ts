import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { type Pool } from 'pg';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../src/database/data-source-options';
import { runMigrationsUnderLock } from '../src/database/database-bootstrap';
import { EVENTS_PER_CHAIN } from './support/chains';
import { type BenchDatabase, benchPool, describeDatabase, startDatabase } from './support/database';
import { waitForBackgroundWork } from './support/ingest-load';
import { ingestModeRun } from './support/mode-runs';
import { loadAverage, machineInfo, waitForQuietMachine } from './support/machine';
import { describeSettings, logger, median, medianOfRoundRatios, readSettings, referenceFirst, sourceRevision, table, writeResult } from './support/report';
import type { VerifiableRequestObjects } from './support/request-objects';

/**
 * `npm run bench:findings`: what findings cost ingest. Rounds of one run with the findings evaluator off and one with
 * it on, back to back against one PostgreSQL, alternating which goes first (off, on, on, off, ...), as bench:ledger
 * does for the ledger. "Off" runs the service with FINDINGS_ENABLED=false: the linker still queues each chain it
 * changes (one statement per linker batch), but nothing evaluates them; the bench empties that queue afterwards so
 * the next run does not inherit it. "On" is the default service: the evaluator runs every rule over every chain the
 * linker changed, in the same process, during the measurement. Each run sends single events, then batches, and waits
 * for all background work (with findings on, the evaluations too) before the next phase; the report gives how long
 * the evaluations took to catch up after the batch phase. The ratio is the median of the rounds' on/off ratios.
 *
 * Settings: BENCH_FINDINGS_ROUNDS (3), BENCH_FINDINGS_SINGLE_CHAINS (300), BENCH_FINDINGS_BATCH_CHAINS (1000),
 * BENCH_SINGLE_SENDERS (32), BENCH_BATCH_SIZE (100), BENCH_BATCH_SENDERS (4), BENCH_WARMUP_CHAINS (50 a run),
 * DATABASE_URL, BENCH_MAX_LOAD and BENCH_LOAD_WAIT_SECONDS as for bench:ingest, BENCH_SERVICE_ENV
 * (support/service.ts). Every setting that is not its default is printed and recorded in the result.
 */

const log = logger('bench:findings');

const benchSettings = readSettings({
  rounds: ['BENCH_FINDINGS_ROUNDS', 3],
  singleChains: ['BENCH_FINDINGS_SINGLE_CHAINS', 300],
  singleSenders: ['BENCH_SINGLE_SENDERS', 32],
  batchChains: ['BENCH_FINDINGS_BATCH_CHAINS', 1000],
  batchSize: ['BENCH_BATCH_SIZE', 100],
  batchSenders: ['BENCH_BATCH_SENDERS', 4],
  warmupChains: ['BENCH_WARMUP_CHAINS', 50],
  maxLoad: ['BENCH_MAX_LOAD', 0.7],
  loadWaitSeconds: ['BENCH_LOAD_WAIT_SECONDS', 600],
});
const settings = benchSettings.values;

type Mode = 'off' | 'on';

interface IngestRun {
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

async function ingestRun(database: BenchDatabase, pool: Pool, masterKey: string, mode: Mode, tag: string, registered: { objects?: VerifiableRequestObjects }): Promise<IngestRun> {
  const findingsOn = mode === 'on';
  const { after, ...rates } = await ingestModeRun({
    database,
    pool,
    masterKey,
    env: findingsOn ? {} : { FINDINGS_ENABLED: 'false' },
    tag,
    registered,
    settings,
    findingsOn,
    afterBatches: async (_service, alive) => {
      const caughtUpSeconds = await waitForBackgroundWork(pool, 600, alive, true, findingsOn);
      if (!findingsOn) {
        // Nobody evaluated what the linker queued: the next run must not inherit it (this bench's own database).
        await pool.query(`DELETE FROM finding_checks`);
        return { caughtUpSeconds };
      }
      const { rows } = await pool.query<{ open: string }>(`SELECT count(*) AS open FROM findings WHERE status = 'open'`);
      return { caughtUpSeconds, findings: { evaluatedChains: settings.singleChains + settings.batchChains, open: Number(rows[0]!.open) } };
    },
  });
  const run: IngestRun = { mode, ...rates, ...after };
  log(`  findings ${mode}: singles ${run.singlesPerSecond} events/s (p99 ${run.singlesP99} ms), batches ${run.batchesPerSecond} events/s (p99 ${run.batchesP99} ms), background work done ${run.caughtUpSeconds} s after the last batch${run.findings ? `, ${run.findings.open} findings open in all` : ''}`);
  return run;
}

async function main(): Promise<void> {
  const revision = sourceRevision();
  log(`on ${revision.commit}${revision.dirty ? ' (with uncommitted changes)' : ''}; ${describeSettings(benchSettings)}`);
  const quiet = await waitForQuietMachine(settings.maxLoad, settings.loadWaitSeconds, log);
  const database = await startDatabase({ log });
  const pool = benchPool({ connectionString: database.url, max: 2 });
  const masterKey = randomBytes(32).toString('base64url');
  try {
    const databaseInfo = await describeDatabase(database.url);
    const migrator = new DataSource(dataSourceOptions(database.url, 2));
    await migrator.initialize();
    await runMigrationsUnderLock(migrator);
    await migrator.destroy();
    const rounds: { off: IngestRun; on: IngestRun }[] = [];
    const registered: { objects?: VerifiableRequestObjects } = {};
    for (let round = 0; round < settings.rounds; round++) {
      const order: Mode[] = referenceFirst(round) ? ['off', 'on'] : ['on', 'off'];
      const pair: Partial<Record<Mode, IngestRun>> = {};
      for (const mode of order) {
        log(`round ${round + 1}, findings ${mode}: ${settings.singleChains * EVENTS_PER_CHAIN} single events, ${settings.batchChains * EVENTS_PER_CHAIN} in batches (load ${loadAverage()[0]})`);
        pair[mode] = await ingestRun(database, pool, masterKey, mode, `${mode}${round}${randomBytes(2).toString('hex')}`, registered);
      }
      rounds.push({ off: pair.off!, on: pair.on! });
    }
    const side = (key: 'singlesPerSecond' | 'batchesPerSecond') => {
      const off = rounds.map((round) => round.off[key]);
      const on = rounds.map((round) => round.on[key]);
      return { off: median(off), on: median(on), ...medianOfRoundRatios(on, off) };
    };
    const singles = side('singlesPerSecond');
    const batches = side('batchesPerSecond');
    const caughtUp = { off: median(rounds.map((round) => round.off.caughtUpSeconds)), on: median(rounds.map((round) => round.on.caughtUpSeconds)) };
    const result = {
      load: { beforeStart: quiet },
      database: { kind: database.kind, version: databaseInfo.version, settings: databaseInfo.settings },
      rounds,
      singles,
      batches,
      caughtUpSeconds: caughtUp,
    };
    const path = await writeResult('findings', benchSettings, result);
    const machine = machineInfo();
    process.stdout.write(
      `\njartrail findings benchmark (${new Date().toISOString()}, ${revision.commit}${revision.dirty ? '+changes' : ''})\n` +
        `machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}; PostgreSQL ${databaseInfo.version} (${database.kind})\n` +
        `${describeSettings(benchSettings)}\n\n` +
        table([
          ['measurement', 'findings off (median)', 'findings on (median)', 'on / off (median of rounds)', 'rounds'],
          [`single events, ${settings.singleSenders} senders (events/s)`, singles.off, singles.on, singles.ratio, singles.roundRatios.join(' ')],
          [`batches of ${settings.batchSize}, ${settings.batchSenders} senders (events/s)`, batches.off, batches.on, batches.ratio, batches.roundRatios.join(' ')],
          ['background work done after the last batch (s)', caughtUp.off, caughtUp.on, '', ''],
        ]) +
        `\nresult: ${path}\n`,
    );
  } finally {
    await pool.end();
    await database.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench:findings failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
