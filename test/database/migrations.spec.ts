import { randomBytes, randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { canonicalJson } from '../../src/common/canonical-json';
import { dataSourceOptions } from '../../src/database/data-source-options';
import { runMigrationsUnderLock } from '../../src/database/database-bootstrap';
import { leafHashOf, leafInputOf, payloadHashOf } from '../../src/ledger/ledger-leaf';
import { MIGRATIONS } from '../../migrations';
import { TriageOfTokenHolders1796820000000 } from '../../migrations/1796820000000-TriageOfTokenHolders';
import { startTestApp } from '../support/app';
import { createTestDatabase, migrate, type TestDatabase } from '../support/database';
import { checkpointNow, verifyLedger } from '../support/ledger';
import { TEST_ENV } from '../support/test-env';

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
  notification_attempts: 'outcome',
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
    const ledgerAt = MIGRATIONS.findIndex((migration) => new migration().name.startsWith('Ledger'));
    await migrate(db.url, MIGRATIONS.slice(0, ledgerAt));
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

    await migrate(db.url);

    const queued = await db.rows<{ record_kind: string; seq: string }>(
      `SELECT p.record_kind, u.seq FROM ledger_pending p CROSS JOIN LATERAL unnest(p.record_seqs) WITH ORDINALITY AS u(seq, ord) ORDER BY p.id, u.ord`,
    );
    expect(queued.filter((row) => row.record_kind === 'event').map((row) => String(row.seq))).toEqual(rows.map((row) => String(row.seq)));
    expect(queued.map((row) => row.record_kind)).toEqual([...rows.map(() => 'event'), 'conflict']);
  });
});

describe('the migration that lets token holders triage, on a database whose triage was ledgered before it', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase({ migrated: false });
  });
  afterAll(() => db.drop());

  it("keeps a key holder's ledgered triage verifying, and refuses to be reverted while a token holder's triage exists", async () => {
    const at = MIGRATIONS.findIndex((migration) => new migration().name.startsWith('TriageOfTokenHolders'));
    await migrate(db.url, MIGRATIONS.slice(0, at));
    // A key holder's triage, ledgered as the sequencer did before the migration: the leaf's source_id is the key id.
    const keyId = randomUUID();
    await db.pool.query(`INSERT INTO api_keys (id, name, key_sha256, scopes) VALUES ($1, 'reviewer', $2, ARRAY['audit:triage'])`, [keyId, randomBytes(32)]);
    const [finding] = await db.rows<{ id: string }>(
      `INSERT INTO findings (subject, rule, finding_key, severity, status, summary, facts, evidence, occurred_at, first_seen_at, updated_at)
       VALUES ('record:1', 'orphan', 'k', 'low', 'open', 's', '{}', '[]', now(), now(), now()) RETURNING id`,
    );
    const data = { finding_id: finding!.id, rule: 'orphan', chain_digest: null, status: 'acknowledged', note: 'before', triaged_by: { api_key_id: keyId, name: 'reviewer' } };
    const [triage] = await db.rows<{ seq: string; event_id: string; fingerprint: Buffer; recorded_at: string }>(
      `INSERT INTO finding_triage (finding_id, event_id, api_key_id, status, note, fingerprint, data)
       VALUES ($1, 'triage-before', $2, 'acknowledged', 'before', sha256(convert_to($3, 'UTF8')), $3::jsonb)
       RETURNING seq, event_id, fingerprint, to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS recorded_at`,
      [finding!.id, keyId, canonicalJson(data)],
    );
    const salt = randomBytes(16);
    const payloadHash = payloadHashOf(salt, data);
    const leaf = leafInputOf(
      0,
      {
        kind: 'triage',
        recordSeq: String(triage!.seq),
        sourceId: keyId,
        eventId: triage!.event_id,
        type: 'finding.triage',
        emittedAt: triage!.recorded_at,
        occurredAt: null,
        recordedAt: triage!.recorded_at,
        fingerprint: triage!.fingerprint.toString('base64url'),
        originalSeq: null,
      },
      payloadHash,
    );
    await db.pool.query(`DELETE FROM ledger_pending`);
    await db.pool.query(`INSERT INTO ledger_entries (seq, record_kind, record_seq, salt, payload_hash, leaf_hash) VALUES (0, 'triage', $1, $2, $3, $4)`, [
      triage!.seq,
      salt,
      payloadHash,
      leafHashOf(leaf),
    ]);

    // The service migrates at start; the old triage still verifies, under a checkpoint signed after the migration too.
    const app = await startTestApp({ db });
    try {
      expect(await db.rows(`SELECT api_key_id, triaged_by_subject, triaged_by_issuer FROM finding_triage`)).toEqual([{ api_key_id: keyId, triaged_by_subject: null, triaged_by_issuer: null }]);
      await checkpointNow(app);
      expect(await verifyLedger(app)).toMatchObject({ ok: true, tree_size: 1, failures: [] });
    } finally {
      await app.close();
    }

    await db.pool.query(
      `INSERT INTO finding_triage (finding_id, event_id, triaged_by_subject, triaged_by_issuer, status, note, fingerprint, data)
       VALUES ($1, 'triage-by-token', 'alice', 'https://idp.example', 'resolved', 'x', '\\x00', '{}')`,
      [finding!.id],
    );
    const source = new DataSource(dataSourceOptions(db.url, 2));
    await source.initialize();
    try {
      // The migrations after it are reverted first (none of them refuses), so that TriageOfTokenHolders is the last.
      const after = MIGRATIONS.length - 1 - MIGRATIONS.indexOf(TriageOfTokenHolders1796820000000);
      for (let undone = 0; undone < after; undone++) await source.undoLastMigration({ transaction: 'each' });
      await expect(source.undoLastMigration({ transaction: 'each' })).rejects.toThrow(/cannot revert TriageOfTokenHolders: 1 ledgered triage records name a token holder/);
      expect(await db.rows(`SELECT count(*)::int AS n FROM finding_triage WHERE api_key_id IS NULL`)).toEqual([{ n: 1 }]);
    } finally {
      await source.destroy();
    }
  });
});

