import { randomUUID } from 'node:crypto';
import { startTestApp, type TestApp } from '../support/app';
import { aConsent, aRevocation, aToken, aToolCall, aVerification, type Envelope, hashOf, randomDigest, registerSenders, type WebhookSender } from '../support/events';

type Senders = Awaited<ReturnType<typeof registerSenders>>;

/**
 * One authorization, start to end: the request object, consent, an access token, a refresh token and the access
 * token it was exchanged for, a revocation, and tool calls using each token. Times are spread out so that the
 * timeline order is known whatever the arrival order.
 */
function anAuthorization() {
  const digest = randomDigest();
  const base = Date.parse('2026-11-28T10:00:00Z');
  const at = (seconds: number) => new Date(base + seconds * 1000).toISOString();
  const unix = (seconds: number) => Math.floor(base / 1000) + seconds;
  const suffix = randomUUID().slice(0, 8);
  const accessJti = `at-${suffix}`;
  const refreshJti = `rt-${suffix}`;
  const secondAccessToken = `opaque-access-token-${suffix}`;
  const events: { sender: keyof Senders; envelope: Envelope }[] = [
    { sender: 'as', envelope: { id: `ver-${suffix}`, ...aVerification({ digest }), timestamp: at(0) } },
    { sender: 'as', envelope: { id: `con-${suffix}`, ...aConsent({ digest }), timestamp: at(1) } },
    { sender: 'tokens', envelope: { id: `tok1-${suffix}`, ...aToken({ digest, jti: accessJti, iat: unix(2), exp: unix(3600) }) } },
    { sender: 'tokens', envelope: { id: `tok2-${suffix}`, ...aToken({ digest, token_type: 'refresh', jti: refreshJti, iat: unix(3), exp: unix(86400) }) } },
    { sender: 'agent', envelope: { id: `call1-${suffix}`, ...aToolCall({ token: { jti: accessJti }, started_at: at(4), call_id: `c1-${suffix}` }) } },
    {
      sender: 'tokens',
      envelope: {
        id: `tok3-${suffix}`,
        ...aToken({ parent: { jti: refreshJti }, grant_type: 'refresh_token', token_hash: hashOf(secondAccessToken), jti: undefined, iat: unix(5), exp: unix(3600) }),
      },
    },
    { sender: 'agent', envelope: { id: `call2-${suffix}`, ...aToolCall({ token: { token_hash: hashOf(secondAccessToken) }, started_at: at(6), call_id: `c2-${suffix}` }) } },
    { sender: 'tokens', envelope: { id: `rev-${suffix}`, ...aRevocation({ token_hash: hashOf(secondAccessToken), revoked_at: at(7) }) } },
  ];
  return { digest, events, suffix, secondAccessToken };
}

/** The shape of a chain with everything that differs between two runs of anAuthorization() taken out. */
function shapeOf(chain: Record<string, any>, suffix: string) {
  const strip = (id: string) => id.replace(suffix, '*');
  return {
    verifications: chain.request_object.verifications.map((record: any) => strip(record.event_id)),
    consents: chain.consents.map((record: any) => strip(record.event_id)),
    tokens: chain.tokens.map((record: any) => strip(record.event_id)),
    revocations: chain.revocations.map((record: any) => strip(record.event_id)),
    tool_calls: chain.tool_calls.map((record: any) => strip(record.event_id)),
    timeline: chain.timeline.map((entry: any) => strip(entry.event_id)),
  };
}

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const copy = [...items];
  let state = seed;
  for (let index = copy.length - 1; index > 0; index--) {
    state = (state * 1103515245 + 12345) % 2147483648;
    const other = state % (index + 1);
    [copy[index], copy[other]] = [copy[other]!, copy[index]!];
  }
  return copy;
}

