import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from './ports';

export const REPOSITORY_ROOT = join(__dirname, '..', '..');

export interface ServiceProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Resolves with the exit code when the process ends. */
  exited(): Promise<number | null>;
}

/**
 * Runs the built service (`node dist/src/main.js`, what `npm start` runs) as a separate process, without waiting
 * for it: for tests of how it starts (or refuses to). The npm `pretest` script builds dist/ before the suite.
 */
export async function spawnServiceProcess(env: Readonly<Record<string, string>>): Promise<ServiceProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [join(REPOSITORY_ROOT, 'dist', 'src', 'main.js')], {
    cwd: REPOSITORY_ROOT,
    env: { PATH: process.env.PATH ?? '', PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    output: () => output,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
    exited: () => exited,
  };
}

/** Runs the built service as a separate process, and waits until it answers /health/ready. */
export async function startServiceProcess(env: Readonly<Record<string, string>>, timeoutMs = 60_000): Promise<ServiceProcess> {
  const service = await spawnServiceProcess(env);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (service.child.exitCode !== null) throw new Error(`the service exited with ${service.child.exitCode}:\n${service.output()}`);
    try {
      if ((await fetch(`${service.url}/health/ready`)).ok) return service;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      service.child.kill('SIGKILL');
      throw new Error(`the service did not become ready in ${timeoutMs} ms:\n${service.output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** `jartrail ARGS` as a user runs it: the built CLI in its own process, with no network and no database settings. */
export function runCli(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(REPOSITORY_ROOT, 'bin', 'jartrail.js'), ...args], { env: { PATH: process.env.PATH ?? '' } });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk) => (stdout += chunk));
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
