import { randomUUID } from 'node:crypto';
import { evaluateNow, fieldsOf, linkNow, problemOf, startTestApp, type TestApp } from '../support/app';
import { FindingsWorker } from '../../src/findings/findings.worker';
import { aConsent, aToken, aToolCall, aVerification, type Envelope, randomDigest, registerSenders } from '../support/events';
import { aClientKey, registerClient } from '../support/request-objects';

type Senders = Awaited<ReturnType<typeof registerSenders>>;

/** A PAR push of `digest` reported with this request_uri, accepted or refused by the AS. */
const parUse = (digest: string, requestUri: string, verdict: 'accepted' | 'rejected' = 'accepted', at = new Date()) =>
  ({ ...aVerification({ digest, delivery: 'par', request_uri: requestUri, verdict, ...(verdict === 'rejected' && { reason: 'invalid_request_uri' }) }), timestamp: at.toISOString() }) as Envelope;

const findingsOf = async (app: TestApp, query: string) => (await app.get(`/v1/findings?${query}`).expect(200)).body as { items: Record<string, unknown>[] };

/**
 * The findings engine end to end: rules run after commit over linked chains, whatever order the records arrive in,
 * a finding that stops holding is resolved (never deleted) with its history, and reviewers read them over the API.
 * The rules themselves are unit-tested beside their code (src/findings/rules).
 */
