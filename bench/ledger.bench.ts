import 'reflect-metadata';
import { randomBytes, randomInt } from 'node:crypto';
import { type Pool } from 'pg';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../src/database/data-source-options';
import { runMigrationsUnderLock } from '../src/database/database-bootstrap';
import { EVENTS_PER_CHAIN } from './support/chains';
import { copyBytea, copyIn, copyRow } from './support/copy';
import { type BenchDatabase, benchPool, describeDatabase, startDatabase } from './support/database';
import { waitForBackgroundWork } from './support/ingest-load';
import { ingestModeRun } from './support/mode-runs';
import { HttpClient, newHistogram, rate, summarize } from './support/load';
import { type LedgerMode, setLedgerMode } from './support/ledger-modes';
import { loadAverage, machineInfo, round2, waitForQuietMachine } from './support/machine';
import { describeSettings, logger, median, medianOfRoundRatios, readSettings, referenceFirst, sourceRevision, table, verdict, writeResult } from './support/report';
import type { VerifiableRequestObjects } from './support/request-objects';
import { registerSources } from './support/senders';
import { type ServiceProcess, startService } from './support/service';

/**
 * `npm run bench:ledger`, two parts in one run, against one fresh PostgreSQL:
 *
 * The schema is the service's own: its migrations, run first, and nothing added (support/ledger-modes.ts).
 *
 * 1. Ingest with the ledger off and on, in rounds of one "off" and one "on" run back to back, alternating which
 *    goes first (off, on, on, off, ...) so that drift of a shared machine falls on both. "Off" is ingest as it was
 *    before the ledger: the queue triggers disabled and LEDGER_ENABLED=false. "On" is the default service: the
 *    triggers queue every record in the ingest transaction and the sequencer ledgers and checkpoints them as they
 *    come. The ratio is the median of the rounds' on/off ratios (support/report.ts). Target: on ≥ 0.85 × off.
 * 2. Inclusion proofs at scale: BENCH_LEDGER_RECORDS events (default 1,000,000) COPYed in, ledgered by the
 *    service's own sequencer with its default settings (LEDGER_SEQUENCER_BATCH, LEDGER_CHECKPOINT_RECORDS: set them
 *    with BENCH_SERVICE_ENV, and the report says so), then GET /v1/ledger/proofs/inclusion for random records over
 *    HTTP, one client. Target: p99 < 20 ms.
 *
 * Settings: BENCH_LEDGER_ROUNDS (3 rounds of an off and an on run), BENCH_LEDGER_SINGLE_CHAINS (300), BENCH_LEDGER_BATCH_CHAINS (1000),
 * BENCH_LEDGER_RECORDS (1000000), BENCH_LEDGER_PROOFS (3000), BENCH_SKIP_INGEST / BENCH_SKIP_PROOFS (1 skips),
 * BENCH_KEEP_DATA_DIR (keep the cluster in this folder; a later run tops the ledger up to BENCH_LEDGER_RECORDS
 * instead of seeding again), BENCH_WARMUP_CHAINS (50 a run), DATABASE_URL, BENCH_MAX_LOAD and
 * BENCH_LOAD_WAIT_SECONDS as for bench:ingest, BENCH_SERVICE_ENV (support/service.ts). Every setting that is not its
 * default is printed and recorded in the result (nonDefaultSettings).
 */

const log = logger('bench:ledger');

const benchSettings = readSettings({
  rounds: ['BENCH_LEDGER_ROUNDS', 3],
  singleChains: ['BENCH_LEDGER_SINGLE_CHAINS', 300],
  singleSenders: ['BENCH_SINGLE_SENDERS', 32],
  batchChains: ['BENCH_LEDGER_BATCH_CHAINS', 1000],
  batchSize: ['BENCH_BATCH_SIZE', 100],
  batchSenders: ['BENCH_BATCH_SENDERS', 4],
  warmupChains: ['BENCH_WARMUP_CHAINS', 50],
  records: ['BENCH_LEDGER_RECORDS', 1_000_000],
  proofs: ['BENCH_LEDGER_PROOFS', 3000],
  maxLoad: ['BENCH_MAX_LOAD', 0.7],
  loadWaitSeconds: ['BENCH_LOAD_WAIT_SECONDS', 600],
});
const settings = benchSettings.values;