describe('the migrations of compressed export chunks, reverted on a database that holds files of both encodings', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
  });
  afterAll(() => db.drop());

  it('expire the jobs whose files are compressed and remove their chunks, keep the others, and apply again', async () => {
    const completedJob = async () => {
      const [job] = await db.rows<{ id: string }>(
        `INSERT INTO exports (requested_by_subject, requested_by_issuer, format, query, proofs, chunk_bytes, status, bytes, sha256, manifest, finished_at, expires_at)
         VALUES ('alice', 'https://idp.example', 'csv', '{}', false, 4, 'completed', 8, '\\x00', 'm', now(), now() + interval '1 day') RETURNING id`,
      );
      return job!.id;
    };
    const compressed = await completedJob();
    const plain = await completedJob();
    await db.pool.query(`INSERT INTO export_chunks (export_id, chunk_no, encoding, data) VALUES ($1, 0, 'br', '\\x0b01'), ($1, 1, 'identity', 'efgh'::bytea), ($2, 0, 'identity', 'abcd'::bytea), ($2, 1, 'identity', 'efgh'::bytea)`, [
      compressed,
      plain,
    ]);
    const storage = async () => (await db.rows<{ attstorage: string }>(`SELECT attstorage FROM pg_attribute WHERE attrelid = 'export_chunks'::regclass AND attname = 'data'`))[0]!.attstorage;
    expect(await storage()).toBe('e');

    const source = new DataSource(dataSourceOptions(db.url, 2));
    await source.initialize();
    try {
      const at = MIGRATIONS.findIndex((migration) => new migration().name.startsWith('CompressedExportChunks'));
      for (let undone = 0; undone < MIGRATIONS.length - at; undone++) await source.undoLastMigration({ transaction: 'each' });
      expect(await storage()).toBe('x');
      expect(await db.rows(`SELECT id, status, run_token FROM exports ORDER BY status`)).toEqual([
        { id: plain, status: 'completed', run_token: null },
        { id: compressed, status: 'expired', run_token: null },
      ]);
      expect(await db.rows(`SELECT export_id, chunk_no, convert_from(data, 'UTF8') AS data FROM export_chunks ORDER BY chunk_no`)).toEqual([
        { export_id: plain, chunk_no: 0, data: 'abcd' },
        { export_id: plain, chunk_no: 1, data: 'efgh' },
      ]);
      expect(await db.rows(`SELECT column_name FROM information_schema.columns WHERE table_name = 'export_chunks' AND column_name = 'encoding'`)).toEqual([]);

      await runMigrationsUnderLock(source);
      expect(await storage()).toBe('e');
      expect(await db.rows(`SELECT chunk_no, encoding FROM export_chunks ORDER BY chunk_no`)).toEqual([
        { chunk_no: 0, encoding: 'identity' },
        { chunk_no: 1, encoding: 'identity' },
      ]);
    } finally {
      await source.destroy();
    }
  });
});

/**
 * Production as docs/operations.md describes it: migrations run by an owner role that is not a superuser (it has
 * CREATEROLE, for the purger role), the service by a role that owns nothing. Superusers skip every privilege check,
 * so this is the only place the purge gate's privileges are really exercised.
 */
