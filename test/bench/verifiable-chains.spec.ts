import { draftChain, generateChain, type GeneratedChain } from '../../bench/support/chains';
import { HttpClient } from '../../bench/support/load';
import { VerifiableRequestObjects } from '../../bench/support/request-objects';
import { registerSources, signedBatches, Signer } from '../../bench/support/senders';
import { startTestApp, type TestApp } from '../support/app';
import { drainVerifications } from '../support/request-objects';

/**
 * bench:ingest and bench:ledger report ingest "with verification on": the verification worker must then do the
 * real work (key lookup, signature, decryption, claims) on the bench's request objects and find them verified.
 */
describe('the request objects the ingest benches send', () => {
  let app: TestApp;
  let http: HttpClient;
  const startMs = Date.now() - 3600_000;

  beforeAll(async () => {
    app = await startTestApp();
    http = new HttpClient(app.url, 2);
  });

  afterAll(async () => {
    await http.close();
    await app.close();
  });

  /** Chains of `tag` that carry a request object: `encrypted` of them encrypted, `plain` signed only. */
  function indexesWithObjects(tag: string, encrypted: number, plain: number): number[] {
    const found: number[] = [];
    let wantEncrypted = encrypted;
    let wantPlain = plain;
    for (let index = 0; wantEncrypted + wantPlain > 0; index++) {
      const draft = draftChain(tag, index, startMs);
      if (!draft.withRequestObject) continue;
      if (draft.encrypted && wantEncrypted > 0) {
        wantEncrypted--;
        found.push(index);
      } else if (!draft.encrypted && wantPlain > 0) {
        wantPlain--;
        found.push(index);
      }
    }
    return found;
  }

  async function sendAndJudge(tag: string, chains: readonly GeneratedChain[]): Promise<Record<string, number>> {
    const sources = await registerSources(http, app.adminKey, tag);
    for (const batch of signedBatches(tag, chains, 100, sources, new Signer())) await http.expect(200, 'POST', batch.path, batch.headers, batch.body);
    await drainVerifications(app);
    const rows = await app.db.rows<{ verdict: string; n: string }>(
      `SELECT iv.verdict, count(*) AS n FROM independent_verdicts iv JOIN events e ON e.seq = iv.event_seq
        WHERE e.event_id = ANY($1::text[]) GROUP BY iv.verdict`,
      [chains.map((chain) => chain.events[0]!.envelope.id)],
    );
    return Object.fromEntries(rows.map((row) => [row.verdict, Number(row.n)]));
  }

  it('are signed with registered client keys (and encrypted to a registered AS key): every one is verified', async () => {
    const tag = 'verifiable';
    const objects = new VerifiableRequestObjects(http, app.adminKey);
    const chains = await Promise.all(indexesWithObjects(tag, 3, 12).map((index) => objects.chain(tag, index, startMs)));
    expect(chains.filter((chain) => chain.innerDigest !== undefined)).toHaveLength(3);
    expect(await sendAndJudge(tag, chains)).toEqual({ verified: 15 });
  });

  it('verify too when a later run on the same database (BENCH_KEEP_DATA_DIR) registers the same clients with new keys', async () => {
    const tag = 'verifiable-again';
    const indexes = indexesWithObjects(tag, 0, 4);
    // An earlier run registered these chains' clients with keys of its own.
    const earlier = new VerifiableRequestObjects(http, app.adminKey);
    await Promise.all(indexes.map((index) => earlier.chain(tag, index, startMs)));
    const later = new VerifiableRequestObjects(http, app.adminKey);
    const chains = await Promise.all(indexes.map((index) => later.chain(tag, index, startMs)));
    expect(await sendAndJudge(tag, chains)).toEqual({ verified: 4 });
  });

  it('unlike the made-up objects bench:query seeds, which no key verifies', async () => {
    const tag = 'synthetic';
    const chains = indexesWithObjects(tag, 0, 5).map((index) => generateChain(tag, index, startMs));
    const verdicts = await sendAndJudge(tag, chains);
    expect(verdicts.verified).toBeUndefined();
  });
});
