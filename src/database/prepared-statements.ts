import type { Pool, QueryResultRow } from 'pg';
import type { DataSource } from 'typeorm';
import { SqlLogger } from './sql-logger';

/** A statement PostgreSQL prepares once per connection under its name, then only binds and executes. */
export interface PreparedStatement {
  readonly name: string;
  readonly text: string;
}

const sqlLogger = new SqlLogger();

/**
 * Runs hot statements as named prepared statements on the pool TypeORM drives (its timeouts and connection guards
 * apply), bypassing TypeORM's unnamed statements, which PostgreSQL plans at every call. A failure is logged as
 * TypeORM's logging would log it: the SQL and SQLSTATE, never the parameters (they carry evidence).
 */
export class PreparedStatements {
  constructor(private readonly dataSource: DataSource) {}

  /** The pool exists once the DataSource is initialized, which may be after this object is made. */
  private get pool(): Pool {
    return (this.dataSource.driver as unknown as { master: Pool }).master;
  }

  async run<Row extends QueryResultRow>(statement: PreparedStatement, values: readonly unknown[]): Promise<Row[]> {
    try {
      return (await this.pool.query<Row>({ name: statement.name, text: statement.text, values: [...values] })).rows;
    } catch (error) {
      sqlLogger.logQueryError(error as Error, statement.text);
      throw error;
    }
  }
}