describe('the purge gate under an owner role and an application role that are not superusers', () => {
  const suffix = randomBytes(4).toString('hex');
  const owner = `jartrail_t_owner_${suffix}`;
  const app = `jartrail_t_app_${suffix}`;
  let db: TestDatabase;
  const as = (role: string) => {
    const url = new URL(db.url);
    url.username = role;
    url.password = 'pw';
    return new Pool({ connectionString: url.toString(), max: 1 });
  };

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: false });
    await db.pool.query(`CREATE ROLE ${owner} LOGIN PASSWORD 'pw' CREATEROLE`);
    await db.pool.query(`CREATE ROLE ${app} LOGIN PASSWORD 'pw'`);
    await db.pool.query(`ALTER DATABASE "${db.name}" OWNER TO ${owner}`);
    await db.pool.query(`ALTER SCHEMA public OWNER TO ${owner}`);
  });
  afterAll(async () => {
    await db.drop();
    const admin = new Pool({ connectionString: process.env[TEST_ENV.adminUrl], max: 1 });
    await admin.query(`DROP ROLE IF EXISTS ${app}`);
    await admin.query(`DROP ROLE IF EXISTS ${owner}`);
    await admin.end();
  });

  it('migrates as the owner, and lets the application role blank payloads only through the purge function', async () => {
    const url = new URL(db.url);
    url.username = owner;
    url.password = 'pw';
    const migrateAsOwner = () => migrate(url.toString());
    // The purger role exists already (the template database's migration made it, as another database of a
    // shared cluster would have). From PostgreSQL 16 on, CREATEROLE no longer lets the owner join a role it did not
    // create: it is told what a superuser must run. Up to 15 it may, and the migration goes through at once.
    await db.pool.query(`DO $$ BEGIN CREATE ROLE jartrail_purger NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$`);
    const [{ version }] = await db.rows<{ version: number }>(`SELECT current_setting('server_version_num')::int AS version`);
    const refusal = await migrateAsOwner().then(
      () => undefined,
      (error: Error) => error.message,
    );
    const refused = new RegExp(`jartrail_purger exists, and the migrating role ${owner} is not a member`);
    expect({ refused: refusal !== undefined && refused.test(refusal), refusal }).toMatchObject({ refused: version >= 160000 });
    await db.pool.query(`GRANT jartrail_purger TO ${owner}`);
    await migrateAsOwner();
    const ownerPool = as(owner);
    const appPool = as(app);
    try {
      await ownerPool.query(`GRANT USAGE ON SCHEMA public TO ${app}`);
      await ownerPool.query(`GRANT SELECT, INSERT ON events, ledger_entries TO ${app}`);
      await ownerPool.query(`GRANT SELECT ON ledger_purges TO ${app}`);
      await ownerPool.query(`GRANT EXECUTE ON FUNCTION jartrail_purge_payloads(text, timestamptz, bigint, bigint, text, text) TO ${app}`);
      // One ledgered record and a key, written around the service: what the purge reads.
      await ownerPool.query(`INSERT INTO sources (id, name, kind) VALUES ('7d3f1c9e-2a4b-4c5d-8e6f-0a1b2c3d4e5f', 'as', 'authorization_server')`);
      await ownerPool.query(
        `INSERT INTO events (source_id, event_id, type, emitted_at, occurred_at, fingerprint, data)
         VALUES ('7d3f1c9e-2a4b-4c5d-8e6f-0a1b2c3d4e5f', 'e-1', 'consent.decision', now(), now(), '\\x00', '{"a": 1}')`,
      );
      await ownerPool.query(`INSERT INTO ledger_entries (seq, record_kind, record_seq, salt, payload_hash, leaf_hash) SELECT 0, 'event', seq, '\\x00', '\\x00', '\\x00' FROM events`);
      await ownerPool.query(`INSERT INTO ledger_signing_keys (kid, alg, public_jwk) VALUES ('k1', 'EdDSA', '{}')`);

      await expect(appPool.query(`UPDATE events SET data = NULL`)).rejects.toMatchObject({ message: expect.stringMatching(/permission denied/) });
      await expect(appPool.query(`SET ROLE jartrail_purger`)).rejects.toMatchObject({ message: expect.stringMatching(/permission denied/) });
      // The owner may set any setting and own the tables: the trigger still refuses it.
      const client = await ownerPool.connect();
      try {
        await client.query('BEGIN');
        await client.query(`SELECT set_config('jartrail.purge_policy', 'forged', true)`);
        await expect(client.query(`UPDATE events SET data = NULL`)).rejects.toMatchObject({ message: expect.stringMatching(/append-only/) });
        await client.query('ROLLBACK');
      } finally {
        client.release();
      }
      const { rows } = await appPool.query(`SELECT jartrail_purge_payloads('p', now() + interval '1 day', 0, 0, 'k1', 'a.b.c') AS records`);
      expect(rows).toEqual([{ records: 1 }]);
      expect((await appPool.query(`SELECT data FROM events`)).rows).toEqual([{ data: null }]);
      expect((await appPool.query(`SELECT from_ledger_seq::int AS from, to_ledger_seq::int AS to, kid, jws FROM ledger_purges`)).rows).toEqual([
        { from: 0, to: 0, kid: 'k1', jws: 'a.b.c' },
      ]);
    } finally {
      await ownerPool.end();
      await appPool.end();
    }
  });
});
