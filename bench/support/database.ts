import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Pool, type PoolConfig } from 'pg';
import { EmbeddedDatabase } from '../../src/database/embedded-postgres';
import { freePort } from './ports';

/** The PostgreSQL a benchmark runs against, with what is needed to describe it in the report. */
export interface BenchDatabase {
  readonly url: string;
  readonly kind: 'embedded' | 'DATABASE_URL';
  /** The embedded cluster's folder, when the benchmark started one. */
  readonly dataDir?: string;
  stop(): Promise<void>;
}

/** The settings that decide how fast a commit is and how much is cached; reported with every result. */
const REPORTED_SETTINGS = [
  'fsync',
  'synchronous_commit',
  'full_page_writes',
  'wal_level',
  'wal_sync_method',
  'commit_delay',
  'shared_buffers',
  'effective_cache_size',
  'work_mem',
  'max_wal_size',
  'checkpoint_timeout',
  'max_connections',
  'jit',
];

/**
 * DATABASE_URL when set; otherwise a fresh embedded PostgreSQL the way the service starts one by default
 * (src/database/embedded-postgres.ts, no extra settings: durable commits, fsync on). `keepDir` names a folder
 * to keep (and reuse) the cluster in; without it a temporary folder is used and removed afterwards.
 */
export async function startDatabase(options: {
  keepDir?: string;
  log: (message: string) => void;
  /** Extra server settings for a diagnostic run (e.g. pg_stat_statements); never durability settings. */
  settings?: Record<string, string>;
}): Promise<BenchDatabase> {
  if (process.env.DATABASE_URL) {
    options.log('using DATABASE_URL');
    return { url: process.env.DATABASE_URL, kind: 'DATABASE_URL', stop: async () => undefined };
  }
  const dataDir = options.keepDir ?? (await mkdtemp(join(tmpdir(), 'jartrail-bench-')));
  const reused = existsSync(join(dataDir, 'postgres', 'PG_VERSION'));
  options.log(`${reused ? 'reusing' : 'starting'} an embedded PostgreSQL in ${dataDir}`);
  const embedded = await EmbeddedDatabase.start({ dataDir, port: await freePort(), settings: options.settings });
  return {
    url: embedded.url,
    kind: 'embedded',
    dataDir,
    stop: async () => {
      await embedded.stop();
      if (!options.keepDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface DatabaseDescription {
  readonly version: string;
  readonly settings: Readonly<Record<string, string>>;
}

export async function describeDatabase(url: string): Promise<DatabaseDescription> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows: versionRows } = await client.query<{ server_version: string }>('SHOW server_version');
    const { rows } = await client.query<{ name: string; setting: string; unit: string | null }>(
      `SELECT name, current_setting(name) AS setting, unit FROM pg_settings WHERE name = ANY($1::text[]) ORDER BY name`,
      [REPORTED_SETTINGS],
    );
    return { version: versionRows[0]!.server_version, settings: Object.fromEntries(rows.map((row) => [row.name, row.setting])) };
  } finally {
    await client.end();
  }
}

/** BENCH_PG_STAT_STATEMENTS=1: load pg_stat_statements to count statements and their time per phase (a diagnostic run). */
export const STATEMENT_STATS_SETTINGS = { shared_preload_libraries: 'pg_stat_statements', 'pg_stat_statements.track': 'all', 'pg_stat_statements.track_planning': 'on' };

export interface StatementStats {
  readonly transactions: number;
  readonly statements: number;
  readonly totalMs: number;
  /** Time spent planning (statements are unnamed, so each execution is planned again). */
  readonly planMs: number;
  readonly top: readonly { calls: number; totalMs: number; meanMs: number; meanPlanMs: number; rows: number; query: string }[];
}

/** Statement statistics since the last reset (and resets them), with the transactions committed since `xactBefore`. */
export class StatementCounter {
  private xactBefore = 0;

  constructor(private readonly url: string) {}

  private async withClient<T>(run: (client: Client) => Promise<T>): Promise<T> {
    const client = new Client({ connectionString: this.url });
    await client.connect();
    try {
      return await run(client);
    } finally {
      await client.end();
    }
  }

  async install(): Promise<void> {
    await this.withClient((client) => client.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements'));
  }

  async reset(): Promise<void> {
    await this.withClient(async (client) => {
      await client.query('SELECT pg_stat_statements_reset()');
      await client.query('SELECT pg_stat_clear_snapshot()');
      const { rows } = await client.query<{ xact: string }>('SELECT xact_commit AS xact FROM pg_stat_database WHERE datname = current_database()');
      this.xactBefore = Number(rows[0]!.xact);
    });
  }

  async collect(): Promise<StatementStats> {
    return this.withClient(async (client) => {
      const { rows: xact } = await client.query<{ xact: string }>('SELECT xact_commit AS xact FROM pg_stat_database WHERE datname = current_database()');
      const { rows } = await client.query<{ calls: string; total: number; mean: number; plan_total: number; plan_mean: number; rows: string; query: string }>(
        `SELECT calls, total_exec_time AS total, mean_exec_time AS mean, total_plan_time AS plan_total, mean_plan_time AS plan_mean, rows, query FROM pg_stat_statements
         WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query NOT LIKE '%pg_stat%'
         ORDER BY total_exec_time DESC`,
      );
      return {
        transactions: Number(xact[0]!.xact) - this.xactBefore,
        statements: rows.reduce((sum, row) => sum + Number(row.calls), 0),
        totalMs: Math.round(rows.reduce((sum, row) => sum + row.total, 0)),
        planMs: Math.round(rows.reduce((sum, row) => sum + row.plan_total, 0)),
        top: rows.slice(0, 15).map((row) => ({
          calls: Number(row.calls),
          totalMs: Math.round(row.total),
          meanMs: Math.round(row.mean * 1000) / 1000,
          meanPlanMs: Math.round(row.plan_mean * 1000) / 1000,
          rows: Number(row.rows),
          query: row.query.replace(/\s+/g, ' ').slice(0, 160),
        })),
      };
    });
  }
}

/**
 * A pg pool for the benchmark's own reads and ceilings. Stopping the embedded PostgreSQL ends the sessions of its
 * idle clients (57P01); that is the end of the run, not a failure of it.
 */
export function benchPool(config: PoolConfig): Pool {
  const pool = new Pool(config);
  pool.on('error', () => undefined);
  return pool;
}
