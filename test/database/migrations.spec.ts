import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../../src/database/data-source-options';
import { runMigrationsUnderLock } from '../../src/database/database-bootstrap';
import { MIGRATIONS } from '../../migrations';
import { createTestDatabase, type TestDatabase } from '../support/database';

/** Each append-only table with one of its columns, for an UPDATE to try. */
const APPEND_ONLY: Record<string, string> = {
  events: 'data',
  event_conflicts: 'data',
  chains: 'created_at',
  digest_aliases: 'alias',
  chain_members: 'linked_at',
  chain_facets: 'value',
  token_refs: 'role',
  access_records: 'status',
  independent_verdicts: 'verdict',
  ledger_entries: 'salt',
  ledger_nodes: 'hash',
  ledger_signing_keys: 'alg',
  ledger_checkpoints: 'jws',
  ledger_purges: 'policy',
};

describe('migrations', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: false });
  });
  afterAll(() => db.drop());

  const dataSource = async () => {
    const source = new DataSource(dataSourceOptions(db.url, 2));
    await source.initialize();
    return source;
  };

  it('apply exactly once when several replicas start at the same time', async () => {
    const replicas = await Promise.all([dataSource(), dataSource(), dataSource()]);
    const applied = await Promise.all(replicas.map((replica) => runMigrationsUnderLock(replica)));
    await Promise.all(replicas.map((replica) => replica.destroy()));
    expect(applied.flat()).toEqual(MIGRATIONS.map((migration) => new migration().name));
    expect(await db.rows('SELECT name FROM schema_migrations ORDER BY id')).toEqual(MIGRATIONS.map((migration) => ({ name: new migration().name })));
  });

  it('match the entities: generating a migration from the entities would produce nothing', async () => {
    const source = await dataSource();
    try {
      const pending = await source.driver.createSchemaBuilder().log();
      expect(pending.upQueries.map((query) => query.query)).toEqual([]);
    } finally {
      await source.destroy();
    }
  });

  it('refuse UPDATE, DELETE and TRUNCATE on evidence tables in PostgreSQL itself', async () => {
    // Statement-level triggers: refused even when no row would change, so an empty table is enough to show it.
    for (const [table, column] of Object.entries(APPEND_ONLY)) {
      for (const statement of [`UPDATE ${table} SET ${column} = ${column}`, `DELETE FROM ${table}`, `TRUNCATE ${table} CASCADE`]) {
        await expect(db.pool.query(statement)).rejects.toMatchObject({ message: expect.stringMatching(/append-only/) });
      }
    }
  });

  it('revert cleanly and apply again', async () => {
    const source = await dataSource();
    try {
      for (let index = 0; index < MIGRATIONS.length; index++) await source.undoLastMigration({ transaction: 'each' });
      expect(await db.rows(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations'`)).toEqual([]);
      await runMigrationsUnderLock(source);
      expect((await source.driver.createSchemaBuilder().log()).upQueries).toEqual([]);
    } finally {
      await source.destroy();
    }
  });
});
