import { RetentionService } from '../../src/ledger/retention.service';
import { linkNow, startTestApp, type TestApp } from '../support/app';
import { aConsent, aVerification, registerSenders } from '../support/events';
import { checkpointNow } from '../support/ledger';

/**
 * A chain's `unsigned` flag is written when its records are linked, from the records themselves, so retention
 * purging their payloads later cannot turn an unsigned chain into a signed-looking one.
 */
describe("a chain's unsigned flag after retention purges its payloads", () => {
  let app: TestApp;
  let as: Awaited<ReturnType<typeof registerSenders>>['as'];

  beforeAll(async () => {
    app = await startTestApp({ env: { LEDGER_SEQUENCER_INTERVAL_MS: '60000' } });
    ({ as } = await registerSenders(app));
  });
  afterAll(() => app.close());

  it('marks a chain unsigned for a plain request or alg "none" only, not for unsigned: false, nor for another report of the chain', async () => {
    const explicit = aVerification({ unsigned: false });
    const none = aVerification({ header: { alg: 'none' } });
    // A signed report first, then an alg "none" one in the same chain: one is enough.
    const mixed = aVerification();
    for (const event of [explicit, none, mixed, aVerification({ digest: mixed.data.digest, header: { alg: 'none' } })]) await as.event(event).expect(202);
    // Facets are written by the linker, after commit: read them once it has linked everything.
    await linkNow(app);
    const unsigned = await app.db.rows<{ chain_digest: string }>(`SELECT chain_digest FROM chain_facets WHERE name = 'unsigned' AND value = 'true'`);
    const digests = unsigned.map((row) => row.chain_digest);
    expect([explicit, none, mixed].map((event) => digests.includes(String(event.data.digest)))).toEqual([false, true, true]);
  });

  it('stays unsigned for a plain request and an alg "none" object, and signed for a signed one', async () => {
    const plain = aVerification({ unsigned: true, header: undefined });
    const none = aVerification({ header: { alg: 'none' } });
    const signed = aVerification();
    // A signed report joining the chain of an unsigned one does not make it signed.
    const signedToo = aVerification({ digest: plain.data.digest });
    for (const event of [plain, none, signed, signedToo, aConsent({ digest: signed.data.digest })]) await as.event(event).expect(202);
    const unsignedOf = async (digest: unknown) => (await app.get(`/v1/chains/${String(digest)}`).expect(200)).body.unsigned;
    const before = [await unsignedOf(plain.data.digest), await unsignedOf(none.data.digest), await unsignedOf(signed.data.digest)];
    expect(before).toEqual([true, true, false]);

    await checkpointNow(app);
    expect(await app.app.get(RetentionService).purge('test-purge', new Date(Date.now() + 60_000), 1000)).toBe(9);
    expect(await app.db.rows('SELECT count(*)::int AS n FROM events WHERE data IS NOT NULL')).toEqual([{ n: 0 }]);

    expect([await unsignedOf(plain.data.digest), await unsignedOf(none.data.digest), await unsignedOf(signed.data.digest)]).toEqual(before);
  });
});
