import { setLedgerMode } from '../../bench/support/ledger-modes';
import { createTestDatabase, type TestDatabase } from '../support/database';

/** Every index, constraint and trigger (with whether it fires) of the public schema. */
async function schemaOf(db: TestDatabase): Promise<string[]> {
  const rows = await db.rows<{ item: string }>(
    `SELECT 'index ' || indexname || ': ' || indexdef AS item FROM pg_indexes WHERE schemaname = 'public'
     UNION ALL
     SELECT 'constraint ' || conname || ': ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE connamespace = 'public'::regnamespace
     UNION ALL
     SELECT 'trigger ' || tgname || ' on ' || tgrelid::regclass || ': ' || tgenabled::text FROM pg_trigger WHERE NOT tgisinternal
     ORDER BY 1`,
  );
  return rows.map((row) => row.item);
}

describe("bench:ledger's modes", () => {
  let db: TestDatabase;
  let migrated: string[];

  beforeAll(async () => {
    db = await createTestDatabase();
    migrated = await schemaOf(db);
  });

  afterAll(async () => {
    await db.drop();
  });

  it('"off" disables the ledger queue triggers and changes nothing else', async () => {
    await setLedgerMode(db.pool, 'off');
    const off = await schemaOf(db);
    const changed = off.filter((item) => !migrated.includes(item));
    expect(changed.length).toBeGreaterThan(0);
    expect(changed.every((item) => /^trigger \S*enqueue_for_ledger on \S+: D$/.test(item))).toBe(true);
    expect(off).toHaveLength(migrated.length);
  });

  it('"on" is exactly the schema the service migrations made: no index of its own', async () => {
    await setLedgerMode(db.pool, 'on');
    expect(await schemaOf(db)).toEqual(migrated);
  });
});
