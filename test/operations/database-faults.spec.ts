import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { startTestApp, TEST_MASTER_KEY, type TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { aConsent, registerSource, WebhookSender } from '../support/events';
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
    // A request refused before its body is read still has its request log line.
    const anonymous = await fetch(`${service.url}/v1/sources`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(anonymous.status).toBe(401);
    const evidence = `evidence-${randomBytes(12).toString('hex')}`;
    const response = await started.send(JSON.stringify(aConsent({ subject: evidence, granted: { scope: evidence } })));
    expect(response.status).toBe(500);
    expect(await response.text()).not.toContain(evidence);
    await service.stop();

    const log = service.output();
    expect(log).toContain('the test refuses every event');
    expect(log).toContain('INSERT INTO events');
    expect(log).not.toContain(evidence);
    const refused = log
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { req?: { path: string; method: string }; res?: { statusCode: number } })
      .filter((entry) => entry.req?.path === '/v1/sources' && entry.req.method === 'POST' && entry.res?.statusCode === 401);
    expect(refused).toHaveLength(1);
  });
});

/**
 * A TCP proxy in front of PostgreSQL that can freeze (accepts and holds connections, forwards nothing: what a
 * SIGSTOPped or partitioned server looks like from the service) and cut every connection at once.
 */
class PostgresProxy {
  private readonly pairs = new Set<[Socket, Socket]>();
  private frozen = false;
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(target: URL): Promise<PostgresProxy> {
    const server = createServer();
    const proxy = new PostgresProxy(server, 0);
    server.on('connection', (client) => {
      const upstream = connect(Number(target.port || 5432), target.hostname);
      const pair: [Socket, Socket] = [client, upstream];
      proxy.pairs.add(pair);
      client.on('data', (chunk) => (proxy.frozen ? client.pause() && false : upstream.write(chunk)) || undefined);
      upstream.on('data', (chunk) => (proxy.frozen ? upstream.pause() && false : client.write(chunk)) || undefined);
      const close = () => {
        client.destroy();
        upstream.destroy();
        proxy.pairs.delete(pair);
      };
      client.on('close', close).on('error', close);
      upstream.on('close', close).on('error', close);
      if (proxy.frozen) {
        client.pause();
        upstream.pause();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return Object.assign(proxy, { port: (server.address() as AddressInfo).port });
  }

  urlFor(url: string): string {
    const proxied = new URL(url);
    proxied.hostname = '127.0.0.1';
    proxied.port = String(this.port);
    return proxied.toString();
  }

  freeze(): void {
    this.frozen = true;
    for (const [client, upstream] of this.pairs) {
      client.pause();
      upstream.pause();
    }
  }

  thaw(): void {
    this.frozen = false;
    for (const [client, upstream] of this.pairs) {
      client.resume();
      upstream.resume();
    }
  }

  /** Every connection dies at once, as when the server or the network between goes away mid-transaction. */
  cutAll(): void {
    for (const [client, upstream] of this.pairs) {
      client.destroy();
      upstream.destroy();
    }
  }

  async close(): Promise<void> {
    this.cutAll();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

describe('a database that freezes or drops connections', () => {
  let db: TestDatabase;
  let proxy: PostgresProxy;
  let app: TestApp;
  let sender: WebhookSender;

  beforeAll(async () => {
    db = await createTestDatabase();
    proxy = await PostgresProxy.start(new URL(db.url));
  });
  afterAll(async () => {
    await proxy.close();
    await db.drop();
  });

  /** Sends, and says how long the answer took. Each client gives up after 15 s: a hang fails the test, not the run. */
  async function timed(send: () => Promise<{ status: number; headers: Record<string, string>; text: string }>) {
    const started = Date.now();
    const response = await send();
    return { status: response.status, ms: Date.now() - started, retryAfter: response.headers['retry-after'], body: response.text };
  }
  const fetched = async (url: string, headers: Record<string, string> = {}) => {
    const response = await fetch(url, { headers, signal: AbortSignal.timeout(15_000) });
    return { status: response.status, headers: Object.fromEntries(response.headers), text: await response.text() };
  };

  describe('with short timeouts', () => {
    beforeAll(async () => {
      app = await startTestApp({
        db: { ...db, url: proxy.urlFor(db.url) },
        // Sources and API keys stay cached, so that a request reaches its own transaction before it meets the freeze.
        env: { DATABASE_CONNECT_TIMEOUT_MS: '1000', DATABASE_STATEMENT_TIMEOUT_MS: '1500', SOURCE_CACHE_TTL_MS: '60000', LEDGER_ENABLED: 'false' },
      });
      sender = new WebhookSender(app, await registerSource(app, 'authorization_server'));
      await sender.event(aConsent()).expect(202);
      await app.get('/v1/chains?limit=1').expect(200);
    });
    afterAll(async () => {
      proxy.thaw();
      await app.close();
    });

    it('answers 503 with Retry-After within a few seconds while PostgreSQL is frozen, for writes and reads alike', async () => {
      proxy.freeze();
      const write = await timed(() => sender.event(aConsent()).timeout(15_000));
      const read = await timed(() => fetched(`${app.url}/v1/chains?limit=1`, { authorization: `Bearer ${app.adminKey}` }));
      const ready = await timed(() => fetched(`${app.url}/health/ready`));
      for (const answer of [write, read]) {
        expect(answer).toMatchObject({ status: 503, retryAfter: expect.stringMatching(/^\d+$/) });
        expect(answer.body).toContain('urn:jartrail:problem:unavailable');
        // One statement's timeout (1.5 s, and 1 s of grace on the client), not one for it and another for the ROLLBACK
        // queued behind it on the same stuck connection.
        expect(answer.ms).toBeLessThan(4000);
      }
      expect(ready).toMatchObject({ status: 503 });
    });

    it('serves again once PostgreSQL answers again', async () => {
      proxy.thaw();
      const deadline = Date.now() + 20_000;
      let status = 0;
      while (Date.now() < deadline) {
        status = (await sender.event(aConsent())).status;
        if (status === 202) break;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(status).toBe(202);
    });
  });

  describe('with the default timeouts', () => {
    beforeAll(async () => {
      app = await startTestApp({ db: { ...db, url: proxy.urlFor(db.url) }, env: { LEDGER_ENABLED: 'false' } });
      sender = new WebhookSender(app, await registerSource(app, 'authorization_server'));
    });
    afterAll(async () => {
      await app.close();
    });

    it('answers 503, not 500, when the connection is lost in the middle of a transaction', async () => {
      proxy.freeze();
      const pending = sender.event(aConsent()).timeout(15_000).then((response) => response);
      // The ingest transaction has begun and waits on a statement; then every connection drops.
      await new Promise((resolve) => setTimeout(resolve, 500));
      proxy.cutAll();
      proxy.thaw();
      const response = await pending;
      expect({ status: response.status, type: response.body.type }).toEqual({ status: 503, type: 'urn:jartrail:problem:unavailable' });
      expect(response.headers['retry-after']).toMatch(/^\d+$/);
    });
  });
});
