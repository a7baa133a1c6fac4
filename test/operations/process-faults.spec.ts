import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../support/ports';
import { type ServiceProcess, spawnServiceProcess, startServiceProcess } from '../support/process';

/** Processes (PostgreSQL's among them) that still work in this folder: named on their command line or as PGDATA. */
function processesUsing(folder: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      if (cmdline.includes(folder) || environ.some((entry) => entry.startsWith('PGDATA=') && entry.includes(folder))) found.push(`${pid}: ${cmdline}`);
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

async function eventually(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return true;
}

/** Log lines at error level or above (pino: 50 error, 60 fatal). */
function errorLines(output: string): string[] {
  return output.split('\n').filter((line) => line.startsWith('{') && (JSON.parse(line) as { level: number }).level >= 50);
}

/**
 * The service as `npm start` runs it, on its embedded PostgreSQL, under the faults of a real host: the OOM killer,
 * a stop signal in the middle of the first start, a port someone else took.
 */
describe('the service process under process faults', () => {
  let dataDir: string;
  let env: Record<string, string>;
  let service: ServiceProcess | undefined;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'jartrail-faults-'));
    env = {
      JARTRAIL_DATA_DIR: dataDir,
      JARTRAIL_EMBEDDED_PG_PORT: String(await freePort()),
      BOOTSTRAP_ADMIN_KEY: `admin-${randomBytes(24).toString('base64url')}`,
    };
  });
  afterEach(async () => {
    await service?.stop('SIGKILL');
    service = undefined;
    // Whatever a failed test left running in the folder.
    for (const line of processesUsing(dataDir)) process.kill(Number(line.split(':')[0]), 'SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  });

  it('starts again after kill -9, stopping the PostgreSQL the killed process left behind, and stops cleanly', async () => {
    service = await startServiceProcess(env);
    await service.stop('SIGKILL');
    // The OOM killer's kill leaves the embedded postmaster running, holding the data folder.
    expect(processesUsing(dataDir).length).toBeGreaterThan(0);

    service = await startServiceProcess(env);
    expect((await fetch(`${service.url}/health/ready`)).status).toBe(200);
    expect(await service.stop('SIGTERM')).toBe(0);
    expect(errorLines(service.output())).toEqual([]);
    expect(await eventually(() => processesUsing(dataDir).length === 0, 10_000)).toBe(true);
  });

  it('leaves no process behind when told to stop while initdb creates the cluster, and the next start works', async () => {
    service = await spawnServiceProcess({ ...env, LOG_LEVEL: 'debug' });
    // initdb's first lines arrive as debug lines of the embedded PostgreSQL.
    expect(await eventually(() => service!.output().includes('embedded postgres'), 30_000)).toBe(true);
    expect(processesUsing(dataDir).length).toBeGreaterThan(0);
    expect(await service.stop('SIGTERM')).toBe(0);
    // The service waits for initdb to be gone before it exits; left to itself, initdb would run on for seconds.
    const gone = await eventually(() => processesUsing(dataDir).length === 0, 1000);
    expect({ gone, left: processesUsing(dataDir), output: service.output().slice(-3000) }).toEqual({ gone: true, left: [], output: expect.any(String) });

    service = await startServiceProcess(env);
    expect(await service.stop('SIGTERM')).toBe(0);
  });

  it('leaves no process behind when told to stop once PostgreSQL runs but before the service listens', async () => {
    service = await spawnServiceProcess({ ...env, LOG_LEVEL: 'debug' });
    expect(await eventually(() => service!.output().includes('ready to accept connections'), 60_000)).toBe(true);
    const code = await service.stop('SIGTERM');
    // The output's end says why, should the exit code ever be wrong.
    expect({ code, output: code === 0 ? '' : service.output().slice(-4000) }).toEqual({ code: 0, output: '' });
    expect(await eventually(() => processesUsing(dataDir).length === 0, 10_000)).toEqual(true);
  });

  it('refuses a second service on the same data folder in one line, and leaves the first one running', async () => {
    service = await startServiceProcess(env);
    const second = await spawnServiceProcess(env);
    expect(await second.exited()).toBe(1);
    const output = second.output();
    expect(output).toContain('JARTRAIL_DATA_DIR');
    expect(output).not.toMatch(/\n\s+at /);
    expect(output.trim().split('\n').length).toBeLessThanOrEqual(3);
    expect((await fetch(`${service.url}/health/ready`)).status).toBe(200);
  });

  describe('when the embedded PostgreSQL port is taken', () => {
    let squatter: Server;
    beforeEach(async () => {
      squatter = createServer();
      await new Promise<void>((resolve) => squatter.listen(Number(env.JARTRAIL_EMBEDDED_PG_PORT), '127.0.0.1', resolve));
    });
    afterEach(async () => {
      await new Promise((resolve) => squatter.close(resolve));
    });

    it('stops with one short message that names JARTRAIL_EMBEDDED_PG_PORT', async () => {
      service = await spawnServiceProcess(env);
      expect(await service.exited()).toBe(1);
      const output = service.output();
      expect(output).toContain('JARTRAIL_EMBEDDED_PG_PORT');
      expect(output).toContain(env.JARTRAIL_EMBEDDED_PG_PORT);
      expect(output).not.toMatch(/\n\s+at /);
      expect(output.trim().split('\n').length).toBeLessThanOrEqual(3);
      expect(await eventually(() => processesUsing(dataDir).length === 0, 10_000)).toBe(true);
    });
  });
});
