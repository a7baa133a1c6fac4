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
      // The purger role belongs to the cluster (other databases use it): it stays, and applying again reuses it.
      expect(await db.rows(`SELECT rolname FROM pg_roles WHERE rolname = 'jartrail_purger'`)).toEqual([{ rolname: 'jartrail_purger' }]);
      await runMigrationsUnderLock(source);
      expect((await source.driver.createSchemaBuilder().log()).upQueries).toEqual([]);
    } finally {
      await source.destroy();
    }
  });
});

describe('the ledger migration on a database that holds records already', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase({ migrated: false });
  });
  afterAll(() => db.drop());

  it('queues every earlier event and conflict for the ledger, in the order they were recorded', async () => {
    const migrate = async (migrations: typeof MIGRATIONS) => {
      const source = new DataSource({ ...dataSourceOptions(db.url, 2), migrations });
      await source.initialize();
      try {
        await runMigrationsUnderLock(source);
      } finally {
        await source.destroy();
      }
    };
    const ledgerAt = MIGRATIONS.findIndex((migration) => new migration().name.startsWith('Ledger'));
    await migrate(MIGRATIONS.slice(0, ledgerAt));
    await db.pool.query(`INSERT INTO sources (id, name, kind) VALUES ('7d3f1c9e-2a4b-4c5d-8e6f-0a1b2c3d4e5f', 'as-before', 'authorization_server')`);
    const { rows } = await db.pool.query<{ seq: string }>(
      `INSERT INTO events (source_id, event_id, type, emitted_at, occurred_at, fingerprint, data)
       SELECT '7d3f1c9e-2a4b-4c5d-8e6f-0a1b2c3d4e5f', 'before-' || n, 'consent.decision', now(), now(), '\\x00', '{}'::jsonb
       FROM generate_series(1, 1500) AS n RETURNING seq`,
    );
    await db.pool.query(
      `INSERT INTO event_conflicts (source_id, event_id, original_seq, type, emitted_at, fingerprint, data)
       VALUES ('7d3f1c9e-2a4b-4c5d-8e6f-0a1b2c3d4e5f', 'before-1', $1, 'consent.decision', now(), '\\x01', '{}'::jsonb)`,
      [rows[0]!.seq],
    );

    await migrate(MIGRATIONS);

    const queued = await db.rows<{ record_kind: string; seq: string }>(
      `SELECT p.record_kind, u.seq FROM ledger_pending p CROSS JOIN LATERAL unnest(p.record_seqs) WITH ORDINALITY AS u(seq, ord) ORDER BY p.id, u.ord`,
    );
    expect(queued.filter((row) => row.record_kind === 'event').map((row) => String(row.seq))).toEqual(rows.map((row) => String(row.seq)));
    expect(queued.map((row) => row.record_kind)).toEqual([...rows.map(() => 'event'), 'conflict']);
  });
});
