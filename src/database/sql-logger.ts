import { Logger as NestLogger } from '@nestjs/common';
import type { Logger } from 'typeorm';
import { safeDatabaseMessage } from '../logging/safe-error';

/**
 * TypeORM's logging, routed to the service's logger. A failed query is logged with its SQL and SQLSTATE, never
 * with its parameters: they carry evidence, key hashes and sealed secrets. Unique-key conflicts are expected
 * (idempotency and name races answer them) and log at debug only.
 */
export class SqlLogger implements Logger {
  private readonly logger = new NestLogger('Database');

  logQuery(): void {}

  logQueryError(error: string | Error, query: string): void {
    const code = typeof error === 'object' ? (error as { code?: string }).code : undefined;
    const entry = { code, error: safeDatabaseMessage(typeof error === 'string' ? error : error.message, code), query: query.replace(/\s+/g, ' ').slice(0, 500) };
    if (code === '23505') this.logger.debug(entry, 'query refused by a unique constraint');
    else this.logger.warn(entry, 'query failed');
  }

  logQuerySlow(time: number, query: string): void {
    this.logger.warn({ ms: time, query: query.replace(/\s+/g, ' ').slice(0, 500) }, 'slow query');
  }

  logSchemaBuild(): void {}

  logMigration(message: string): void {
    this.logger.log({ migration: message }, 'migration');
  }

  log(level: 'log' | 'info' | 'warn', message: unknown): void {
    if (level === 'warn') this.logger.warn({ message }, 'typeorm');
    else this.logger.debug({ message }, 'typeorm');
  }
}
