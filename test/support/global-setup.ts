import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../../src/database/data-source-options';
import { runMigrationsUnderLock } from '../../src/database/database-bootstrap';
import { EmbeddedDatabase } from '../../src/database/embedded-postgres';
import { freePort } from './ports';
import { TEST_ENV, withDatabase } from './test-env';

/**
 * Once per run: a real PostgreSQL (the embedded one, or the server DATABASE_URL names), and a template database
 * with every migration applied. Each test file then copies the template into a database of its own.
 */
export default async function globalSetup(): Promise<void> {
  let adminUrl: string;
  if (process.env.DATABASE_URL) {
    adminUrl = process.env.DATABASE_URL;
  } else {
    const dataDir = await mkdtemp(join(tmpdir(), 'jartrail-test-'));
    const embedded = await EmbeddedDatabase.start({
      dataDir,
      port: await freePort(),
      // Durability is not under test here; speed is welcome.
      settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', max_connections: '300' },
    });
    (globalThis as { jartrailEmbedded?: unknown }).jartrailEmbedded = { embedded, dataDir };
    adminUrl = embedded.adminUrl;
  }

  const template = `jartrail_template_${process.pid}`;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS "${template}"`);
  await admin.query(`CREATE DATABASE "${template}"`);
  await admin.end();

  const dataSource = new DataSource(dataSourceOptions(withDatabase(adminUrl, template), 2));
  await dataSource.initialize();
  await runMigrationsUnderLock(dataSource);
  await dataSource.destroy();

  process.env[TEST_ENV.adminUrl] = adminUrl;
  process.env[TEST_ENV.template] = template;
  process.env[TEST_ENV.runId] = String(process.pid);
}
