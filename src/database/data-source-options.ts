import type { DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from '../../migrations';
import { ENTITIES } from './entities';
import { SqlLogger } from './sql-logger';

/**
 * The one DataSource definition, shared by the service, the TypeORM CLI and the tests: no synchronize, an
 * explicit migrations table, errors (never their parameters) and slow queries logged.
 */
export function dataSourceOptions(url: string, poolSize = 10): DataSourceOptions {
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
    extra: { max: poolSize },
  };
}
