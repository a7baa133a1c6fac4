import 'reflect-metadata';
import { constants } from 'node:os';
import { Logger, type LoggerService } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ConfigurationError, loadConfig } from '../config/app-config';
import { dataSourceOptions } from '../database/data-source-options';
import { runMigrationsUnderLock } from '../database/database-bootstrap';
import { EmbeddedDatabase } from '../database/embedded-postgres';
import { CliFailure, type CliIo, EXIT, type ExitCode, formatJson } from './cli-io';

/**
 * The database layer logs through Nest's logger (a failed migration, a failed query without its parameters);
 * outside the service that would print to stdout, which carries the command's JSON answer, so it goes to stderr.
 */
function stderrLogger(io: CliIo): LoggerService {
  const line = (level: string) => (message: unknown, ...context: unknown[]) =>
    io.err(`jartrail: ${level} ${[message, ...context].map((part) => (typeof part === 'string' ? part : JSON.stringify(part))).join(' ')}\n`);
  return { log: line('log'), warn: line('warn'), error: line('error'), debug: () => undefined, verbose: () => undefined };
}

/**
 * Stops the embedded PostgreSQL on Ctrl-C or SIGTERM: the service's database code leaves signals to its owner,
 * and a cluster left running would keep the data folder locked. An interrupted migration rolls back (each one
 * runs in its own transaction).
 */
function stopOnSignal(embedded: EmbeddedDatabase): () => void {
  const handler = (signal: NodeJS.Signals) => {
    void embedded.stop().finally(() => process.exit(128 + constants.signals[signal]));
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}

/**
 * `jartrail migrate`: the migrations the service runs at start, for operators who run them as a separate step
 * (MIGRATIONS_RUN=false on the replicas). The same DataSource definition and the same advisory lock as the
 * service, so running it while replicas start is safe. Without DATABASE_URL it migrates the embedded PostgreSQL
 * in JARTRAIL_DATA_DIR, which must not be running for a service at the same time (one cluster, one postmaster).
 */
export async function migrate(io: CliIo): Promise<ExitCode> {
  let config;
  try {
    config = loadConfig(io.env);
  } catch (error) {
    if (error instanceof ConfigurationError) throw new CliFailure(error.message);
    throw error;
  }

  Logger.overrideLogger(stderrLogger(io));
  let embedded: EmbeddedDatabase | undefined;
  let releaseSignals = () => {};
  if (!config.database.url) {
    io.err(`jartrail: no DATABASE_URL; starting the embedded PostgreSQL in ${config.dataDir}\n`);
    try {
      embedded = await EmbeddedDatabase.start({ dataDir: config.dataDir, port: config.database.embeddedPort });
    } catch (error) {
      throw new CliFailure((error as Error).message, { cause: error });
    }
    releaseSignals = stopOnSignal(embedded);
  }
  try {
    // Two connections: one holds the advisory lock while TypeORM runs the migrations on the other.
    const dataSource = new DataSource(dataSourceOptions(config.database.url ?? embedded!.url, 2));
    try {
      await dataSource.initialize();
    } catch (error) {
      throw new CliFailure(`cannot connect to the database: ${(error as Error).message}`, { cause: error });
    }
    try {
      let applied: string[];
      try {
        applied = await runMigrationsUnderLock(dataSource);
      } catch (error) {
        throw new CliFailure(`a migration failed and was rolled back (those before it stay applied): ${(error as Error).message}`, { cause: error });
      }
      io.out(formatJson({ applied }));
    } finally {
      await dataSource.destroy();
    }
  } finally {
    releaseSignals();
    await embedded?.stop();
  }
  return EXIT.ok;
}