describe('findings', () => {
  let app: TestApp;
  let senders: Senders;

  beforeAll(async () => {
    // Linking only when a test says (linkNow, evaluateNow): a background linker would queue checks of its own, due at once.
    app = await startTestApp({ env: { ORPHAN_GRACE_SECONDS: '0', LINKER_ENABLED: 'false' } });
    senders = await registerSenders(app);
  });
  afterAll(async () => {
    await app.close();
  });

  async function replayAcrossChains(order: 'first use first' | 'replay first') {
    const requestUri = `urn:ietf:params:oauth:request_uri:${randomUUID()}`;
    const [first, second] = [randomDigest(), randomDigest()];
    const uses = [parUse(first, requestUri, 'accepted', new Date(Date.now() - 60_000)), parUse(second, requestUri, 'accepted')];
    for (const use of order === 'first use first' ? uses : [...uses].reverse()) {
      await senders.as.event(use).expect(202);
      // Each use linked and evaluated before the next arrives: the later one must re-evaluate the other's chain.
      await evaluateNow(app);
    }
    return { requestUri, first, second };
  }

  it.each(['first use first', 'replay first'] as const)('a PAR request_uri accepted twice is a high replay on the chain of the second use (%s)', async (order) => {
    const { requestUri, first, second } = await replayAcrossChains(order);
    const replays = (await findingsOf(app, `rule=request_uri_replay&chain=${second}`)).items;
    expect(replays).toEqual([expect.objectContaining({ rule: 'request_uri_replay', severity: 'high', status: 'open', chain_digest: second })]);
    expect(replays[0]!.evidence).toEqual([
      expect.objectContaining({ kind: 'event', type: 'request_object.verification' }),
      expect.objectContaining({ kind: 'event', type: 'request_object.verification' }),
    ]);
    expect((await findingsOf(app, `rule=request_uri_replay&chain=${first}`)).items).toEqual([]);

    const chain = (await app.get(`/v1/chains/${second}`).expect(200)).body;
    expect(chain.findings).toEqual([expect.objectContaining({ rule: 'request_uri_replay', severity: 'high' })]);
    expect(chain.findings_evaluation).toEqual({ up_to_date: true });
    const search = (await app.get(`/v1/chains?finding=request_uri_replay&severity=high&limit=100`).expect(200)).body;
    expect(search.items.map((item: { digest: string }) => item.digest)).toContain(second);
    expect(search.items.map((item: { digest: string }) => item.digest)).not.toContain(first);
    expect(search.items.find((item: { digest: string }) => item.digest === second).open_findings).toEqual({ high: 1 });
    expect(requestUri).toBeDefined();
  });

  /**
   * One authorization that goes wrong four ways: the consent granted a scope the object did not ask for, the token
   * carries one the consent did not grant, a tool call goes beyond the token, and another starts after it expired.
   */
  function troubledAuthorization(digest: string): { envelope: Envelope; sender: keyof Senders }[] {
    const jti = `at-${randomUUID()}`;
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: 'agent-app', aud: 'https://as.example.com', exp: now + 300, iat: now, scope: 'mail.send', jti: randomUUID() };
    return [
      { sender: 'as', envelope: aVerification({ digest, claims }) },
      { sender: 'as', envelope: aConsent({ digest, granted: { scope: 'mail.send mail.delete' } }) },
      { sender: 'tokens', envelope: aToken({ digest, jti, scope: 'mail.send mail.delete mail.admin', iat: now - 7200, exp: now - 3600 }) },
      { sender: 'agent', envelope: aToolCall({ token: { jti }, tool: 'calendar', action: 'delete', started_at: new Date((now - 7000) * 1000).toISOString() }) },
      { sender: 'agent', envelope: aToolCall({ token: { jti }, tool: 'mail', action: 'send', started_at: new Date((now - 60) * 1000).toISOString() }) },
    ];
  }

  const rulesOf = async (digest: string) =>
    (await findingsOf(app, `chain=${digest}&status=open&limit=100`)).items.map((finding) => `${String(finding.rule)}/${String(finding.severity)}`).sort();

  it('finds the same findings whatever order the records arrive in: in order, reversed, shuffled, one by one', async () => {
    const orders: Record<string, (records: ReturnType<typeof troubledAuthorization>) => ReturnType<typeof troubledAuthorization>> = {
      'in order': (records) => records,
      reversed: (records) => [...records].reverse(),
      shuffled: (records) => [records[3]!, records[0]!, records[4]!, records[2]!, records[1]!],
    };
    const found: Record<string, string[]> = {};
    const digests: Record<string, string> = {};
    for (const [name, order] of Object.entries(orders)) {
      const digest = randomDigest();
      digests[name] = digest;
      for (const { envelope, sender } of order(troubledAuthorization(digest))) {
        await senders[sender].event(envelope).expect(202);
        // Evaluated after each arrival, so every intermediate state is one the engine has to move on from.
        await evaluateNow(app);
      }
      found[name] = await rulesOf(digest);
    }
    expect(found['in order']).toEqual(['beyond_grant/high', 'consent_exceeds_request/high', 'outside_lifetime/high', 'token_exceeds_consent/high']);
    expect(found.reversed).toEqual(found['in order']);
    expect(found.shuffled).toEqual(found['in order']);
    // Reversed, the tool calls and the token came before any verification: an orphan then, resolved since.
    expect((await findingsOf(app, `chain=${digests.reversed!}&status=resolved`)).items).toEqual([
      expect.objectContaining({ rule: 'orphan', resolution: expect.stringContaining('no longer holds'), resolved_at: expect.any(String) }),
    ]);
  });

  it('a tool call whose token never arrives is an orphan, resolved with its reason when the token and its authorization arrive', async () => {
    const jti = `at-${randomUUID()}`;
    const call = { ...aToolCall({ token: { jti } }), id: `call-event-${randomUUID()}` };
    await senders.agent.event(call).expect(202);
    await evaluateNow(app);
    const [orphan] = (await findingsOf(app, `rule=orphan&status=open&limit=100`)).items.filter((finding) =>
      (finding.evidence as { event_id: string }[]).some((evidence) => evidence.event_id === call.id),
    );
    expect(orphan).toMatchObject({ rule: 'orphan', status: 'open', chain_digest: null });

    const digest = randomDigest();
    await senders.as.event(aVerification({ digest })).expect(202);
    await senders.as.event(aConsent({ digest })).expect(202);
    await senders.tokens.event(aToken({ digest, jti })).expect(202);
    await evaluateNow(app);

    const resolved = (await app.get(`/v1/findings/${String(orphan!.id)}`).expect(200)).body;
    expect(resolved).toMatchObject({ status: 'resolved', resolution: expect.stringContaining('joined a chain') });
    expect(resolved.history.map((entry: { change: string }) => entry.change)).toEqual(['opened', 'resolved']);
    // Resolved, never deleted, and its history cannot be rewritten.
    await expect(app.db.pool.query(`DELETE FROM finding_changes WHERE finding_id = $1`, [orphan!.id])).rejects.toThrow(/append-only/);
    await expect(app.db.pool.query(`UPDATE finding_changes SET reason = 'rewritten' WHERE finding_id = $1`, [orphan!.id])).rejects.toThrow(/append-only/);
    expect(resolved.resolved_at).toEqual(expect.any(String));
  });

  it('is computed after commit: the ingest transaction writes no finding and queues no evaluation', async () => {
    const idle = await startTestApp({ db: app.db, env: { LINKER_ENABLED: 'false' } });
    try {
      const before = await app.db.rows<{ findings: string; checks: string }>(`SELECT (SELECT count(*) FROM findings) AS findings, (SELECT count(*) FROM finding_checks) AS checks`);
      const idleSenders = await registerSenders(idle);
      await idleSenders.agent.event(aToolCall({ token: { jti: `at-${randomUUID()}` } })).expect(202);
      const after = await app.db.rows<{ findings: string; checks: string }>(`SELECT (SELECT count(*) FROM findings) AS findings, (SELECT count(*) FROM finding_checks) AS checks`);
      expect(after).toEqual(before);
    } finally {
      await idle.close();
      await linkNow(app);
    }
  });

  it('evaluates a chain again when its client is registered: the registration is what some rules judge against', async () => {
    const clientId = `client-${randomUUID()}`;
    const digest = randomDigest();
    await senders.as
      .event(aVerification({ digest, client_id: clientId, claims: { iss: clientId, aud: 'https://as.example.com', redirect_uri: 'https://evil.example.net/cb', jti: randomUUID(), scope: 'mail.send' } }))
      .expect(202);
    await evaluateNow(app);
    expect((await findingsOf(app, `rule=redirect_uri_unregistered&chain=${digest}`)).items).toEqual([]);

    await registerClient(app, {
      client_id: clientId,
      jwks: { keys: [(await aClientKey('PS256')).jwk] },
      request_object_signing_alg_values: ['PS256'],
      redirect_uris: ['https://agent.example.com/cb'],
    }).expect(201);
    await evaluateNow(app);
    expect((await findingsOf(app, `rule=redirect_uri_unregistered&chain=${digest}`)).items).toEqual([
      expect.objectContaining({ severity: 'high', status: 'open', client_id: clientId }),
    ]);
  });

  it('pages findings newest first with an opaque cursor', async () => {
    const all = (await findingsOf(app, 'limit=100')).items.map((finding) => finding.id);
    expect(all.length).toBeGreaterThanOrEqual(3);
    const firstPage = (await app.get('/v1/findings?limit=2').expect(200)).body;
    const secondPage = (await app.get(`/v1/findings?limit=2&cursor=${firstPage.next_cursor}`).expect(200)).body;
    expect([...firstPage.items, ...secondPage.items].map((finding: { id: string }) => finding.id)).toEqual(all.slice(0, 4));
    expect(firstPage.linking).toEqual({ linked_below: expect.any(String), requested_position: null, reached: true });
    expect(firstPage.evaluation).toEqual({ pending_subjects: expect.any(Number), oldest_due_seconds: expect.any(Number) });
  });

  it('judges a chain changed by several linker batches in a burst once, when its delay has passed', async () => {
    await evaluateNow(app);
    // A delay far longer than three sends and links take on a loaded machine; the test does not wait it out: it moves
    // the first check's due time to now, as the passing of the delay would. (It failed twice while this file's own app
    // linked in the background: its linker, not the delayed app's, queued the checks, due at once.)
    const delayed = await startTestApp({ db: app.db, env: { FINDINGS_DELAY_MS: '60000', LINKER_ENABLED: 'false' } });
    try {
      const delayedSenders = await registerSenders(delayed);
      const digest = randomDigest();
      for (const [sender, envelope] of [
        ['as', aVerification({ digest })],
        ['as', aConsent({ digest })],
        ['tokens', aToken({ digest })],
      ] as const) {
        await delayedSenders[sender].event(envelope).expect(202);
        await linkNow(delayed);
      }
      const checks = () => app.db.rows<{ n: string }>(`SELECT count(*) AS n FROM finding_checks WHERE subject = $1`, [digest]);
      expect(await checks()).toEqual([{ n: '3' }]);
      const worker = delayed.app.get(FindingsWorker);
      expect(await worker.drain()).toBe(0);
      // Once the first check is due, one evaluation of the chain answers every check queued for it, including those not due yet.
      await app.db.pool.query(
        `UPDATE finding_checks SET due_at = now() WHERE id = (SELECT id FROM finding_checks WHERE subject = $1 ORDER BY due_at, id LIMIT 1)`,
        [digest],
      );
      const evaluated = await worker.drain();
      expect(evaluated).toBe(1);
      expect(await checks()).toEqual([{ n: '0' }]);
    } finally {
      await delayed.close();
    }
  });

  it.each([
    ['/v1/findings?rule=not_a_rule', 'rule'],
    ['/v1/findings?severity=urgent', 'severity'],
    ['/v1/findings?status=closed', 'status'],
    ['/v1/findings?cursor=not-ours', 'cursor'],
    ['/v1/findings?limit=0', 'limit'],
    ['/v1/findings?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z', 'to'],
    ['/v1/chains?finding=not_a_rule', 'finding'],
    ['/v1/findings/abc', 'id'],
  ])('refuses %s naming %s', async (path, field) => {
    const problem = problemOf(await app.get(path), 400, 'invalid-request');
    expect(fieldsOf(problem).map(([name]) => name)).toContain(field);
  });

  it('answers 404 for an unknown finding', async () => {
    problemOf(await app.get('/v1/findings/999999999'), 404, 'not-found');
  });
});
