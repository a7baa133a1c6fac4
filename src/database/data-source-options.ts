import type { DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from '../../migrations';
import { ENTITIES } from './entities';
import { SqlLogger } from './sql-logger';

/** How long the service waits on PostgreSQL before answering 503 instead of hanging. */
export interface DatabaseTimeouts {
  /** Opening a connection, or waiting for a free one in the pool. */
  readonly connectMs: number;
  /** One statement; absent for migrations, which may rightly run long. */
  readonly statementMs?: number;
}

/**
 * A server that does not answer at all (stopped, partitioned) cannot cancel its own statements: the client gives up
 * this much later than the server's statement_timeout would, so that a live server's clean cancel comes first.
 */
const CLIENT_TIMEOUT_GRACE_MS = 1000;

/** The ledger sequencer's timeouts: a large batch must not be cut by the request-sized statement timeout. */
export function sequencerTimeouts(config: { readonly database: { readonly connectTimeoutMs: number; readonly statementTimeoutMs: number } }): DatabaseTimeouts {
  return { connectMs: config.database.connectTimeoutMs, statementMs: Math.max(config.database.statementTimeoutMs, 60_000) };
}

function poolTimeouts(timeouts: DatabaseTimeouts | undefined): Record<string, number> {
  if (!timeouts) return {};
  return {
    connectionTimeoutMillis: timeouts.connectMs,
    ...(timeouts.statementMs === undefined
      ? {}
      : { statement_timeout: timeouts.statementMs, query_timeout: timeouts.statementMs + CLIENT_TIMEOUT_GRACE_MS }),
  };
}

/**
 * The one DataSource definition, shared by the service, the TypeORM CLI and the tests: no synchronize, an
 * explicit migrations table, errors (never their parameters) and slow queries logged. The service passes its
 * timeouts; without them (the CLI, migrations, tests' setup) nothing is bounded.
 */
export function dataSourceOptions(url: string, poolSize = 10, timeouts?: DatabaseTimeouts): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'schema_migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    migrationsRun: false,
    logging: ['error', 'warn', 'migration'],
    logger: new SqlLogger(),
    maxQueryExecutionTime: 1000,
    applicationName: 'jartrail',
    extra: { max: poolSize, ...poolTimeouts(timeouts) },
  };
}
