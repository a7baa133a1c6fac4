import { randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import { Keyring } from '../../src/common/crypto/keyring';
import { EVENTS_PER_CHAIN, type SenderKind } from './chains';
import { waitForLinking } from './link-lag';
import { HttpClient, runLoad } from './load';
import { bulkSeed, planChain, type SeedCheck, type SeedPlan, verifyAgainstService } from './seed';
import { registerSources, signedBatches, Signer } from './senders';
import { type ServiceProcess, startService } from './service';

/**
 * The database of a million events that bench:query and bench:export read: a part sent through the service's
 * ingest API (signed batches), the bulk loaded with COPY (support/seed.ts) and checked against what the service
 * wrote, then VACUUM ANALYZE and a checkpoint. What was seeded is stored in the database itself (bench_query_seed),
 * so that a cluster kept with BENCH_KEEP_DATA_DIR is reused by later runs of either benchmark (seeding is the slow part).
 */

/** What a seeded database holds, stored in it (bench_query_seed) so that a later run can reuse it. */
export interface SeedInfo {
  readonly plan: SeedPlan;
  readonly masterKey: string;
  readonly sources: Record<SenderKind, { id: string }>;
  readonly seconds: { ingest: number; bulk: number; vacuum: number };
  readonly check: SeedCheck;
  readonly counts: Record<string, number>;
}

async function readSeed(pool: Pool): Promise<SeedInfo | undefined> {
  await pool.query(`CREATE TABLE IF NOT EXISTS bench_query_seed (id integer PRIMARY KEY, info jsonb NOT NULL)`);
  const { rows } = await pool.query<{ info: SeedInfo }>(`SELECT info FROM bench_query_seed WHERE id = 1`);
  return rows[0]?.info;
}

export async function tableCounts(pool: Pool): Promise<Record<string, number>> {
  const tables = ['events', 'chains', 'chain_members', 'chain_facets', 'token_refs', 'digest_aliases', 'access_records'];
  const { rows } = await pool.query<Record<string, string>>(`SELECT ${tables.map((name) => `(SELECT count(*) FROM ${name}) AS ${name}`).join(', ')}`);
  return Object.fromEntries(tables.map((name) => [name, Number(rows[0]![name])]));
}

async function seed(pool: Pool, plan: SeedPlan, masterKey: string, service: ServiceProcess, log: (message: string) => void): Promise<SeedInfo> {
  const keyring = new Keyring(Buffer.from(masterKey, 'base64url'));
  const http = new HttpClient(service.url, 4);
  const sources = await registerSources(http, service.adminKey, plan.tag);

  // A part through the service: real HTTP, real signatures, the service's own linking.
  const ingestStarted = Date.now();
  log(`seeding ${plan.ingestedChains} chains (${plan.ingestedChains * EVENTS_PER_CHAIN} events) through POST /v1/events/batch`);
  const chains = Array.from({ length: plan.ingestedChains }, (_, index) => planChain(plan, index));
  const batches = signedBatches(`${plan.tag}-seed`, chains, 100, sources, new Signer());
  let next = 0;
  const ingest = await runLoad({
    concurrency: 4,
    nextJob: () => batches[next++],
    execute: async (request) => {
      const answer = JSON.parse(await http.expect(200, 'POST', request.path, request.headers, request.body)) as { accepted: number };
      if (answer.accepted !== request.events) throw new Error(`a seeding batch was not accepted whole: ${JSON.stringify(answer).slice(0, 300)}`);
    },
  });
  await http.close();
  if (ingest.failed > 0) throw new Error(`seeding through the API failed: ${ingest.firstErrors.join('\n')}`);
  const ingestSeconds = Math.round((Date.now() - ingestStarted) / 1000);

  // The API-sent chains are linked after commit: wait for the linker before anything reads or compares them.
  await waitForLinking(pool, 600);

  // The bulk, with COPY, while nothing else writes.
  log(`bulk-loading chains ${plan.ingestedChains}..${plan.chains - 1} (${(plan.chains - plan.ingestedChains) * EVENTS_PER_CHAIN} events) with COPY`);
  const bulk = await bulkSeed(pool, plan, sources, keyring, log);
  log(`  ${bulk.events} events in ${bulk.seconds} s`);

  // The bulk rows are what the service writes: compare the derivation with the service's rows for API-sent chains.
  const sample = Array.from({ length: Math.min(100, plan.ingestedChains) }, (_, index) => Math.floor((index * plan.ingestedChains) / Math.min(100, plan.ingestedChains)));
  const check = await verifyAgainstService(pool, plan, sample, keyring);
  log(`checked ${check.chains} API-ingested chains (${check.events} events) against the bulk derivation: ${check.mismatches.length} mismatches`);
  if (check.mismatches.length > 0) throw new Error(`the bulk rows differ from the service's:\n${check.mismatches.slice(0, 20).join('\n')}`);

  const vacuumStarted = Date.now();
  log('VACUUM (ANALYZE) and CHECKPOINT');
  await pool.query('VACUUM (ANALYZE)');
  await pool.query('CHECKPOINT');
  const info: SeedInfo = {
    plan,
    masterKey,
    sources: { authorization_server: { id: sources.authorization_server.id }, token_service: { id: sources.token_service.id }, agent: { id: sources.agent.id } },
    seconds: { ingest: ingestSeconds, bulk: bulk.seconds, vacuum: Math.round((Date.now() - vacuumStarted) / 1000) },
    check,
    counts: await tableCounts(pool),
  };
  await pool.query(`INSERT INTO bench_query_seed (id, info) VALUES (1, $1)`, [JSON.stringify(info)]);
  return info;
}

/**
 * Starts the service on `databaseUrl` (it runs the migrations) and seeds the database unless an earlier run did,
 * with the same number of chains; an earlier seed of another size, or events without a finished seed, are refused.
 */
export async function openSeededDatabase(
  pool: Pool,
  databaseUrl: string,
  wanted: { chains: number; ingestedChains: number },
  log: (message: string) => void,
  serviceEnv?: Readonly<Record<string, string>>,
): Promise<{ service: ServiceProcess; info: SeedInfo; seededNow: boolean }> {
  const existing = await readSeed(pool);
  if (existing && existing.plan.chains !== wanted.chains) {
    throw new Error(`this database was seeded with ${existing.plan.chains} chains, not ${wanted.chains}: use another BENCH_KEEP_DATA_DIR`);
  }
  const masterKey = existing?.masterKey ?? randomBytes(32).toString('base64url');
  const service = await startService({ databaseUrl, masterKey, env: serviceEnv });
  if (existing) {
    log(`reusing the seeded database: ${JSON.stringify(existing.counts)}`);
    return { service, info: existing, seededNow: false };
  }
  if ((await tableCounts(pool)).events > 0) {
    await service.stop();
    throw new Error('this database holds events but no finished seed (an interrupted seeding?): start from an empty one');
  }
  const plan: SeedPlan = { tag: `q${randomBytes(3).toString('hex')}`, chains: wanted.chains, ingestedChains: Math.min(wanted.ingestedChains, wanted.chains), seededAtMs: Date.now() };
  const info = await seed(pool, plan, masterKey, service, log);
  log(`seeded: ${JSON.stringify(info.counts)} (${info.seconds.ingest} s through the API, ${info.seconds.bulk} s bulk, ${info.seconds.vacuum} s vacuum)`);
  return { service, info, seededNow: true };
}
