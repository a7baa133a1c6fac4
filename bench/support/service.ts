import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { setServicePid } from './machine';
import { freePort } from './ports';

/** dist/bench/support/service.js → the repository root. */
export const REPOSITORY_ROOT = join(__dirname, '..', '..', '..');

export interface ServiceProcess {
  readonly url: string;
  readonly adminKey: string;
  readonly child: ChildProcess;
  readonly env: Readonly<Record<string, string>>;
  /** Warnings and errors the service logged (slow queries, failed queries), most recent last. */
  warnings(): string[];
  stop(): Promise<void>;
}

/**
 * Runs the built service (`node dist/src/main.js`, what `npm start` runs) as a process of its own, so that the
 * load generator does not share its event loop, and waits until it answers /health/ready.
 * BENCH_SERVICE_NODE_ARGS adds node options (e.g. `--cpu-prof --cpu-prof-dir=.bench/profiles`);
 * BENCH_SERVICE_POOL_SIZE sets DATABASE_POOL_SIZE (default: the service's own default).
 */
export async function startService(options: { databaseUrl: string; masterKey: string; adminKey?: string; env?: Readonly<Record<string, string>> }): Promise<ServiceProcess> {
  const port = await freePort();
  const adminKey = options.adminKey ?? `bench-admin-${randomBytes(24).toString('base64url')}`;
  const dataDir = await mkdtemp(join(tmpdir(), 'jartrail-bench-service-'));
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    TZ: 'UTC',
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    DATABASE_URL: options.databaseUrl,
    BOOTSTRAP_ADMIN_KEY: adminKey,
    JARTRAIL_MASTER_KEY: options.masterKey,
    JARTRAIL_DATA_DIR: dataDir,
    NODE_ENV: 'production',
    ...options.env,
  };
  if (process.env.BENCH_SERVICE_POOL_SIZE) env.DATABASE_POOL_SIZE = process.env.BENCH_SERVICE_POOL_SIZE;
  const nodeArgs = (process.env.BENCH_SERVICE_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, join(REPOSITORY_ROOT, 'dist', 'src', 'main.js')], {
    cwd: REPOSITORY_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      lines.push(line.length > 2000 ? `${line.slice(0, 2000)}…` : line);
      if (lines.length > 200) lines.shift();
    }
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the service exited with ${child.exitCode}:\n${lines.join('\n')}`);
    try {
      if ((await fetch(`${url}/health/ready`)).ok) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the service did not become ready in time:\n${lines.join('\n')}`);
    }
    await sleep(100);
  }
  setServicePid(child.pid);
  return {
    url,
    adminKey,
    child,
    env,
    warnings: () => [...lines],
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      setServicePid(undefined);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
