import type { DataSource } from 'typeorm';
import { type Keyring, type MasterKeyId, UnknownMasterKeyError } from '../common/crypto/keyring';
import type { ServiceKeyPurpose } from './service-key.entity';

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

const OTHER_MASTER_KEY =
  'give every replica the same JARTRAIL_MASTER_KEY (or the same master.key file in JARTRAIL_DATA_DIR), and during a ' +
  'rotation the previous key in JARTRAIL_PREVIOUS_MASTER_KEYS';

/**
 * The pseudonym and fingerprint keys come from the database, so that they outlive any master key. The first
 * replica to start stores the first master key's check value and, sealed, the keys derived from it; later
 * replicas open them. A replica that holds none of the keys they are sealed under would compute other pseudonyms
 * and fail to open the sealed secrets, so it refuses to start instead.
 */
export async function adoptServiceKeys(dataSource: DataSource, keyring: Keyring): Promise<void> {
  let rows = await storedServiceKeys(dataSource);
  if (rows.length === 0) {
    await dataSource.query(`INSERT INTO service_settings (name, value) VALUES ('master_key_check', $1) ON CONFLICT (name) DO NOTHING`, [keyring.checkValue]);
    const [first] = (await dataSource.query(`SELECT value FROM service_settings WHERE name = 'master_key_check'`)) as { value: string }[];
    const derived = keyring.serviceKeysDerivedFrom(first!.value);
    if (!derived) throw new Error(`the master key does not match the one this database was set up with: ${OTHER_MASTER_KEY}`);
    for (const [purpose, key] of [
      ['subject_pseudonym', derived.pseudonym],
      ['event_fingerprint', derived.fingerprint],
    ] as const) {
      const { sealed, sealedBy } = keyring.sealing.seal('secret', key, serviceKeySealingContext(purpose));
      await dataSource.query(`INSERT INTO service_keys (purpose, sealed, sealed_by) VALUES ($1, $2, $3) ON CONFLICT (purpose) DO NOTHING`, [purpose, sealed, sealedBy]);
    }
    rows = await storedServiceKeys(dataSource);
  }
  const opened = new Map<ServiceKeyPurpose, Buffer>();
  for (const row of rows) {
    try {
      opened.set(row.purpose, keyring.sealing.open('secret', { sealed: row.sealed, sealedBy: row.sealed_by }, serviceKeySealingContext(row.purpose)));
    } catch (error) {
      if (!(error instanceof UnknownMasterKeyError)) throw error;
      throw new Error(`the database's keys are sealed under master key ${row.sealed_by}, which this replica does not hold: ${OTHER_MASTER_KEY}`);
    }
  }
  keyring.adoptServiceKeys({ pseudonym: opened.get('subject_pseudonym')!, fingerprint: opened.get('event_fingerprint')! });
}

/** What a service key is bound to (a master-key rotation re-seals it under the same). */
export const serviceKeySealingContext = (purpose: ServiceKeyPurpose) => `service key ${purpose}`;

function storedServiceKeys(dataSource: DataSource): Promise<{ purpose: ServiceKeyPurpose; sealed: Buffer; sealed_by: MasterKeyId }[]> {
  return dataSource.query(`SELECT purpose, sealed, sealed_by FROM service_keys`);
}
