import { planChain, type SeedPlan, verifyAgainstService } from '../../bench/support/seed';
import { HttpClient } from '../../bench/support/load';
import { registerSources, signedBatches, Signer } from '../../bench/support/senders';
import { linkNow, startTestApp, type TestApp } from '../support/app';
import { drainVerifications } from '../support/request-objects';

/**
 * bench:query bulk-loads most of its chains and checks its derivation against chains it sent through the API. The
 * check must give the same answer whether or not the verification worker has judged those chains yet.
 */
describe("bench:query's check of bulk rows against the service's", () => {
  let app: TestApp;
  let http: HttpClient;
  const plan: SeedPlan = { tag: 'qcheck', chains: 6, ingestedChains: 6, seededAtMs: Date.now() };

  beforeAll(async () => {
    app = await startTestApp();
    http = new HttpClient(app.url, 2);
    const sources = await registerSources(http, app.adminKey, plan.tag);
    const chains = Array.from({ length: plan.ingestedChains }, (_, index) => planChain(plan, index));
    for (const batch of signedBatches(plan.tag, chains, 100, sources, new Signer())) {
      await http.expect(200, 'POST', batch.path, batch.headers, batch.body);
    }
    // The check reads what the linker derived: it runs after commit.
    await linkNow(app);
  });

  afterAll(async () => {
    await http.close();
    await app.close();
  });

  const indexes = Array.from({ length: plan.ingestedChains }, (_, index) => index);

  it('finds the API-ingested chains equal to the derivation before the verification worker ran', async () => {
    expect((await verifyAgainstService(app.db.pool, plan, indexes, app.keyring)).mismatches).toEqual([]);
  });

  it('still finds them equal once the worker has given its verdicts (facets the bulk derivation does not write)', async () => {
    await drainVerifications(app);
    const [{ count }] = await app.db.rows<{ count: string }>(`SELECT count(*) FROM chain_facets WHERE name = 'independent_verdict'`);
    expect(Number(count)).toBeGreaterThan(0);
    expect((await verifyAgainstService(app.db.pool, plan, indexes, app.keyring)).mismatches).toEqual([]);
  });
});
