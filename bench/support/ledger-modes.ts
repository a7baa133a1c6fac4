import type { Pool } from 'pg';

/**
 * The two modes bench:ledger compares, on the schema the service's own migrations made. "On" is that schema as it
 * is (the default service). "Off" is ingest as it was before the ledger: the same schema with the ledger's queue
 * triggers disabled (and the service run with LEDGER_ENABLED=false). Nothing else is created, dropped or changed,
 * so "on" measures exactly what the service runs.
 */
export type LedgerMode = 'off' | 'on';

/** The triggers that queue records for the ledger, found by the function they run (not by a name copied here). */
export async function ledgerQueueTriggers(pool: Pool): Promise<{ table: string; trigger: string }[]> {
  const { rows } = await pool.query<{ table: string; trigger: string }>(
    `SELECT c.relname AS table, t.tgname AS trigger
       FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid
      WHERE p.proname = 'jartrail_enqueue_for_ledger' AND NOT t.tgisinternal
      ORDER BY 1, 2`,
  );
  return rows;
}

export async function setLedgerMode(pool: Pool, mode: LedgerMode): Promise<void> {
  const triggers = await ledgerQueueTriggers(pool);
  if (triggers.length === 0) throw new Error('no ledger queue trigger in this database: run the service migrations first');
  for (const { table, trigger } of triggers) {
    await pool.query(`ALTER TABLE "${table}" ${mode === 'on' ? 'ENABLE' : 'DISABLE'} TRIGGER "${trigger}"`);
  }
}
