import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { setServicePid } from './machine';
import { freePort } from './ports';

/** The repository root: the nearest folder above this file with a package.json (from dist/bench/support or bench/support). */
export const REPOSITORY_ROOT = (() => {
  for (let folder = __dirname; ; folder = dirname(folder)) {
    if (existsSync(join(folder, 'package.json'))) return folder;
    if (dirname(folder) === folder) throw new Error(`no package.json above ${__dirname}`);
  }
})();

export interface ServiceProcess {
  readonly url: string;
  readonly adminKey: string;
  readonly child: ChildProcess;
  readonly env: Readonly<Record<string, string>>;
  /** Warnings and errors the service logged (slow queries, failed queries), most recent last. */
  warnings(): string[];
  stop(): Promise<void>;
}

/** Service settings every bench run uses that differ from the service's defaults (LOG_LEVEL defaults to info). */
export const BASE_SETTINGS = { LOG_LEVEL: 'warn' } as const;

const overridden = new Map<string, Set<string>>();
let started = 0;

/** Whether this run started the service (bench:verify does not). */
export function servicesStarted(): boolean {
  return started > 0;
}

/** The service variables a bench set in this run, beyond what it needs to start, with every value used. */
export function serviceSettingsUsed(): Record<string, string[]> {
  return Object.fromEntries([...overridden].map(([name, values]) => [name, [...values]]));
}

function benchServiceEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of (process.env.BENCH_SERVICE_ENV ?? '').split(' ').filter(Boolean)) {
    const equals = pair.indexOf('=');
    if (equals <= 0) throw new Error(`BENCH_SERVICE_ENV takes NAME=value pairs separated by spaces, not ${JSON.stringify(pair)}`);
    env[pair.slice(0, equals)] = pair.slice(equals + 1);
  }
  if (process.env.BENCH_SERVICE_POOL_SIZE) env.DATABASE_POOL_SIZE = process.env.BENCH_SERVICE_POOL_SIZE;
  if (process.env.BENCH_SERVICE_NODE_ARGS) env['(node options)'] = process.env.BENCH_SERVICE_NODE_ARGS;
  return env;
}

/**
 * Runs the built service (`node dist/src/main.js`, what `npm start` runs) as a process of its own, so that the
 * load generator does not share its event loop, and waits until it answers /health/ready.
 * BENCH_SERVICE_NODE_ARGS adds node options (e.g. `--cpu-prof --cpu-prof-dir=/tmp/profiles`);
 * BENCH_SERVICE_POOL_SIZE sets DATABASE_POOL_SIZE (default: the service's own default); BENCH_SERVICE_ENV sets any
 * other service variables (`NAME=value NAME=value`). Every variable set beyond what the service needs to start is
 * recorded (serviceSettingsUsed) and reported as a non-default setting.
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
    ...BASE_SETTINGS,
    DATABASE_URL: options.databaseUrl,
    BOOTSTRAP_ADMIN_KEY: adminKey,
    JARTRAIL_MASTER_KEY: options.masterKey,
    JARTRAIL_DATA_DIR: dataDir,
    NODE_ENV: 'production',
  };
  started++;
  const overrides = { ...options.env, ...benchServiceEnv() };
  for (const [name, value] of Object.entries(overrides)) {
    if (!overridden.has(name)) overridden.set(name, new Set());
    overridden.get(name)!.add(value);
    if (!name.startsWith('(')) env[name] = value;
  }
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
