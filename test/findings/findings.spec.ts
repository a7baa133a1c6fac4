import { randomUUID } from 'node:crypto';
import { evaluateNow, fieldsOf, linkNow, problemOf, startTestApp, type TestApp } from '../support/app';
import { FindingsWorker } from '../../src/findings/findings.worker';
import { aConsent, aToken, aToolCall, aVerification, type Envelope, randomDigest, registerSenders } from '../support/events';
import { aClientKey, drainVerifications, registerClient, requestClaims, signRequestObject, verificationOf } from '../support/request-objects';

type Senders = Awaited<ReturnType<typeof registerSenders>>;
type Delivery = { readonly envelope: Envelope; readonly sender: keyof Senders };

/** In order, reversed, and shuffled (every second record first: a fixed shuffle, so a failure reproduces). */
const ORDERS: Readonly<Record<'in order' | 'reversed' | 'shuffled', (deliveries: readonly Delivery[]) => Delivery[]>> = {
  'in order': (deliveries) => [...deliveries],
  reversed: (deliveries) => [...deliveries].reverse(),
  shuffled: (deliveries) => [...deliveries.filter((_, index) => index % 2 === 1), ...deliveries.filter((_, index) => index % 2 === 0)],
};
type Order = keyof typeof ORDERS;

const secondsAgo = (seconds: number) => new Date(Date.now() - seconds * 1000);
/** The envelope as its sender stamped it this long ago (the time a verification or consent occurred). */
const stamped = (envelope: Envelope, at: Date): Envelope => ({ ...envelope, timestamp: at.toISOString() });

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

  /**
   * Builds a scenario afresh for each order, delivers its records one at a time in that order, and evaluates after
   * each arrival (jartrail's own verification first), so every intermediate state is one the engine has to move on
   * from; then returns what `observe` reads, by order.
   */
  async function inEveryOrder<Scenario extends { readonly deliveries: readonly Delivery[] }, Seen>(
    build: () => Scenario | Promise<Scenario>,
    observe: (scenario: Scenario) => Promise<Seen>,
  ): Promise<Record<Order, { scenario: Scenario; seen: Seen }>> {
    const results: Partial<Record<Order, { scenario: Scenario; seen: Seen }>> = {};
    for (const [name, order] of Object.entries(ORDERS) as [Order, (typeof ORDERS)[Order]][]) {
      const scenario = await build();
      for (const { envelope, sender } of order(scenario.deliveries)) {
        await senders[sender].event(envelope).expect(202);
        await drainVerifications(app);
        await evaluateNow(app);
      }
      results[name] = { scenario, seen: await observe(scenario) };
    }
    return results as Record<Order, { scenario: Scenario; seen: Seen }>;
  }

  const expectSameInEveryOrder = <Seen>(results: Record<Order, { seen: Seen }>, expected: Seen) => {
    expect({ order: 'in order', seen: results['in order'].seen }).toEqual({ order: 'in order', seen: expected });
    expect({ order: 'reversed', seen: results.reversed.seen }).toEqual({ order: 'reversed', seen: expected });
    expect({ order: 'shuffled', seen: results.shuffled.seen }).toEqual({ order: 'shuffled', seen: expected });
  };

  it('finds the same findings whatever order the records arrive in: in order, reversed, shuffled, one by one', async () => {
    const results = await inEveryOrder(
      () => {
        const digest = randomDigest();
        return { digest, deliveries: troubledAuthorization(digest) };
      },
      ({ digest }) => rulesOf(digest),
    );
    expectSameInEveryOrder(results, ['beyond_grant/high', 'consent_exceeds_request/high', 'outside_lifetime/high', 'token_exceeds_consent/high']);
    // Reversed, the tool calls and the token came before any verification: an orphan then, resolved since, by the
    // verification's arrival, which its resolution names.
    expect((await findingsOf(app, `chain=${results.reversed.scenario.digest}&status=resolved`)).items).toEqual([
      expect.objectContaining({ rule: 'orphan', resolution: expect.stringMatching(/^no longer holds once request_object\.verification ".+" arrived/), resolved_at: expect.any(String) }),
    ]);
  });

  it('two tool_call.recorded of one call_id with different contents under different event ids conflict, whatever their order', async () => {
    const results = await inEveryOrder(
      () => {
        const digest = randomDigest();
        const jti = `at-${randomUUID()}`;
        const call = aToolCall({ token: { jti } });
        const changed: Envelope = { ...call, data: { ...call.data, outcome: 'failed' } };
        const deliveries: Delivery[] = [
          { sender: 'as', envelope: aVerification({ digest }) },
          { sender: 'as', envelope: aConsent({ digest }) },
          { sender: 'tokens', envelope: aToken({ digest, jti }) },
          { sender: 'agent', envelope: call },
          { sender: 'agent', envelope: changed },
        ];
        return { digest, deliveries };
      },
      async ({ digest }) => ({
        rules: await rulesOf(digest),
        evidence: ((await findingsOf(app, `rule=conflicting_redelivery&chain=${digest}`)).items[0]?.evidence as { type: string }[] | undefined)?.map((entry) => entry.type),
      }),
    );
    expectSameInEveryOrder(results, { rules: ['conflicting_redelivery/high'], evidence: ['tool_call.recorded', 'tool_call.recorded'] });
  });

  it('one request-object jti of one client accepted in two chains is a replay on the later chain, whatever the order', async () => {
    const results = await inEveryOrder(
      () => {
        const [first, second] = [randomDigest(), randomDigest()];
        const jti = randomUUID();
        const claims = (at: Date) => ({ iss: 'agent-app', aud: 'https://as.example.com', iat: Math.floor(at.getTime() / 1000), exp: Math.floor(at.getTime() / 1000) + 300, scope: 'mail.send', jti });
        const deliveries: Delivery[] = [
          { sender: 'as', envelope: stamped(aVerification({ digest: first, claims: claims(secondsAgo(60)) }), secondsAgo(60)) },
          { sender: 'as', envelope: stamped(aConsent({ digest: first }), secondsAgo(50)) },
          { sender: 'as', envelope: aVerification({ digest: second, claims: claims(new Date()) }) },
          { sender: 'as', envelope: aConsent({ digest: second }) },
        ];
        return { first, second, deliveries };
      },
      async ({ first, second }) => ({ first: await rulesOf(first), second: await rulesOf(second) }),
    );
    expectSameInEveryOrder(results, { first: [], second: ['request_uri_replay/high'] });
    const [replay] = (await findingsOf(app, `rule=request_uri_replay&chain=${results.shuffled.scenario.second}`)).items;
    expect(replay).toMatchObject({ facts: expect.objectContaining({ key_kind: 'jti', accepted_uses: 2 }) });
  });

  it('a PAR request_uri reported once but consumed twice (two consents, two code exchanges) is a replay, whatever the order', async () => {
    const results = await inEveryOrder(
      () => {
        const digest = randomDigest();
        const requestUri = `urn:ietf:params:oauth:request_uri:${randomUUID()}`;
        const exchange = (at: Date) =>
          (['access', 'refresh'] as const).map((tokenType): Delivery => ({
            sender: 'tokens',
            envelope: aToken({ digest, token_type: tokenType, grant_type: 'authorization_code', iat: Math.floor(at.getTime() / 1000), exp: Math.floor(at.getTime() / 1000) + 3600 }),
          }));
        const deliveries: Delivery[] = [
          { sender: 'as', envelope: stamped(parUse(digest, requestUri), secondsAgo(120)) },
          { sender: 'as', envelope: stamped(aConsent({ digest }), secondsAgo(100)) },
          ...exchange(secondsAgo(98)),
          { sender: 'as', envelope: stamped(aConsent({ digest }), secondsAgo(20)) },
          ...exchange(secondsAgo(18)),
        ];
        return { digest, deliveries };
      },
      async ({ digest }) => ({
        rules: await rulesOf(digest),
        facts: (await findingsOf(app, `rule=request_uri_replay&chain=${digest}`)).items.map((finding) => finding.facts),
      }),
    );
    expectSameInEveryOrder(results, {
      rules: ['request_uri_replay/high'],
      facts: [expect.objectContaining({ key_kind: 'request_uri', accepted_uses: 2, consumptions: 2, unreported_consumptions: 1 })],
    });
  });

  it('a high-impact scope granted from a request that travelled unencrypted, for a client that requires encryption, whatever the order; resolved, naming the registration, when the client stops requiring it', async () => {
    const clientId = `client-${randomUUID()}`;
    const registration = {
      jwks: { keys: [(await aClientKey('PS256')).jwk] },
      request_object_signing_alg_values: ['PS256'],
      high_impact_scopes: ['mail.send'],
      require_encrypted_request_object: true,
    };
    await registerClient(app, { client_id: clientId, ...registration }).expect(201);
    const results = await inEveryOrder(
      () => {
        const digest = randomDigest();
        const now = Math.floor(Date.now() / 1000);
        const deliveries: Delivery[] = [
          { sender: 'as', envelope: aVerification({ digest, client_id: clientId, claims: { iss: clientId, aud: 'https://as.example.com', iat: now, exp: now + 300, scope: 'mail.send', jti: randomUUID() } }) },
          { sender: 'as', envelope: aConsent({ digest }) },
          { sender: 'tokens', envelope: aToken({ digest }) },
        ];
        return { digest, deliveries };
      },
      async ({ digest }) => ({
        rules: await rulesOf(digest),
        branches: (await findingsOf(app, `rule=unsigned_high_impact&chain=${digest}`)).items.map((finding) => (finding.facts as { branches: string[] }).branches),
      }),
    );
    expectSameInEveryOrder(results, { rules: ['unsigned_high_impact/high'], branches: [['unencrypted']] });

    await app.http().put(`/v1/clients/${clientId}`).set('authorization', `Bearer ${app.adminKey}`).send({ ...registration, require_encrypted_request_object: false }).expect(200);
    await evaluateNow(app);
    for (const { scenario } of Object.values(results)) {
      expect((await findingsOf(app, `rule=unsigned_high_impact&chain=${scenario.digest}`)).items).toEqual([
        expect.objectContaining({ status: 'resolved', resolution: expect.stringContaining(`once the registration of client "${clientId}" was made or changed`) }),
      ]);
    }
  });

  it('the AS accepting a request object whose claim facts differ from the object is a verdict mismatch, whatever the order', async () => {
    const clientId = `client-${randomUUID()}`;
    const key = await aClientKey('ES256');
    await registerClient(app, { client_id: clientId, jwks: { keys: [key.jwk] }, request_object_signing_alg_values: ['ES256'] }).expect(201);
    const results = await inEveryOrder(
      async () => {
        const claims = requestClaims(clientId);
        const object = await signRequestObject(key, claims);
        // The AS reports a scope the object does not carry.
        const verification = verificationOf(object, { ...claims, scope: 'openid mail.send mail.admin' }, { alg: 'ES256', kid: key.kid });
        const digest = String(verification.data.digest);
        const deliveries: Delivery[] = [
          { sender: 'as', envelope: verification },
          { sender: 'as', envelope: aConsent({ digest }) },
          { sender: 'tokens', envelope: aToken({ digest }) },
        ];
        return { digest, deliveries };
      },
      async ({ digest }) => ({
        rules: await rulesOf(digest),
        reasons: (await findingsOf(app, `rule=verdict_mismatch&chain=${digest}`)).items.map((finding) => (finding.facts as { reasons: string[] }).reasons),
      }),
    );
    expectSameInEveryOrder(results, { rules: ['verdict_mismatch/high'], reasons: [['claims_mismatch']] });
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
