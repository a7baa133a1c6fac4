import { MIGRATIONS } from '../../migrations';
import { createTestDatabase, migrate, type TestDatabase } from '../support/database';

const SOURCE = '7d3f1c9e-2a4b-4c5d-8e6f-0a1b2c3d4e5f';

describe('the unsigned chain facet migration on a database that holds chains already', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase({ migrated: false });
  });
  afterAll(() => db.drop());

  /** One verification event in a chain of its own. */
  async function aChainWith(digest: string, data: Record<string, unknown> | null): Promise<void> {
    await db.pool.query(`INSERT INTO chains (digest) VALUES ($1)`, [digest]);
    const { rows } = await db.pool.query<{ seq: string }>(
      `INSERT INTO events (source_id, event_id, type, emitted_at, occurred_at, fingerprint, data)
       VALUES ($1, $2, 'request_object.verification', now(), now(), '\\x00', $3::jsonb) RETURNING seq`,
      [SOURCE, `ev-${digest}`, data === null ? null : JSON.stringify(data)],
    );
    await db.pool.query(`INSERT INTO chain_members (chain_digest, event_seq) VALUES ($1, $2)`, [digest, rows[0]!.seq]);
  }

  it('marks the chains whose reports say unsigned or alg "none", and no other', async () => {
    const at = MIGRATIONS.findIndex((migration) => new migration().name.startsWith('UnsignedChainFacet'));
    await migrate(db.url, MIGRATIONS.slice(0, at));
    await db.pool.query(`INSERT INTO sources (id, name, kind) VALUES ($1, 'as-before', 'authorization_server')`, [SOURCE]);
    await aChainWith('plain', { unsigned: true, client_id: 'c' });
    await aChainWith('none', { header: { alg: 'none' }, client_id: 'c' });
    await aChainWith('signed', { header: { alg: 'ES256' }, client_id: 'c' });
    await aChainWith('explicit-false', { unsigned: false, header: { alg: 'ES256' }, client_id: 'c' });

    await migrate(db.url);

    expect(await db.rows(`SELECT chain_digest, value FROM chain_facets WHERE name = 'unsigned' ORDER BY chain_digest`)).toEqual([
      { chain_digest: 'none', value: 'true' },
      { chain_digest: 'plain', value: 'true' },
    ]);
    // Its chain_created_at is the chain's, as for every facet (the search index reads it in the chain's order).
    expect(await db.rows(`SELECT count(*)::int AS n FROM chain_facets f JOIN chains c ON c.digest = f.chain_digest WHERE f.chain_created_at <> c.created_at`)).toEqual([{ n: 0 }]);
  });
});