type Mode = LedgerMode;

interface IngestRun {
  readonly mode: Mode;
  readonly singlesPerSecond: number;
  readonly singlesP99: number;
  readonly batchesPerSecond: number;
  readonly batchesP99: number;
  /** Seconds from the end of the batch phase until the ledger held every record (on only). */
  readonly drainSeconds?: number;
}

async function waitForDrain(pool: Pool, timeoutSeconds: number, service: ServiceProcess): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (service.child.exitCode !== null || service.child.signalCode !== null) {
      throw new Error(`the service exited (${service.child.exitCode ?? service.child.signalCode}) while sequencing:\n${service.warnings().slice(-20).join('\n')}`);
    }
    const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM ledger_pending');
    if (Number(rows[0]!.n) === 0) return round2((Date.now() - started) / 1000);
    if (Date.now() - started > timeoutSeconds * 1000) throw new Error(`the sequencer did not drain ${rows[0]!.n} pending records in ${timeoutSeconds} s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function ingestRun(database: BenchDatabase, pool: Pool, masterKey: string, mode: Mode, tag: string, registered: { objects?: VerifiableRequestObjects }): Promise<IngestRun> {
  await setLedgerMode(pool, mode);
  // "On" is the service as it comes (LEDGER_ENABLED defaults to true); "off" sets LEDGER_ENABLED=false.
  const { after: drainSeconds, ...rates } = await ingestModeRun({
    database,
    pool,
    masterKey,
    env: mode === 'off' ? { LEDGER_ENABLED: 'false' } : {},
    tag,
    registered,
    settings,
    findingsOn: true,
    afterBatches: async (service, alive) => {
      const drained = mode === 'on' ? await waitForDrain(pool, 300, service) : undefined;
      // Every run leaves no queued work behind: the next run's service would otherwise do it during its measurement.
      await waitForBackgroundWork(pool, 600, alive);
      return drained;
    },
  });
  const run: IngestRun = { mode, ...rates, ...(drainSeconds !== undefined && { drainSeconds }) };
  log(`  ${mode}: singles ${run.singlesPerSecond} events/s (p99 ${run.singlesP99} ms), batches ${run.batchesPerSecond} events/s (p99 ${run.batchesP99} ms)${run.drainSeconds !== undefined ? `, ledger drained ${run.drainSeconds} s after the last batch` : ''}`);
  return run;
}

/** COPYs `count` small events of one source into `events` (the queue trigger on), in chunks. */
async function seedEvents(pool: Pool, sourceId: string, count: number): Promise<void> {
  const client = await pool.connect();
  try {
    const chunk = 100_000;
    const base = Date.now() - 30 * 86_400_000;
    for (let offset = 0; offset < count; offset += chunk) {
      const rows: string[] = [];
      for (let index = offset; index < Math.min(count, offset + chunk); index++) {
        const at = new Date(base + index * 1000).toISOString();
        const data = JSON.stringify({ digest: randomBytes(32).toString('base64url'), decision: 'approved', subject: `psn:${index}` });
        rows.push(copyRow([sourceId, `seed-${index}`, 'consent.decision', at, at, copyBytea(randomBytes(32)), data]));
      }
      await copyIn(client, 'COPY events (source_id, event_id, type, emitted_at, occurred_at, fingerprint, data) FROM STDIN', rows);
      log(`  seeded ${Math.min(count, offset + chunk)} events`);
    }
  } finally {
    client.release();
  }
}

async function proofRun(database: BenchDatabase, pool: Pool, masterKey: string) {
  await setLedgerMode(pool, 'on');
  const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM ledger_entries');
  const existing = Number(rows[0]!.n);
  // The sequencer's default batch and checkpoint interval: what a deployment runs.
  const service: ServiceProcess = await startService({ databaseUrl: database.url, masterKey });
  const http = new HttpClient(service.url, 1);
  const admin = { authorization: `Bearer ${service.adminKey}` };
  try {
    const sources = await registerSources(http, service.adminKey, randomBytes(3).toString('hex'));
    const toSeed = Math.max(0, settings.records - existing);
    log(`proofs: seeding ${toSeed} events by COPY (the queue trigger on), then the service's sequencer ledgers them`);
    const seedStart = Date.now();
    await seedEvents(pool, sources.authorization_server.id, toSeed);
    const copySeconds = round2((Date.now() - seedStart) / 1000);
    const sequenceStart = Date.now();
    await waitForDrain(pool, 3600, service);
    const sequenceSeconds = round2((Date.now() - sequenceStart) / 1000);
    const checkpoint = JSON.parse(await http.expect(200, 'POST', '/v1/ledger/checkpoints', admin)) as { tree_size: number };
    log(`  ${checkpoint.tree_size} records ledgered: COPY ${copySeconds} s, sequencing ${sequenceSeconds} s (${rate(toSeed, sequenceSeconds)} records/s)`);

    // Warm-up, then one client asking for random records' proofs in the latest checkpoint's tree.
    for (let index = 0; index < 200; index++) await http.expect(200, 'GET', `/v1/ledger/proofs/inclusion?seq=${randomInt(checkpoint.tree_size)}`, admin);
    const histogram = newHistogram();
    const started = Date.now();
    for (let index = 0; index < settings.proofs; index++) {
      const seq = randomInt(checkpoint.tree_size);
      const begin = process.hrtime.bigint();
      await http.expect(200, 'GET', `/v1/ledger/proofs/inclusion?seq=${seq}`, admin);
      histogram.record(Math.max(1, Number(process.hrtime.bigint() - begin)));
    }
    const seconds = (Date.now() - started) / 1000;
    const latency = summarize(histogram);
    // Reference, same client: an auditor read that costs one small query, plus the access record every auditor
    // request writes (a durable INSERT): the floor under any proof.
    const reference = newHistogram();
    for (let index = 0; index < Math.min(1000, settings.proofs); index++) {
      const begin = process.hrtime.bigint();
      await http.expect(200, 'GET', '/v1/ledger/checkpoints/latest', admin);
      reference.record(Math.max(1, Number(process.hrtime.bigint() - begin)));
    }
    const referenceLatency = summarize(reference);
    log(`  inclusion proofs: p50 ${latency.p50} ms, p99 ${latency.p99} ms; reference GET /v1/ledger/checkpoints/latest: p50 ${referenceLatency.p50} ms, p99 ${referenceLatency.p99} ms (load ${loadAverage()[0]})`);
    // From an earlier signed checkpoint (proofs are served between signed tree heads only): the oldest one above a
    // third of the tree, or the empty tree.
    const signed = JSON.parse(await http.expect(200, 'GET', '/v1/ledger/checkpoints?limit=100', admin)) as { items: { tree_size: number }[] };
    const from = signed.items.filter((item) => item.tree_size >= checkpoint.tree_size / 3).at(-1)?.tree_size ?? 0;
    const consistencyBegin = process.hrtime.bigint();
    await http.expect(200, 'GET', `/v1/ledger/proofs/consistency?from=${from}`, admin);
    const consistencyMs = round2(Number(process.hrtime.bigint() - consistencyBegin) / 1e6);
    const { rows: sizes } = await pool.query<{ nodes: string; entries: string }>(
      `SELECT pg_size_pretty(pg_total_relation_size('ledger_nodes')) AS nodes, pg_size_pretty(pg_total_relation_size('ledger_entries')) AS entries`,
    );
    return { treeSize: checkpoint.tree_size, copySeconds, sequenceSeconds, sequencedPerSecond: rate(toSeed, sequenceSeconds), proofs: settings.proofs, requestsPerSecond: rate(settings.proofs, seconds), latency, referenceLatency, consistencyMs, tableSizes: sizes[0] };
  } finally {
    await http.close();
    await service.stop();
  }
}

