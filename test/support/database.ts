import { randomBytes } from 'node:crypto';
import { Client, Pool } from 'pg';
import { DataSource } from 'typeorm';
import { MIGRATIONS } from '../../migrations';
import { dataSourceOptions } from '../../src/database/data-source-options';
import { runMigrationsUnderLock } from '../../src/database/database-bootstrap';
import { TEST_ENV, withDatabase } from './test-env';

function adminUrl(): string {
  const url = process.env[TEST_ENV.adminUrl];
  if (!url) throw new Error('the integration tests run under jest with test/support/global-setup.ts');
  return url;
}

async function asAdmin<T>(run: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  /** A direct connection for assertions and for going around the service. */
  readonly pool: Pool;
  /** Rows of a query, for short assertions. */
  rows<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

/**
 * A database of its own for one test file: a copy of the migrated template (fast), or an empty database when
 * the test is about migrations themselves.
 */
export async function createTestDatabase(options: { migrated?: boolean } = {}): Promise<TestDatabase> {
  const name = `jartrail_t_${process.env[TEST_ENV.runId]}_${randomBytes(6).toString('hex')}`;
  const template = options.migrated === false ? 'template0' : process.env[TEST_ENV.template]!;
  await asAdmin((client) => client.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`));
  const url = withDatabase(adminUrl(), name);
  const pool = new Pool({ connectionString: url, max: 4 });
  // pool.end() can resolve before the server has closed its sessions; DROP DATABASE ... WITH (FORCE) then
  // terminates them (57P01) and pg reports that on the idle client. A query on a dead connection still fails the
  // test that made it; an idle client ended by the server is no test's failure.
  pool.on('error', () => undefined);
  return {
    name,
    url,
    pool,
    rows: async (sql, params) => (await pool.query(sql, params)).rows,
    drop: async () => {
      await pool.end();
      await asAdmin((client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}

/** Runs `migrations` (all by default) on connections of their own to `url`, as the service does at start. */
export async function migrate(url: string, migrations: typeof MIGRATIONS = MIGRATIONS): Promise<void> {
  const source = new DataSource({ ...dataSourceOptions(url, 2), migrations });
  await source.initialize();
  try {
    await runMigrationsUnderLock(source);
  } finally {
    await source.destroy();
  }
}