describe('chain linking', () => {
  let app: TestApp;
  let senders: Senders;

  beforeAll(async () => {
    app = await startTestApp();
    senders = await registerSenders(app);
  });
  afterAll(() => app.close());

  const sendOneByOne = async (events: ReturnType<typeof anAuthorization>['events']) => {
    for (const { sender, envelope } of events) {
      await (senders[sender] as WebhookSender).event(envelope).expect(202);
    }
  };
  const chainOf = async (digest: string) => (await app.get(`/v1/chains/${digest}`).expect(200)).body;

  let inOrder: ReturnType<typeof shapeOf>;

  it('links every record of an authorization that arrives in order', async () => {
    const authorization = anAuthorization();
    await sendOneByOne(authorization.events);
    inOrder = shapeOf(await chainOf(authorization.digest), authorization.suffix);
    expect(inOrder).toEqual({
      verifications: ['ver-*'],
      consents: ['con-*'],
      tokens: ['tok1-*', 'tok2-*', 'tok3-*'],
      revocations: ['rev-*'],
      tool_calls: ['call1-*', 'call2-*'],
      timeline: ['ver-*', 'con-*', 'tok1-*', 'tok2-*', 'call1-*', 'tok3-*', 'call2-*', 'rev-*'],
    });
  });

  it('builds the same chain when the records arrive in reverse order', async () => {
    const authorization = anAuthorization();
    await sendOneByOne([...authorization.events].reverse());
    expect(shapeOf(await chainOf(authorization.digest), authorization.suffix)).toEqual(inOrder);
  });

  it.each([1, 2, 3, 4, 5])('builds the same chain whatever the arrival order (shuffle %i)', async (seed) => {
    const authorization = anAuthorization();
    await sendOneByOne(shuffled(authorization.events, seed));
    expect(shapeOf(await chainOf(authorization.digest), authorization.suffix)).toEqual(inOrder);
  });

  it('builds the same chain when all records arrive at once, from every sender concurrently', async () => {
    const authorization = anAuthorization();
    await Promise.all(authorization.events.map(({ sender, envelope }) => (senders[sender] as WebhookSender).event(envelope).expect(202)));
    expect(shapeOf(await chainOf(authorization.digest), authorization.suffix)).toEqual(inOrder);
  });

  it('builds the same chain from batches that each hold records of several links, reversed', async () => {
    const authorization = anAuthorization();
    for (const sender of ['tokens', 'agent', 'as'] as const) {
      const mine = authorization.events.filter((event) => event.sender === sender).map((event) => event.envelope).reverse();
      const response = await senders[sender].batch(mine).expect(200);
      expect(response.body.accepted).toBe(mine.length);
    }
    expect(shapeOf(await chainOf(authorization.digest), authorization.suffix)).toEqual(inOrder);
  });

  it('shows a tool call whose token has not arrived yet as unlinked, and links it when the token arrives', async () => {
    const digest = randomDigest();
    const jti = `late-${randomUUID()}`;
    const call = aToolCall({ token: { jti } });
    await senders.agent.event(call).expect(202);
    const before = await app.get(`/v1/lookup?call_id=${call.data.call_id}`).expect(200);
    expect(before.body.records[0].chains).toEqual([]);

    await senders.tokens.event(aToken({ digest, jti })).expect(202);
    const after = await app.get(`/v1/lookup?call_id=${call.data.call_id}`).expect(200);
    expect(after.body.records[0].chains).toEqual([digest]);
    expect((await chainOf(digest)).tool_calls.map((record: any) => record.data.call_id)).toEqual([call.data.call_id]);
    // The search facet follows the late link too.
    const search = await app.get(`/v1/chains?tool=${encodeURIComponent(String(call.data.tool))}&limit=100`).expect(200);
    expect(search.body.items.map((item: any) => item.digest)).toContain(digest);
  });

  it('links a chain of refresh exchanges whose root arrives last', async () => {
    const digest = randomDigest();
    const jtis = [0, 1, 2, 3].map((index) => `gen${index}-${randomUUID()}`);
    const call = aToolCall({ token: { jti: jtis[3] } });
    await senders.agent.event(call).expect(202);
    for (let generation = 3; generation >= 1; generation--) {
      await senders.tokens.event(aToken({ parent: { jti: jtis[generation - 1] }, jti: jtis[generation], grant_type: 'refresh_token' })).expect(202);
    }
    await senders.tokens.event(aToken({ digest, jti: jtis[0] })).expect(202);
    const chain = await chainOf(digest);
    expect(chain.tokens).toHaveLength(4);
    expect(chain.tool_calls.map((record: any) => record.data.call_id)).toEqual([call.data.call_id]);
  });

  it('puts a token that named the inner digest of an encrypted request object into the JWE chain, whichever came first', async () => {
    const outer = randomDigest();
    const inner = randomDigest();
    const token = aToken({ digest: inner });
    await senders.tokens.event(token).expect(202);
    await senders.as
      .event(aVerification({ digest: outer, encryption: { alg: 'RSA-OAEP-256', enc: 'A256GCM' }, inner_digest: inner }))
      .expect(202);
    const laterToken = aToken({ digest: inner });
    await senders.tokens.event(laterToken).expect(202);

    const chain = await chainOf(outer);
    expect(chain.aliases).toEqual([inner]);
    expect(chain.tokens.map((record: any) => record.data.jti).sort()).toEqual([token.data.jti, laterToken.data.jti].sort());
    expect((await chainOf(inner)).digest).toBe(outer);
    // The inner digest is not listed as a chain of its own.
    const search = await app.get('/v1/chains?limit=100').expect(200);
    expect(search.body.items.map((item: any) => item.digest)).not.toContain(inner);
  });

  it('does not loop on tokens that name each other as parents', async () => {
    const digest = randomDigest();
    const [a, b] = [`loop-a-${randomUUID()}`, `loop-b-${randomUUID()}`];
    await senders.tokens.event(aToken({ parent: { jti: a }, jti: b })).expect(202);
    // a joins the chain and names b as its parent, while b names a: following the links must still end.
    await senders.tokens.event(aToken({ digest, parent: { jti: b }, jti: a })).expect(202);
    expect((await chainOf(digest)).tokens.map((record: any) => record.data.jti).sort()).toEqual([a, b].sort());
  });
});
