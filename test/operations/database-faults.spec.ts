import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { TEST_MASTER_KEY } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { aConsent } from '../support/events';
import { type ServiceProcess, startServiceProcess } from '../support/process';

/** The service as its own process on a test database, with an admin key and one source to send from. */
async function serviceOn(db: TestDatabase, dataDir: string, env: Record<string, string> = {}) {
  const adminKey = `admin-${randomBytes(24).toString('base64url')}`;
  const service = await startServiceProcess({
    DATABASE_URL: db.url,
    JARTRAIL_DATA_DIR: dataDir,
    JARTRAIL_MASTER_KEY: TEST_MASTER_KEY,
    BOOTSTRAP_ADMIN_KEY: adminKey,
    VERIFY_WORKER_ENABLED: 'false',
    ...env,
  });
  const created = await fetch(`${service.url}/v1/sources`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: `as-${randomBytes(4).toString('hex')}`, kind: 'authorization_server' }),
  });
  expect(created.status).toBe(201);
  const source = (await created.json()) as { id: string; secret: string };
  const send = (body: string, id = `evt-${randomBytes(6).toString('hex')}`) => {
    const now = new Date();
    return fetch(`${service.url}/v1/events?source=${source.id}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
        'webhook-signature': new Webhook(source.secret).sign(id, now, body),
      },
      body,
    });
  };
  return { service, adminKey, send };
}

describe('failed SQL in the log', () => {
  let db: TestDatabase;
  let dataDir: string;
  let service: ServiceProcess | undefined;

  beforeAll(async () => {
    db = await createTestDatabase();
    dataDir = await mkdtemp(join(tmpdir(), 'jartrail-dbfaults-'));
  });
  afterAll(async () => {
    await service?.stop('SIGKILL');
    await db.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('names the failed statement but never its parameters (the evidence it tried to store)', async () => {
    const started = await serviceOn(db, dataDir);
    service = started.service;
    // Any statement that fails for a reason the service does not expect: here, every insert into events.
    await db.pool.query(`
      CREATE FUNCTION test_refuse_events() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'the test refuses every event'; END $$;
      CREATE TRIGGER test_refuse_events BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION test_refuse_events();`);
    const evidence = `evidence-${randomBytes(12).toString('hex')}`;
    const response = await started.send(JSON.stringify(aConsent({ subject: evidence, granted: { scope: evidence } })));
    expect(response.status).toBe(500);
    expect(await response.text()).not.toContain(evidence);
    await service.stop();

    const log = service.output();
    expect(log).toContain('the test refuses every event');
    expect(log).toContain('INSERT INTO events');
    expect(log).not.toContain(evidence);
  });
});
