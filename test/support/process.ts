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

export interface CliRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  /** Its whole environment (besides PATH): nothing of the test process leaks into it. */
  readonly env?: Readonly<Record<string, string>>;
  readonly input?: string;
  readonly cwd?: string;
}

export interface CliProcess {
  readonly child: ChildProcess;
  /** What it printed so far. */
  output(): { stdout: string; stderr: string };
  readonly done: Promise<CliRun>;
}

/** `jartrail ARGS` started as a user starts it, for tests that act on it while it runs (Ctrl-C in the middle). */
export function spawnCli(args: readonly string[], options: CliOptions = {}): CliProcess {
  const child = spawn(process.execPath, [join(REPOSITORY_ROOT, 'bin', 'jartrail.js'), ...args], {
    cwd: options.cwd ?? REPOSITORY_ROOT,
    env: { PATH: process.env.PATH ?? '', ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const done = new Promise<CliRun>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  child.stdin!.end(options.input ?? '');
  return { child, output: () => ({ stdout, stderr }), done };
}

/** `jartrail ARGS` as a user runs it: the built CLI in its own process, with no network or database settings unless given. */
export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliRun> {
  return spawnCli(args, options).done;
}