async function main(): Promise<void> {
  const revision = sourceRevision();
  log(`on ${revision.commit}${revision.dirty ? ' (with uncommitted changes)' : ''}; ${describeSettings(benchSettings)}`);
  const quiet = await waitForQuietMachine(settings.maxLoad, settings.loadWaitSeconds, log);
  const database = await startDatabase({ log, keepDir: process.env.BENCH_KEEP_DATA_DIR || undefined });
  const pool = benchPool({ connectionString: database.url, max: 2 });
  const masterKey = randomBytes(32).toString('base64url');
  try {
    const databaseInfo = await describeDatabase(database.url);
    // The schema first, as the service would apply it: the modes below switch parts of it.
    const migrator = new DataSource(dataSourceOptions(database.url, 2));
    await migrator.initialize();
    await runMigrationsUnderLock(migrator);
    await migrator.destroy();
    // Rounds of an "off" and an "on" run back to back, "off" (the reference) first in even rounds.
    const rounds: { off: IngestRun; on: IngestRun }[] = [];
    const registered: { objects?: VerifiableRequestObjects } = {};
    if (process.env.BENCH_SKIP_INGEST !== '1') {
      for (let round = 0; round < settings.rounds; round++) {
        const order: Mode[] = referenceFirst(round) ? ['off', 'on'] : ['on', 'off'];
        const pair: Partial<Record<Mode, IngestRun>> = {};
        for (const mode of order) {
          log(`ingest round ${round + 1}, ledger ${mode}: ${settings.singleChains * EVENTS_PER_CHAIN} single events, ${settings.batchChains * EVENTS_PER_CHAIN} in batches (load ${loadAverage()[0]})`);
          pair[mode] = await ingestRun(database, pool, masterKey, mode, `${mode}${round}${randomBytes(2).toString('hex')}`, registered);
        }
        rounds.push({ off: pair.off!, on: pair.on! });
      }
    }
    const side = (key: 'singlesPerSecond' | 'batchesPerSecond') => {
      const off = rounds.map((round) => round.off[key]);
      const on = rounds.map((round) => round.on[key]);
      return { off: median(off), on: median(on), ...medianOfRoundRatios(on, off) };
    };
    const ingest = rounds.length === 0 ? undefined : { rounds, singles: side('singlesPerSecond'), batches: side('batchesPerSecond') };
    const proofs = process.env.BENCH_SKIP_PROOFS === '1' ? undefined : await proofRun(database, pool, masterKey);

    const result = {
      load: { beforeStart: quiet },
      database: { kind: database.kind, version: databaseInfo.version, settings: databaseInfo.settings },
      ingest,
      proofs,
    };
    const path = await writeResult('ledger', benchSettings, result);
    const at = new Date().toISOString();
    const machine = machineInfo();
    const rowsOut: (string | number)[][] = [['measurement', 'ledger off (median)', 'ledger on (median)', 'on / off (median of rounds)', 'needed', 'result']];
    if (ingest) {
      rowsOut.push([`single events, ${settings.singleSenders} senders (events/s)`, ingest.singles.off, ingest.singles.on, ingest.singles.ratio, '>= 0.85', verdict(ingest.singles.ratio >= 0.85)]);
      rowsOut.push([`batches of ${settings.batchSize}, ${settings.batchSenders} senders (events/s)`, ingest.batches.off, ingest.batches.on, ingest.batches.ratio, '>= 0.85', verdict(ingest.batches.ratio >= 0.85)]);
    }
    process.stdout.write(
      `\njartrail ledger benchmark (${at}, ${revision.commit}${revision.dirty ? '+changes' : ''})\n` +
        `machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}; PostgreSQL ${databaseInfo.version} (${database.kind})\n` +
        `${describeSettings(benchSettings)}\n\n` +
        (ingest ? `${table(rowsOut)}\n\n` : '') +
        (proofs
          ? table([
              ['inclusion proofs over HTTP, one client', 'records', 'p50 ms', 'p99 ms', 'max ms', 'needed', 'result'],
              [`${proofs.proofs} random records`, proofs.treeSize, proofs.latency.p50, proofs.latency.p99, proofs.latency.max, 'p99 < 20', verdict(proofs.latency.p99 < 20)],
              ['(ref) GET /v1/ledger/checkpoints/latest', proofs.treeSize, proofs.referenceLatency.p50, proofs.referenceLatency.p99, proofs.referenceLatency.max, '', ''],
            ]) + `\nsequencing ${proofs.sequencedPerSecond} records/s; a consistency proof from a third of the tree: ${proofs.consistencyMs} ms; node store ${proofs.tableSizes?.nodes}, entries ${proofs.tableSizes?.entries}\n`
          : '') +
        `result: ${path}\n`,
    );
  } finally {
    await pool.end();
    await database.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench:ledger failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
