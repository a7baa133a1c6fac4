import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { aConsent, aVerification } from '../support/events';
import { freePort } from '../support/ports';
import { type ServiceProcess, startServiceProcess } from '../support/process';

/**
 * The service as `npm start` runs it: its own process, the embedded PostgreSQL in a data folder, real signals.
 */
describe('the service process on its embedded database', () => {
  let dataDir: string;
  let env: Record<string, string>;
  let service: ServiceProcess | undefined;
  const adminKey = `admin-${randomBytes(24).toString('base64url')}`;
  const subject = 'carol.secret-subject@example.com';
  let source: { id: string; secret: string };
  let digest: string;
  const outputs: string[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'jartrail-process-'));
    env = { JARTRAIL_DATA_DIR: dataDir, JARTRAIL_EMBEDDED_PG_PORT: String(await freePort()), BOOTSTRAP_ADMIN_KEY: adminKey };
  });
  afterAll(async () => {
    await service?.stop('SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  });

  const admin = (path: string, init: RequestInit = {}) =>
    fetch(`${service!.url}${path}`, { ...init, headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json', ...init.headers } });

  function signedHeaders(id: string, body: string): Record<string, string> {
    const now = new Date();
    return {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': new Webhook(source.secret).sign(id, now, body),
    };
  }

  it('starts on an empty data folder, creating the database and a private master key', async () => {
    service = await startServiceProcess(env);
    expect((await stat(join(dataDir, 'master.key'))).mode & 0o777).toBe(0o600);
    const created = await admin('/v1/sources', { method: 'POST', body: JSON.stringify({ name: 'as-1', kind: 'authorization_server' }) });
    expect(created.status).toBe(201);
    source = (await created.json()) as { id: string; secret: string };

    const verification = aVerification();
    digest = verification.data.digest as string;
    for (const [id, envelope] of [['evt-1', verification], ['evt-2', aConsent({ digest, subject })]] as const) {
      const body = JSON.stringify(envelope);
      const response = await fetch(`${service.url}/v1/events?source=${source.id}`, { method: 'POST', headers: signedHeaders(id, body), body });
      expect(response.status).toBe(202);
    }
  });

  it('finishes a request in flight when told to stop with SIGTERM, then exits cleanly', async () => {
    const body = JSON.stringify(aConsent({ digest }));
    const half = Math.floor(body.length / 2);
    const answered = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const pending = httpRequest(
        `${service!.url}/v1/events?source=${source.id}`,
        { method: 'POST', headers: { ...signedHeaders('evt-in-flight', body), 'content-length': String(Buffer.byteLength(body)) } },
        (response) => {
          let text = '';
          response.on('data', (chunk) => (text += chunk));
          response.on('end', () => resolve({ status: response.statusCode!, text }));
        },
      );
      pending.on('error', reject);
      pending.write(body.slice(0, half));
      // The rest of the body arrives after the signal.
      setTimeout(() => {
        service!.child.kill('SIGTERM');
        setTimeout(() => pending.end(body.slice(half)), 500);
      }, 300);
    });
    const exited = service!.exited();
    expect(await answered).toMatchObject({ status: 202 });
    expect(await exited).toBe(0);
    outputs.push(service!.output());
    expect(service!.output()).toContain('"msg":"stopped"');
  });

  it('keeps everything across a restart', async () => {
    service = await startServiceProcess(env);
    const chain = await admin(`/v1/chains/${digest}`);
    expect(chain.status).toBe(200);
    const document = (await chain.json()) as { consents: unknown[]; request_object: { verifications: unknown[] } };
    expect(document.request_object.verifications).toHaveLength(1);
    expect(document.consents).toHaveLength(2);
    const sources = (await (await admin('/v1/sources')).json()) as { items: { id: string }[] };
    expect(sources.items.map((item) => item.id)).toEqual([source.id]);
    await admin(`/v1/chains?subject=${encodeURIComponent(subject)}`);
    expect(await service.stop()).toBe(0);
    outputs.push(service.output());
  });

  it('links after a kill -9 what was committed before it and not yet linked', async () => {
    // A service that commits but never links (its linker off) stands for one killed between commit and linking.
    service = await startServiceProcess({ ...env, LINKER_ENABLED: 'false' });
    const verification = aVerification();
    const body = JSON.stringify(verification);
    const accepted = await fetch(`${service.url}/v1/events?source=${source.id}`, { method: 'POST', headers: signedHeaders(randomUUID(), body), body });
    expect(accepted.status).toBe(202);
    const { position } = (await accepted.json()) as { position: string };
    const unlinked = await admin(`/v1/chains/${verification.data.digest}`);
    expect(unlinked.status).toBe(404);
    expect(((await unlinked.json()) as { unlinked_records: number }).unlinked_records).toBe(1);
    await service.stop('SIGKILL');

    service = await startServiceProcess(env);
    const chain = await admin(`/v1/chains/${verification.data.digest}?min_position=${position}`);
    expect(chain.status).toBe(200);
    const document = (await chain.json()) as { linking: { reached: boolean; chain_complete: boolean }; request_object: { verifications: unknown[] } };
    expect(document.linking).toMatchObject({ reached: true, chain_complete: true });
    expect(document.request_object.verifications).toHaveLength(1);
    expect(await service.stop()).toBe(0);
  });

  it('logs JSON lines with a correlation id, and never a secret, an API key, a signature or a raw subject', () => {
    const lines = outputs.join('').split('\n').filter((line) => line.startsWith('{'));
    const requestLines = lines.map((line) => JSON.parse(line)).filter((entry) => entry.req);
    expect(requestLines.length).toBeGreaterThan(5);
    expect(requestLines.every((entry) => typeof entry.req.id === 'string' && entry.req.id.length > 0)).toBe(true);
    const everything = outputs.join('');
    for (const secret of [adminKey, source.secret, source.secret.slice('whsec_'.length), subject, 'v1,']) {
      expect(everything).not.toContain(secret);
    }
  });
});
