import { randomUUID } from 'node:crypto';
import { fieldsOf, problemOf, startTestApp, type TestApp } from '../support/app';
import { aConsent, aRevocation, aToken, aToolCall, aVerification, type Envelope, hashOf, randomDigest, registerSenders } from '../support/events';
import { checkpointNow } from '../support/ledger';

type Senders = Awaited<ReturnType<typeof registerSenders>>;
type Item = { digest: string; first_recorded_at: string };

/** A fresh service and database for the enclosing `describe`, with one source of each kind. */
function withFreshApp() {
  const context = {} as { app: TestApp; senders: Senders };
  beforeAll(async () => {
    context.app = await startTestApp();
    context.senders = await registerSenders(context.app);
  });
  afterAll(() => context.app.close());
  return context;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A digest that is well-formed but whose last character carries non-zero padding bits. */
function nonCanonical(digest: string): string {
  return `${digest.slice(0, 42)}B`;
}

describe('GET /v1/chains/{digest}: the whole chain as one document', () => {
  const context = withFreshApp();

  // Each record's moment of occurrence differs from the moment it was emitted and from its arrival order, so the
  // timeline can only come out right when it is ordered by the occurrence field of each type.
  const base = Date.parse('2026-11-28T09:00:00Z');
  const at = (seconds: number) => new Date(base + seconds * 1000).toISOString();
  const unix = (seconds: number) => Math.floor(base / 1000) + seconds;
  const suffix = randomUUID().slice(0, 8);
  const digest = randomDigest();
  const subject = `alice-${suffix}@example.com`;
  const jti = `at-${suffix}`;
  const sideEffect = { kind: 'email', reference: `msg-${suffix}`, summary: 'sent the quarterly report to bob' };
  const verification: Envelope = { id: `ver-${suffix}`, ...aVerification({ digest }), timestamp: at(0) };
  const consent: Envelope = { id: `con-${suffix}`, ...aConsent({ digest, subject }), timestamp: at(10) };
  const token: Envelope = { id: `tok-${suffix}`, ...aToken({ digest, jti, iat: unix(20), exp: unix(3600) }), timestamp: at(900) };
  const toolCall: Envelope = {
    id: `call-${suffix}`,
    ...aToolCall({ token: { jti }, started_at: at(30), completed_at: at(31), side_effect: sideEffect }),
    timestamp: at(800),
  };
  const quietCall: Envelope = {
    id: `quiet-${suffix}`,
    ...aToolCall({ token: { jti }, started_at: at(35), action: 'read', side_effect: undefined }),
    timestamp: at(850),
  };
  const revocation: Envelope = { id: `rev-${suffix}`, ...aRevocation({ jti, revoked_at: at(40) }), timestamp: at(700) };

  let chain: Record<string, any>;

  beforeAll(async () => {
    const { as, tokens, agent } = context.senders;
    // Arrival order: neither the order of occurrence nor the order of the envelope timestamps.
    await agent.event(toolCall).expect(202);
    await tokens.event(revocation).expect(202);
    await as.event(consent).expect(202);
    await agent.event(quietCall).expect(202);
    await tokens.event(token).expect(202);
    await as.event(verification).expect(202);
    chain = (await context.app.get(`/v1/chains/${digest}`).expect(200)).body;
  });

  it('returns every record of the chain, grouped as verifications, consents, tokens, revocations and tool calls', async () => {
    expect(chain.digest).toBe(digest);
    expect(chain.aliases).toEqual([]);
    expect(chain.request_object.verifications.map((record: any) => record.event_id)).toEqual([verification.id]);
    expect(chain.consents.map((record: any) => record.event_id)).toEqual([consent.id]);
    expect(chain.tokens.map((record: any) => record.event_id)).toEqual([token.id]);
    expect(chain.revocations.map((record: any) => record.event_id)).toEqual([revocation.id]);
    expect(chain.tool_calls.map((record: any) => record.event_id)).toEqual([toolCall.id, quietCall.id]);
    expect(chain.request_object.verifications[0]).toMatchObject({
      type: 'request_object.verification',
      source: { id: context.senders.as.source.id, name: expect.any(String) },
      emitted_at: at(0),
      data: { digest, verdict: 'accepted', client_id: 'agent-app', header: { alg: 'PS256', kid: 'client-key-1' } },
    });
    expect(chain.tokens[0].data).toMatchObject({ jti, iat: unix(20), token_type: 'access' });
    expect(chain.revocations[0].data).toMatchObject({ jti, revoked_at: at(40) });
  });

  it('shows each tool call with its side effect, and a call without one without it', async () => {
    const [withEffect, without] = chain.tool_calls;
    expect(withEffect.data.side_effect).toEqual(sideEffect);
    expect(withEffect.data).toMatchObject({ call_id: toolCall.data.call_id, tool: 'mail', action: 'send', outcome: 'succeeded', token: { jti } });
    expect(without.data.side_effect).toBeUndefined();
    const summary = chain.timeline.find((entry: any) => entry.event_id === toolCall.id).summary;
    expect(summary).toContain(sideEffect.reference);
  });

  it('orders the timeline by occurrence: envelope time for verification and consent, iat, started_at, revoked_at', async () => {
    expect(chain.timeline.map((entry: any) => [entry.event_id, entry.type, entry.occurred_at])).toEqual([
      [verification.id, 'request_object.verification', at(0)],
      [consent.id, 'consent.decision', at(10)],
      [token.id, 'token.issued', at(20)],
      [toolCall.id, 'tool_call.recorded', at(30)],
      [quietCall.id, 'tool_call.recorded', at(35)],
      [revocation.id, 'token.revoked', at(40)],
    ]);
    // Each record says when it happened and, apart from that, when it was emitted.
    expect(chain.tokens[0]).toMatchObject({ occurred_at: at(20), emitted_at: at(900) });
    expect(chain.tool_calls[0]).toMatchObject({ occurred_at: at(30), emitted_at: at(800) });
    expect(chain.revocations[0]).toMatchObject({ occurred_at: at(40), emitted_at: at(700) });
    for (const entry of chain.timeline) expect(entry.summary).toEqual(expect.any(String));
  });

  it('does not mark a chain whose request object is signed as unsigned', async () => {
    expect(chain.unsigned).toBe(false);
  });

  it('shows the subject only as its pseudonym, never the raw subject anywhere in the document', async () => {
    const pseudonym = context.app.keyring.pseudonymOf(subject);
    expect(pseudonym).toMatch(/^psn:/);
    expect(chain.consents[0].data.subject).toBe(pseudonym);
    expect(chain.timeline.find((entry: any) => entry.event_id === consent.id).summary).toContain(pseudonym);
    const response = await context.app.get(`/v1/chains/${digest}`).expect(200);
    expect(response.text).not.toContain(subject);
    expect(response.text).not.toContain(subject.replace('@', '\\u0040'));
  });

  it('marks a plain authorization request (unsigned: true, no header) as unsigned', async () => {
    const plain = aVerification({ unsigned: true, header: undefined });
    await context.senders.as.event(plain).expect(202);
    const response = await context.app.get(`/v1/chains/${plain.data.digest}`).expect(200);
    expect(response.body.unsigned).toBe(true);
    expect(response.body.request_object.verifications[0].data.header).toBeUndefined();
  });

  it('marks a request object signed with alg "none" as unsigned', async () => {
    const none = aVerification({ header: { alg: 'none' } });
    await context.senders.as.event(none).expect(202);
    const response = await context.app.get(`/v1/chains/${none.data.digest}`).expect(200);
    expect(response.body.unsigned).toBe(true);
  });

  it('answers 404 with a problem for a well-formed digest that no chain has', async () => {
    const unknown = randomDigest();
    const problem = problemOf(await context.app.get(`/v1/chains/${unknown}`), 404, 'not-found');
    expect(problem.detail).toContain(unknown);
    expect(problem.instance).toBe(`/v1/chains/${unknown}`);
  });
});

describe('the timeline within one second: causal order, not the order of clocks without fractions', () => {
  const context = withFreshApp();

  it('orders verification, consent, token, tool call and revocation of one second causally, though iat has no fraction', async () => {
    const { as, tokens, agent } = context.senders;
    const second = Date.parse('2026-11-28T09:30:07Z');
    const at = (milliseconds: number) => new Date(second + milliseconds).toISOString();
    const suffix = randomUUID().slice(0, 8);
    const digest = randomDigest();
    const jti = `at-${suffix}`;
    // The token's iat (whole seconds) reads 09:30:07.000, before the verification and the consent that led to it.
    const verification: Envelope = { id: `ver-${suffix}`, ...aVerification({ digest }), timestamp: at(400) };
    const consent: Envelope = { id: `con-${suffix}`, ...aConsent({ digest }), timestamp: at(700) };
    const token: Envelope = { id: `tok-${suffix}`, ...aToken({ digest, jti, iat: second / 1000, exp: second / 1000 + 600 }) };
    const toolCall: Envelope = { id: `call-${suffix}`, ...aToolCall({ token: { jti }, started_at: at(800) }) };
    const revocation: Envelope = { id: `rev-${suffix}`, ...aRevocation({ jti, revoked_at: at(900) }) };
    // A call started in the same second after the revocation stays after it: between those two, time decides.
    const lateCall: Envelope = { id: `late-${suffix}`, ...aToolCall({ token: { jti }, started_at: at(950) }) };
    await agent.event(lateCall).expect(202);
    await tokens.event(revocation).expect(202);
    await agent.event(toolCall).expect(202);
    await tokens.event(token).expect(202);
    await as.event(consent).expect(202);
    await as.event(verification).expect(202);

    const chain = (await context.app.get(`/v1/chains/${digest}`).expect(200)).body;
    expect(chain.timeline.map((entry: any) => [entry.event_id, entry.occurred_at])).toEqual([
      [verification.id, at(400)],
      [consent.id, at(700)],
      [token.id, at(0)],
      [toolCall.id, at(800)],
      [revocation.id, at(900)],
      [lateCall.id, at(950)],
    ]);
    expect(chain.tool_calls.map((record: any) => record.event_id)).toEqual([toolCall.id, lateCall.id]);
  });
});

describe('encrypted request objects: the inner digest finds the chain', () => {
  const context = withFreshApp();
  const jwe = (inner: string) => aVerification({ encryption: { alg: 'RSA-OAEP-256', enc: 'A256GCM' }, inner_digest: inner });

  it('finds the JWE chain by the digest of its inner JWS', async () => {
    const inner = randomDigest();
    const verification = jwe(inner);
    await context.senders.as.event(verification).expect(202);
    // The record ledgered and checkpointed first: otherwise the sequencer may do it between the two reads.
    await checkpointNow(context.app);
    const byOuter = (await context.app.get(`/v1/chains/${verification.data.digest}`).expect(200)).body;
    const byInner = (await context.app.get(`/v1/chains/${inner}`).expect(200)).body;
    expect(byOuter.aliases).toEqual([inner]);
    expect(byInner).toEqual(byOuter);
    expect(byInner.digest).toBe(verification.data.digest);
  });

  it('answers 300 with a problem listing both chains when two JWEs share one inner digest', async () => {
    const inner = randomDigest();
    const [first, second] = [jwe(inner), jwe(inner)];
    await context.senders.as.event(first).expect(202);
    await context.senders.as.event(second).expect(202);
    const problem = problemOf(await context.app.get(`/v1/chains/${inner}`), 300, 'ambiguous-digest');
    expect(problem.chains).toEqual([first.data.digest, second.data.digest].sort());
    // Each chain itself stays reachable by its own digest.
    for (const digest of [first.data.digest, second.data.digest]) {
      expect((await context.app.get(`/v1/chains/${digest}`).expect(200)).body.aliases).toEqual([inner]);
    }
  });
});

describe('GET /v1/lookup: from any record back to its chain', () => {
  const context = withFreshApp();
  const digest = randomDigest();
  const suffix = randomUUID().slice(0, 8);
  const jti = `lookup-at-${suffix}`;
  const hashedToken = `opaque-refresh-token-${suffix}`;
  const requestUri = `urn:ietf:params:oauth:request_uri:${suffix}`;
  const call = aToolCall({ token: { jti }, side_effect: { kind: 'ticket', reference: `TICKET-${suffix}` } });

  beforeAll(async () => {
    const { as, tokens, agent } = context.senders;
    await as.event(aVerification({ digest, delivery: 'par', request_uri: requestUri })).expect(202);
    await tokens.event(aToken({ digest, jti })).expect(202);
    await tokens.event(aToken({ digest, token_type: 'refresh', jti: undefined, token_hash: hashOf(hashedToken) })).expect(202);
    await agent.event(call).expect(202);
    // Noise: another chain with records of every kind, which no lookup below may return.
    const other = randomDigest();
    await as.event(aVerification({ digest: other, delivery: 'par', request_uri: `${requestUri}-other` })).expect(202);
    await tokens.event(aToken({ digest: other, jti: `${jti}-other` })).expect(202);
    await agent.event(aToolCall({ token: { jti: `${jti}-other` } })).expect(202);
  });

  it.each([
    ['token_jti', () => jti, 'token.issued'],
    ['token_hash', () => hashOf(hashedToken), 'token.issued'],
    ['call_id', () => String(call.data.call_id), 'tool_call.recorded'],
    ['side_effect_reference', () => `TICKET-${suffix}`, 'tool_call.recorded'],
    ['request_uri', () => requestUri, 'request_object.verification'],
  ])('leads from %s back to the chain digest', async (parameter, value, type) => {
    const response = await context.app.get(`/v1/lookup?${parameter}=${encodeURIComponent(value())}`).expect(200);
    expect(response.body.records.map((record: any) => [record.type, record.chains])).toEqual([[type, [digest]]]);
  });

  it('answers 400 naming the parameters when none is given', async () => {
    const problem = problemOf(await context.app.get('/v1/lookup'), 400, 'invalid-request');
    expect(fieldsOf(problem)).toEqual(['token_jti', 'token_hash', 'call_id', 'side_effect_reference', 'request_uri'].map((name) => [name, 'exactly_one']));
  });

  it('answers 400 naming the fields when two parameters are given', async () => {
    const problem = problemOf(await context.app.get(`/v1/lookup?token_jti=${jti}&call_id=${String(call.data.call_id)}`), 400, 'invalid-request');
    expect(fieldsOf(problem).map(([field]) => field).sort()).toEqual(['call_id', 'token_jti']);
    expect(fieldsOf(problem).every(([, code]) => code === 'exactly_one')).toBe(true);
  });

  it('answers 400 naming an unknown parameter', async () => {
    const problem = problemOf(await context.app.get(`/v1/lookup?token_jti=${jti}&jti=${jti}`), 400, 'invalid-request');
    expect(fieldsOf(problem)).toContainEqual(['jti', 'unknown_field']);
  });

  it('answers 400 naming token_hash when it is not a SHA-256 base64url value', async () => {
    const problem = problemOf(await context.app.get(`/v1/lookup?token_hash=${hashedToken}`), 400, 'invalid-request');
    expect(fieldsOf(problem)).toEqual([['token_hash', 'digest_length']]);
  });

  it.each([
    ['token_jti', 'no-such-jti'],
    ['token_hash', randomDigest()],
    ['call_id', 'no-such-call'],
    ['side_effect_reference', 'no-such-reference'],
    ['request_uri', 'urn:ietf:params:oauth:request_uri:nothing'],
  ])('answers 404 with a problem when no record has that %s', async (parameter, value) => {
    problemOf(await context.app.get(`/v1/lookup?${parameter}=${encodeURIComponent(value)}`), 404, 'not-found');
  });
});

describe('GET /v1/chains: search by client, subject, issuer, tool and time', () => {
  const context = withFreshApp();
  const suffix = randomUUID().slice(0, 8);
  const first = { digest: randomDigest(), client: `client-a-${suffix}`, issuer: `https://as-a-${suffix}.example`, subject: `alice-${suffix}@example.com`, tool: `calendar-${suffix}` };
  const second = { digest: randomDigest(), client: `client-b-${suffix}`, issuer: `https://as-b-${suffix}.example`, subject: `bob-${suffix}@example.com`, tool: `mail-${suffix}` };
  const found: Record<string, Item> = {};

  const search = async (query: string) => (await context.app.get(`/v1/chains?limit=100&${query}`).expect(200)).body as { items: any[]; next_cursor: string | null };
  const digestsOf = async (query: string) => (await search(query)).items.map((item) => item.digest);

  beforeAll(async () => {
    const { as, tokens, agent } = context.senders;
    for (const chain of [first, second]) {
      const jti = `at-${randomUUID()}`;
      await as.event(aVerification({ digest: chain.digest, client_id: chain.client, issuer: chain.issuer })).expect(202);
      await as.event(aConsent({ digest: chain.digest, subject: chain.subject })).expect(202);
      await tokens.event(aToken({ digest: chain.digest, jti })).expect(202);
      await agent.event(aToolCall({ token: { jti }, tool: chain.tool })).expect(202);
      // Apart in time, so that from/to can tell the two chains apart.
      await sleep(25);
    }
    for (const item of (await search('')).items) found[item.digest] = item;
  });

  it('finds a chain by client_id', async () => {
    expect(await digestsOf(`client_id=${first.client}`)).toEqual([first.digest]);
    expect(await digestsOf(`client_id=${second.client}`)).toEqual([second.digest]);
  });

  it('finds a chain by issuer', async () => {
    expect(await digestsOf(`issuer=${encodeURIComponent(first.issuer)}`)).toEqual([first.digest]);
  });

  it('finds a chain by tool, through the token its tool call used', async () => {
    expect(await digestsOf(`tool=${second.tool}`)).toEqual([second.digest]);
  });

  it('finds a chain by the raw subject, searched by its pseudonym, and shows only the pseudonym', async () => {
    const response = await context.app.get(`/v1/chains?subject=${encodeURIComponent(first.subject)}`).expect(200);
    expect(response.body.items.map((item: any) => item.digest)).toEqual([first.digest]);
    expect(response.body.items[0].subjects).toEqual([context.app.keyring.pseudonymOf(first.subject)]);
    expect(response.text).not.toContain(first.subject);
    // The unencoded form of the query finds it too.
    expect(await digestsOf(`subject=${first.subject}`)).toEqual([first.digest]);
  });

  it('does not find a chain by the pseudonym of another subject, nor by an unknown value', async () => {
    expect(await digestsOf(`subject=${encodeURIComponent(`carol-${suffix}@example.com`)}`)).toEqual([]);
    expect(await digestsOf(`client_id=nobody-${suffix}`)).toEqual([]);
  });

  it('combines filters: every one of them must match', async () => {
    expect(await digestsOf(`client_id=${first.client}&subject=${encodeURIComponent(first.subject)}&tool=${first.tool}&issuer=${encodeURIComponent(first.issuer)}`)).toEqual([
      first.digest,
    ]);
    expect(await digestsOf(`client_id=${first.client}&tool=${second.tool}`)).toEqual([]);
    expect(await digestsOf(`client_id=${first.client}&subject=${encodeURIComponent(second.subject)}`)).toEqual([]);
  });

  it('summarises each chain: its clients, issuers, subject pseudonyms, tools and record counts', async () => {
    const [item] = (await search(`client_id=${first.client}`)).items;
    expect(item).toEqual({
      digest: first.digest,
      first_recorded_at: found[first.digest]!.first_recorded_at,
      client_ids: [first.client],
      issuers: [first.issuer],
      subjects: [context.app.keyring.pseudonymOf(first.subject)],
      tools: [first.tool],
      open_findings: {},
      records: { verifications: 1, consents: 1, tokens: 1, revocations: 0, tool_calls: 1 },
    });
  });

  it("filters by when the chain was first recorded: a chain's own first_recorded_at as from includes it, as to excludes it", async () => {
    const { first_recorded_at: secondAt } = found[second.digest]!;
    const { first_recorded_at: firstAt } = found[first.digest]!;
    expect(Date.parse(firstAt)).toBeLessThan(Date.parse(secondAt));
    const fromSecond = await digestsOf(`from=${secondAt}`);
    expect(fromSecond).toContain(second.digest);
    expect(fromSecond).not.toContain(first.digest);
    const toSecond = await digestsOf(`to=${secondAt}`);
    expect(toSecond).toContain(first.digest);
    expect(toSecond).not.toContain(second.digest);
    expect(await digestsOf(`from=${firstAt}&to=${secondAt}`)).toEqual([first.digest]);
    // A facet filter and a time range together.
    expect(await digestsOf(`client_id=${second.client}&to=${secondAt}`)).toEqual([]);
    expect(await digestsOf(`client_id=${second.client}&from=${encodeURIComponent(new Date(Date.parse(secondAt) - 1).toISOString().replace('Z', '+00:00'))}`)).toEqual([
      second.digest,
    ]);
  });

  it('answers 400 naming to when the time range is empty', async () => {
    const at = found[first.digest]!.first_recorded_at;
    const problem = problemOf(await context.app.get(`/v1/chains?from=${at}&to=${at}`), 400, 'invalid-request');
    expect(fieldsOf(problem)).toEqual([['to', 'empty_range']]);
  });

  it.each([
    ['an unknown parameter', 'colour=blue', 'colour'],
    ['a limit over 100', 'limit=101', 'limit'],
    ['a limit of 0', 'limit=0', 'limit'],
    ['a limit that is not a number', 'limit=ten', 'limit'],
    ['a from that is not a date-time', 'from=yesterday', 'from'],
  ])('answers 400 naming the parameter for %s', async (_case, query, field) => {
    const problem = problemOf(await context.app.get(`/v1/chains?${query}`), 400, 'invalid-request');
    expect(fieldsOf(problem).map(([name]) => name)).toEqual([field]);
  });

  it('accepts a limit of exactly 100', async () => {
    await context.app.get('/v1/chains?limit=100').expect(200);
  });
});

describe('GET /v1/chains: keyset pagination', () => {
  const context = withFreshApp();
  const seeded: string[] = [];

  const page = async (limit: number, cursor?: string) =>
    (await context.app.get(`/v1/chains?limit=${limit}${cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`}`).expect(200)).body as {
      items: Item[];
      next_cursor: string | null;
    };

  /** Every page from the first; `between` runs after each page but the last. */
  const walk = async (limit: number, between: (pageNumber: number) => Promise<void> = async () => {}) => {
    const items: Item[] = [];
    let cursor: string | undefined;
    for (let pageNumber = 0; pageNumber < 100; pageNumber++) {
      const result = await page(limit, cursor);
      expect(result.items.length).toBeLessThanOrEqual(limit);
      items.push(...result.items);
      if (result.next_cursor === null) return items;
      cursor = result.next_cursor;
      await between(pageNumber);
    }
    throw new Error('the walk did not end');
  };

  const newChain = async () => {
    const verification = aVerification();
    await context.senders.as.event(verification).expect(202);
    return String(verification.data.digest);
  };

  /** Newest first: first-recorded times never increase down the walk. */
  const expectNewestFirst = (items: Item[]) => {
    const times = items.map((item) => Date.parse(item.first_recorded_at));
    expect(times).toEqual([...times].sort((a, b) => b - a));
  };

  beforeAll(async () => {
    // Three chains one by one, then five in one batch: those five share their first-recorded time exactly, so
    // only the digest tells them apart in the order.
    for (let index = 0; index < 3; index++) seeded.push(await newChain());
    const batch = [0, 1, 2, 3, 4].map(() => aVerification());
    await context.senders.as.batch(batch).expect(200);
    seeded.push(...batch.map((event) => String(event.data.digest)));
  });

  it.each([1, 2, 3, 8, 100])('walks every chain exactly once, newest first, with limit %i', async (limit) => {
    const items = await walk(limit);
    const digests = items.map((item) => item.digest);
    expect(digests).toHaveLength(seeded.length);
    expect(new Set(digests)).toEqual(new Set(seeded));
    expectNewestFirst(items);
    // The first three arrived one by one, oldest first; the batch came last.
    expect(digests.slice(5).reverse()).toEqual(seeded.slice(0, 3));
    // Within the batch, one first-recorded time: the digest orders them, descending.
    expect(digests.slice(0, 5)).toEqual([...seeded.slice(3)].sort().reverse());
  });

  it('says there is no next page on the last page', async () => {
    const all = await page(100);
    expect(all.next_cursor).toBeNull();
    const exact = await page(seeded.length);
    expect(exact.items).toHaveLength(seeded.length);
    expect(exact.next_cursor).toBeNull();
  });

  it('keeps its order when new chains arrive between pages: the walk neither repeats nor skips', async () => {
    const before = (await walk(100)).map((item) => item.digest);
    const arrived: string[] = [];
    const items = await walk(2, async () => {
      arrived.push(await newChain());
    });
    expect(items.map((item) => item.digest)).toEqual(before);
    // The new chains are there for a walk that starts afterwards, on top.
    const after = (await walk(100)).map((item) => item.digest);
    expect(after).toEqual([...arrived].reverse().concat(before));
  });

  it.each([
    ['a truncated cursor', (cursor: string) => cursor.slice(0, -4)],
    ['a cursor with a character changed', (cursor: string) => `${cursor.slice(0, 10)}${cursor[10] === 'x' ? 'y' : 'x'}${cursor.slice(11)}`],
    ['a cursor that is not base64url JSON', () => 'not-a-cursor'],
    ['a cursor whose time lost its microseconds', () => Buffer.from(JSON.stringify(['2026-11-28T10:00:00.000Z', randomDigest()])).toString('base64url')],
    ['a cursor whose digest is malformed', () => Buffer.from(JSON.stringify(['2026-11-28T10:00:00.000000Z', 'abc'])).toString('base64url')],
    ['a cursor that is SQL', () => "' OR 1=1 --"],
  ])('answers 400 naming cursor for %s', async (_case, tamper) => {
    const { next_cursor: cursor } = await page(2);
    const problem = problemOf(await context.app.get(`/v1/chains?cursor=${encodeURIComponent(tamper(cursor!))}`), 400, 'invalid-request');
    expect(fieldsOf(problem)).toEqual([['cursor', 'invalid_cursor']]);
  });
});

describe('malformed digests in the path', () => {
  const context = withFreshApp();
  const valid = randomDigest();

  it.each([
    ['one character short', valid.slice(0, 42), 'digest_length'],
    ['one character long', `${valid}A`, 'digest_length'],
    ['padded with =', `${valid}=`, 'digest_length'],
    ['a hex SHA-256', 'a'.repeat(64), 'digest_length'],
    ['with a + of standard base64', `+${valid.slice(1)}`, 'digest_alphabet'],
    ['with a character outside base64url', `${valid.slice(0, 20)}!${valid.slice(21)}`, 'digest_alphabet'],
    ['with a non-canonical last character', nonCanonical(valid), 'digest_non_canonical'],
  ])('answers 400 naming digest for a digest %s', async (_case, digest, code) => {
    const problem = problemOf(await context.app.get(`/v1/chains/${encodeURIComponent(digest)}`), 400, 'invalid-request');
    expect(fieldsOf(problem)).toEqual([['digest', code]]);
  });

  it('answers 404, not 400, for a well-formed digest of no chain', async () => {
    problemOf(await context.app.get(`/v1/chains/${valid}`), 404, 'not-found');
  });
});
