import { rm } from 'node:fs/promises';
import { Client } from 'pg';
import type { EmbeddedDatabase } from '../../src/database/embedded-postgres';
import { TEST_ENV } from './test-env';

export default async function globalTeardown(): Promise<void> {
  const holder = (globalThis as { jartrailEmbedded?: { embedded: EmbeddedDatabase; dataDir: string } }).jartrailEmbedded;
  if (holder) {
    await holder.embedded.stop();
    await rm(holder.dataDir, { recursive: true, force: true });
    return;
  }
  // An external server: leave it as found.
  const admin = new Client({ connectionString: process.env[TEST_ENV.adminUrl] });
  await admin.connect();
  const { rows } = await admin.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE starts_with(datname, $1) OR datname = $2`, [
    `jartrail_t_${process.env[TEST_ENV.runId]}_`,
    process.env[TEST_ENV.template],
  ]);
  for (const { datname } of rows) await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  await admin.end();
}
