import type { DataSource } from 'typeorm';
import type { Keyring } from '../common/crypto/keyring';

/** Any 64-bit constant works, as long as every replica uses the same one ("jartrail" in ASCII). */
const MIGRATION_LOCK_ID = '7667206911735114092';

/**
 * Runs pending migrations under a PostgreSQL advisory lock, so that several replicas starting at once apply
 * each migration exactly once; the others wait, then find nothing left to do.
 */
export async function runMigrationsUnderLock(dataSource: DataSource): Promise<string[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((migration) => migration.name);
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]).catch(() => undefined);
    await runner.release();
  }
}

/**
 * The first replica to start stores the master key's check value; any later replica holding another key would
 * fail to open the sealed secrets and compute different pseudonyms, so it refuses to start instead.
 */
export async function assertSharedMasterKey(dataSource: DataSource, keyring: Keyring): Promise<void> {
  await dataSource.query(
    `INSERT INTO service_settings (name, value) VALUES ('master_key_check', $1) ON CONFLICT (name) DO NOTHING`,
    [keyring.checkValue],
  );
  const [stored] = (await dataSource.query(`SELECT value FROM service_settings WHERE name = 'master_key_check'`)) as { value: string }[];
  if (stored?.value !== keyring.checkValue) {
    throw new Error(
      'the master key does not match the one this database was set up with: give every replica the same JARTRAIL_MASTER_KEY ' +
        '(or the same master.key file in JARTRAIL_DATA_DIR)',
    );
  }
}
