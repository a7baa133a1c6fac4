import type { Pool, PoolClient } from 'pg';
import type { DataSource } from 'typeorm';

/** node-postgres's error when a statement got no answer within query_timeout. */
const QUERY_READ_TIMEOUT = 'Query read timeout';

/**
 * node-postgres gives up on a statement after query_timeout but keeps the connection, with the statement still
 * outstanding: every later statement on it (the transaction's ROLLBACK first) queues behind, waits a whole timeout
 * more, and the pool lends the stuck connection to the next request. A server that did not answer is treated as
 * gone instead: the connection is closed, what was queued on it fails at once, and the pool opens a new one.
 */
export function closeConnectionsOnQueryTimeout(dataSource: DataSource): void {
  const pool = (dataSource.driver as unknown as { master?: Pool }).master;
  if (!pool) return;
  const guarded = new WeakSet<PoolClient>();
  pool.on('acquire', (client) => {
    if (guarded.has(client)) return;
    guarded.add(client);
    const query = client.query as (...args: unknown[]) => unknown;
    (client as { query: unknown }).query = function guardedQuery(this: PoolClient, ...args: unknown[]) {
      const result = query.apply(this, args);
      if (result instanceof Promise) {
        // A branch of its own: the caller still gets (and handles) the original rejection.
        result.catch((error: unknown) => {
          if ((error as Error | undefined)?.message === QUERY_READ_TIMEOUT) {
            (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
          }
        });
      }
      return result;
    };
  });
}
