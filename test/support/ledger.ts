import type { TestApp } from './app';

/** Signs a checkpoint of everything committed so far, as an admin would on demand. */
export async function checkpointNow(app: TestApp): Promise<{ tree_size: number; root_hash: string; jws: string; kid: string; issued_at: string; kind: 'checkpoint' }> {
  const response = await app.http().post('/v1/ledger/checkpoints').set('authorization', `Bearer ${app.adminKey}`).expect(200);
  return response.body;
}

/** The ledger's full verification, through the API. */
export async function verifyLedger(app: TestApp) {
  const response = await app.get('/v1/ledger/verify').expect(200);
  return response.body as {
    ok: boolean;
    tree_size: number;
    checkpoints_checked: number;
    pending: number;
    unledgered: number;
    first_failure: null | { what: string; ledger_seq?: number; event_id?: string; tree_size?: number; reason: string };
    failures: { what: string; ledger_seq?: number; event_id?: string; tree_size?: number; purge_id?: string; reason: string }[];
  };
}

/** Runs a statement as the superuser with triggers (append-only, foreign keys) off: tampering around the service. */
export async function tamper(app: TestApp, sql: string, params: unknown[] = []): Promise<void> {
  const client = await app.db.pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SET LOCAL session_replication_role = replica');
    await client.query(sql, params);
    await client.query('COMMIT');
  } finally {
    client.release();
  }
}
