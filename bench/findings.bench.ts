import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../src/database/data-source-options';
import { runMigrationsUnderLock } from '../src/database/database-bootstrap';
import { benchPool, describeDatabase, startDatabase } from './support/database';
import { compareFindingsOnOff, findingsComparisonRows } from './support/findings-comparison';
import { machineInfo, waitForQuietMachine } from './support/machine';
import { describeSettings, logger, readSettings, sourceRevision, table, writeResult } from './support/report';

/**
 * `npm run bench:findings`: what findings cost ingest, alone (support/findings-comparison.ts says how it is
 * measured). `npm run bench:ingest` runs the same comparison after its ceilings; this is the quicker way to look
 * at it alone.
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

async function main(): Promise<void> {
  const revision = sourceRevision();
  log(`on ${revision.commit}${revision.dirty ? ' (with uncommitted changes)' : ''}; ${describeSettings(benchSettings)}`);
  const quiet = await waitForQuietMachine(settings.maxLoad, settings.loadWaitSeconds, log);
  const database = await startDatabase({ log });
  const pool = benchPool({ connectionString: database.url, max: 2 });
  try {
    const databaseInfo = await describeDatabase(database.url);
    const migrator = new DataSource(dataSourceOptions(database.url, 2));
    await migrator.initialize();
    await runMigrationsUnderLock(migrator);
    await migrator.destroy();
    const comparison = await compareFindingsOnOff({ database, pool, masterKey: randomBytes(32).toString('base64url'), settings, log });
    const result = {
      load: { beforeStart: quiet },
      database: { kind: database.kind, version: databaseInfo.version, settings: databaseInfo.settings },
      ...comparison,
    };
    const path = await writeResult('findings', benchSettings, result);
    const machine = machineInfo();
    process.stdout.write(
      `\njartrail findings benchmark (${new Date().toISOString()}, ${revision.commit}${revision.dirty ? '+changes' : ''})\n` +
        `machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}; PostgreSQL ${databaseInfo.version} (${database.kind})\n` +
        `${describeSettings(benchSettings)}\n\n` +
        table(findingsComparisonRows(comparison, settings)) +
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
