import { createHmac, randomUUID } from 'node:crypto';
import { secretKeyBytes } from '../../src/ingest/webhook-signature';
import { linkNow, startTestApp, type TestApp } from '../support/app';
import { aConsent, aToken, aToolCall, aVerification, registerSenders, type WebhookSender } from '../support/events';

const EVIDENCE_TABLES = ['events', 'event_conflicts', 'link_pending', 'chains', 'chain_members', 'chain_facets', 'token_refs', 'digest_aliases'];

describe('bad input', () => {
  let app: TestApp;
  let as: WebhookSender;
  let tokens: WebhookSender;
  let agent: WebhookSender;

  beforeAll(async () => {
    app = await startTestApp();
    ({ as, tokens, agent } = await registerSenders(app));
    // Something to leave untouched.
    await as.event(aVerification()).expect(202);
  });
  afterAll(() => app.close());

  /** Rows of every evidence table, and of the derived ones once the linker has done what was committed before. */
  async function counts(): Promise<Record<string, number>> {
    await linkNow(app);
    const entries = await Promise.all(
      EVIDENCE_TABLES.map(async (table) => [table, Number((await app.db.rows<{ n: string }>(`SELECT count(*) AS n FROM ${table}`))[0]!.n)] as const),
    );
    return Object.fromEntries(entries);
  }

  /** Sends, expects the status and problem type, and checks that not a single row was written anywhere. */
  async function refused(send: () => PromiseLike<{ status: number; headers: Record<string, string>; body: any }>, status: number, type: string) {
    const before = await counts();
    const response = await send();
    expect({ status: response.status, type: response.body?.type }).toEqual({ status, type: `urn:jartrail:problem:${type}` });
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.body.title).toEqual(expect.any(String));
    expect(response.body.correlation_id).toBe(response.headers['x-request-id']);
    expect(await counts()).toEqual(before);
    return response.body;
  }

  const fieldsOf = (problem: { errors?: { field: string; code: string }[] }) => (problem.errors ?? []).map(({ field, code }) => `${field}:${code}`);

  it('answers malformed JSON with 400', async () => {
    await refused(() => as.event('{"type": "consent.decision", "timestamp": '), 400, 'malformed-json');
  });

  it('answers an empty body with 400', async () => {
    await refused(() => as.event(''), 400, 'malformed-json');
  });

  it('answers JSON that tries to set a prototype with 400', async () => {
    const envelope = aConsent();
    const poisoned = JSON.stringify(envelope).replace('"data":{', '"data":{"__proto__":{"admin":true},');
    await refused(() => as.event(poisoned), 400, 'malformed-json');
  });

  it('answers a content type other than JSON with 415', async () => {
    await refused(() => as.event(JSON.stringify(aConsent()), { contentType: 'text/plain' }), 415, 'unsupported-media-type');
    await refused(() => as.event(JSON.stringify(aConsent()), { contentType: 'application/x-ndjson' }), 415, 'unsupported-media-type');
    await refused(() => as.event(JSON.stringify(aConsent()), { contentType: 'application/json; charset=iso-8859-1' }), 415, 'unsupported-media-type');
  });

  it('names each missing field with 422', async () => {
    const { digest: _digest, subject: _subject, ...data } = aConsent().data;
    const problem = await refused(() => as.event({ ...aConsent(), data }), 422, 'invalid-event');
    expect(fieldsOf(problem).sort()).toEqual(['data.digest:missing', 'data.subject:missing']);
  });

  it('names a missing envelope member with 422', async () => {
    const { timestamp: _timestamp, ...envelope } = aConsent();
    const problem = await refused(() => as.event(JSON.stringify(envelope)), 422, 'invalid-event');
    expect(fieldsOf(problem)).toEqual(['timestamp:missing']);
  });

  it('names each unknown field with 422, at any depth', async () => {
    const event = aVerification();
    const problem = await refused(
      () => as.event({ ...event, data: { ...event.data, colour: 'blue', claims: { ...(event.data.claims as object), state: 'raw-state' } } }),
      422,
      'invalid-event',
    );
    expect(fieldsOf(problem).sort()).toEqual(['data.claims.state:unknown_field', 'data.colour:unknown_field']);
  });

  it('refuses a digest with characters outside base64url', async () => {
    const problem = await refused(() => as.event(aConsent({ digest: 'a'.repeat(42) + '=' })), 422, 'invalid-event');
    expect(fieldsOf(problem)).toEqual(['data.digest:digest_alphabet']);
  });

  it('refuses a digest of the wrong length', async () => {
    const problem = await refused(() => as.event(aConsent({ digest: 'A'.repeat(44) })), 422, 'invalid-event');
    expect(fieldsOf(problem)).toEqual(['data.digest:digest_length']);
    const short = await refused(() => as.event(aConsent({ digest: 'A'.repeat(42) })), 422, 'invalid-event');
    expect(fieldsOf(short)).toEqual(['data.digest:digest_length']);
  });

  it('refuses a digest that is not the canonical encoding of 32 bytes', async () => {
    const problem = await refused(() => as.event(aConsent({ digest: 'A'.repeat(42) + 'B' })), 422, 'invalid-event');
    expect(fieldsOf(problem)).toEqual(['data.digest:digest_non_canonical']);
  });

  it('refuses values of the wrong type or shape, naming them', async () => {
    const problem = await refused(() => as.event(aVerification({ verdict: 'maybe', claims: { exp: 'tomorrow' } })), 422, 'invalid-event');
    expect(fieldsOf(problem).sort()).toEqual(['data.claims.exp:invalid_type', 'data.verdict:invalid_value']);
    // Rules across fields: a pushed request names its PAR request_uri.
    const par = await refused(() => as.event(aVerification({ delivery: 'par', request_uri: 'https://not-a-par-uri.example' })), 422, 'invalid-event');
    expect(fieldsOf(par)).toEqual(['data.request_uri:par_request_uri']);
  });

  it('refuses an envelope timestamp that is not RFC 3339', async () => {
    const problem = await refused(() => as.event({ ...aConsent(), timestamp: 'yesterday' }), 422, 'invalid-event');
    expect(fieldsOf(problem)).toEqual(['timestamp:invalid_format']);
  });

  it('refuses a body id that differs from webhook-id', async () => {
    const problem = await refused(() => as.event({ id: 'in-body', ...aConsent() }, { id: 'in-header' }), 422, 'invalid-event');
    expect(fieldsOf(problem)).toEqual(['id:id_mismatch']);
  });

  it('answers an unknown event type with 422', async () => {
    const problem = await refused(() => as.event({ ...aConsent(), type: 'consent.revoked' }), 422, 'unknown-event-type');
    expect(fieldsOf(problem)).toEqual(['type:unknown_type']);
  });

  it("answers a type the source's kind may not send with 403", async () => {
    await refused(() => as.event(aToken({ digest: aConsent().data.digest })), 403, 'event-type-not-allowed');
    await refused(() => tokens.event(aConsent()), 403, 'event-type-not-allowed');
  });

  it('answers a bad signature with 401', async () => {
    await refused(() => as.event(aConsent(), { secret: `whsec_${Buffer.alloc(32, 1).toString('base64')}` }), 401, 'invalid-signature');
  });

  it('answers a body changed after signing with 401', async () => {
    await refused(() => as.event(aConsent({ decision: 'denied' }), { tamper: (body) => body.replace('denied', 'approved') }), 401, 'invalid-signature');
  });

  it('answers missing signature headers with 401, naming the header', async () => {
    const problem = await refused(() => as.event(aConsent(), { headers: { 'webhook-signature': undefined } }), 401, 'unauthenticated');
    expect(fieldsOf(problem)).toEqual(['headers.webhook-signature:missing']);
    await refused(() => as.event(aConsent(), { headers: { 'webhook-timestamp': undefined } }), 401, 'unauthenticated');
  });

  it('answers a stale timestamp with 401', async () => {
    const problem = await refused(() => as.event(aConsent(), { timestamp: Math.floor(Date.now() / 1000) - 301 }), 401, 'timestamp-out-of-tolerance');
    expect(fieldsOf(problem)).toEqual(['headers.webhook-timestamp:out_of_tolerance']);
  });

  it('answers a timestamp from the future with 401', async () => {
    await refused(() => as.event(aConsent(), { timestamp: Math.floor(Date.now() / 1000) + 301 }), 401, 'timestamp-out-of-tolerance');
  });

  it('answers an event over 256 KiB with 413', async () => {
    const big = aConsent({ subject: 'x'.repeat(300 * 1024) });
    await refused(() => as.event(big), 413, 'payload-too-large');
  });

  it('answers a batch over 10 MiB with 413', async () => {
    const item = aConsent({ subject: 'x'.repeat(200 * 1024) });
    await refused(() => as.batch(Array.from({ length: 52 }, () => ({ ...item }))), 413, 'payload-too-large');
  });

  it('answers a batch of more than 1,000 events with 413', async () => {
    const problem = await refused(() => as.batch(Array.from({ length: 1001 }, () => aConsent())), 413, 'too-many-events');
    expect(problem.limit).toBe(1000);
  });

  it('answers deeply nested JSON with 422, naming where', async () => {
    const nested = '{"deeper":'.repeat(5000) + '"bottom"' + '}'.repeat(5000);
    const event = aVerification();
    const body = JSON.stringify({ ...event, data: { ...event.data, claims: { authorization_details: [{ type: 'x', nested: 'NESTED' }] } } }).replace(
      '"NESTED"',
      nested,
    );
    const problem = await refused(() => as.event(body), 422, 'json-too-complex');
    expect(problem.errors[0].code).toBe('too_deep');
    expect(problem.errors[0].field).toMatch(/^data\.claims\.authorization_details\.0\.nested/);
  });

  it('answers a huge array with 422, naming it', async () => {
    const event = aVerification();
    const details = Array.from({ length: 5000 }, () => ({ type: 'a' }));
    const problem = await refused(() => as.event({ ...event, data: { ...event.data, claims: { authorization_details: details } } }), 422, 'json-too-complex');
    expect(fieldsOf(problem)).toEqual(['data.claims.authorization_details:too_many_items']);
  });

  it('refuses a batch that is not an array, or is empty, with 400', async () => {
    await refused(() => as.rawBatch(JSON.stringify(aConsent())), 400, 'invalid-request');
    await refused(() => as.rawBatch('[]'), 400, 'invalid-request');
  });

  it('refuses batch items one by one, writing only the valid ones', async () => {
    const good = aConsent();
    const before = await counts();
    const response = await as
      .rawBatch([JSON.stringify({ id: 'ok-1', ...good }), '{"not json', JSON.stringify({ id: 'bad-type', ...aConsent(), type: 'nope' }), JSON.stringify(aConsent())].join('\n'), {
        contentType: 'application/x-ndjson',
      })
      .expect(200);
    expect(response.body.results.map((result: any) => [result.status, result.problem?.type])).toEqual([
      ['accepted', undefined],
      ['rejected', 'urn:jartrail:problem:malformed-json'],
      ['rejected', 'urn:jartrail:problem:unknown-event-type'],
      ['rejected', 'urn:jartrail:problem:invalid-event'],
    ]);
    expect(response.body.results[3].problem.errors).toEqual([expect.objectContaining({ field: '3.id', code: 'missing' })]);
    expect((await counts()).events).toBe(before.events + 1);
  });

  describe('text PostgreSQL cannot store (NUL, lone surrogates)', () => {
    it('refuses a NUL in a string value with 422, naming the field', async () => {
      const problem = await refused(() => as.event(aConsent({ subject: 'alice\u0000@example.com' })), 422, 'unstorable-text');
      expect(problem.errors).toEqual([expect.objectContaining({ field: 'data.subject', pointer: '/data/subject', code: 'nul_character' })]);
    });

    it('refuses a lone surrogate in a side effect summary with 422, naming the field', async () => {
      // JSON.stringify writes a lone surrogate as the escape \ud800, which JSON.parse turns back into one.
      const problem = await refused(() => agent.event(aToolCall({ side_effect: { kind: 'email', reference: 'msg-1', summary: 'sent\ud800' } })), 422, 'unstorable-text');
      expect(fieldsOf(problem)).toEqual(['data.side_effect.summary:lone_surrogate']);
    });

    it('refuses them deep inside authorization details, in member names too', async () => {
      const event = aVerification();
      const claims = { ...(event.data.claims as object), authorization_details: [{ type: 'payment', 'creditor\u0000': { name: 'x' } }] };
      const problem = await refused(() => as.event({ ...event, data: { ...event.data, claims } }), 422, 'unstorable-text');
      expect(problem.errors).toEqual([expect.objectContaining({ pointer: '/data/claims/authorization_details/0/creditor\u0000', code: 'nul_character' })]);
      const kid = await refused(() => as.event(aVerification({ header: { alg: 'PS256', kid: '\udc00key' } })), 422, 'unstorable-text');
      expect(fieldsOf(kid)).toEqual(['data.header.kid:lone_surrogate']);
    });

    it('refuses a NUL in a batch item id with 422, the rest of the batch recorded', async () => {
      const response = await as.batch([{ id: 'nul\u0000id', ...aConsent() }, aConsent()]).expect(200);
      expect(response.body.results.map((result: any) => [result.status, result.problem?.status, result.problem?.errors?.[0]?.field])).toEqual([
        ['rejected', 422, '0.id'],
        ['accepted', undefined, undefined],
      ]);
    });

    it('rejects only the bad item of a batch and records the others', async () => {
      const before = await counts();
      const response = await as.batch([aConsent(), aConsent({ subject: 'bad\u0000' }), aConsent({ subject: '\ud83d' }), aConsent({ subject: 'ok \ud83d\ude00' })]).expect(200);
      expect(response.body.results.map((result: any) => [result.status, result.problem?.type, result.problem?.errors?.[0]?.pointer])).toEqual([
        ['accepted', undefined, undefined],
        ['rejected', 'urn:jartrail:problem:unstorable-text', '/1/data/subject'],
        ['rejected', 'urn:jartrail:problem:unstorable-text', '/2/data/subject'],
        ['accepted', undefined, undefined],
      ]);
      expect((await counts()).events).toBe(before.events + 2);
    });
  });

  describe('bytes that are not UTF-8', () => {
    /** Signs and sends raw bytes, as a sender whose body is not UTF-8 would (the signature covers the bytes). */
    function sendBytes(sender: WebhookSender, path: string, body: Buffer, contentType = 'application/json') {
      const id = randomUUID();
      const timestamp = String(Math.floor(Date.now() / 1000));
      const mac = createHmac('sha256', secretKeyBytes(sender.source.secret)).update(`${id}.${timestamp}.`).update(body).digest('base64');
      return app
        .http()
        .post(`${path}?source=${sender.source.id}`)
        .set({ 'content-type': contentType, 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${mac}` })
        .serialize((bytes) => bytes) // superagent would JSON-encode a Buffer sent as application/json
        .send(body);
    }
    /** The JSON text of an envelope with one string's bytes replaced by a sequence that is not UTF-8. */
    const withBadBytes = (envelope: object, marker: string) => {
      const [before, after] = JSON.stringify(envelope).split(marker) as [string, string];
      return Buffer.concat([Buffer.from(before), Buffer.from([0xc3, 0x28]), Buffer.from(after)]);
    };

    it('refuses an event whose body is not UTF-8 with 400, instead of storing U+FFFD', async () => {
      const problem = await refused(() => sendBytes(as, '/v1/events', withBadBytes(aConsent({ subject: 'BAD' }), 'BAD')), 400, 'malformed-json');
      expect(problem.errors).toEqual([expect.objectContaining({ code: 'invalid_utf8' })]);
    });

    it('refuses a JSON batch that is not UTF-8 with 400', async () => {
      await refused(() => sendBytes(as, '/v1/events/batch', withBadBytes([{ id: randomUUID(), ...aConsent({ subject: 'BAD' }) }], 'BAD')), 400, 'malformed-json');
    });

    it('rejects only the NDJSON line that is not UTF-8', async () => {
      const lines = [JSON.stringify({ id: randomUUID(), ...aConsent() }), withBadBytes({ id: randomUUID(), ...aConsent({ subject: 'BAD' }) }, 'BAD'), JSON.stringify({ id: randomUUID(), ...aConsent({ subject: 'zoë' }) })];
      const body = Buffer.concat(lines.flatMap((line) => [Buffer.from(line), Buffer.from('\n')]));
      const response = await sendBytes(as, '/v1/events/batch', body, 'application/x-ndjson').expect(200);
      expect(response.body.results.map((result: any) => [result.status, result.problem?.type, result.problem?.errors?.[0]?.code])).toEqual([
        ['accepted', undefined, undefined],
        ['rejected', 'urn:jartrail:problem:malformed-json', 'invalid_utf8'],
        ['accepted', undefined, undefined],
      ]);
    });

    it('refuses an admin body that is not UTF-8 with 400', async () => {
      const body = Buffer.concat([Buffer.from('{"name":"caf'), Buffer.from([0xe9]), Buffer.from('","kind":"agent"}')]);
      const response = await app.http().post('/v1/sources').set({ authorization: `Bearer ${app.adminKey}`, 'content-type': 'application/json' }).serialize((bytes) => bytes).send(body);
      expect({ status: response.status, type: response.body.type }).toEqual({ status: 400, type: 'urn:jartrail:problem:malformed-json' });
    });
  });

  it('holds a batch item id to the rules of webhook-id, rejecting only that item', async () => {
    const before = await counts();
    const ids = ['with.dot', 'with space', 'tab\there', 'é-accent', 'x'.repeat(257), '', `fine-${randomUUID()}`];
    const response = await as.batch(ids.map((id) => ({ id, ...aConsent() }))).expect(200);
    expect(response.body.results.map((result: any) => [result.status, result.problem?.errors?.[0]?.code])).toEqual([
      ...ids.slice(0, -1).map(() => ['rejected', 'malformed']),
      ['accepted', undefined],
    ]);
    expect(response.body.results[0].problem).toMatchObject({ status: 422, errors: [{ field: '0.id', pointer: '/0/id' }] });
    expect((await counts()).events).toBe(before.events + 1);
  });

  describe('a member name given twice in one object', () => {
    const twice = (envelope: object) => JSON.stringify(envelope).replace('"decision":"denied"', '"decision":"approved","decision":"denied"');

    it('refuses the event with 400, naming the member, instead of keeping the last', async () => {
      const problem = await refused(() => as.event(twice(aConsent({ decision: 'denied' }))), 400, 'malformed-json');
      expect(problem.errors).toEqual([expect.objectContaining({ field: 'data.decision', pointer: '/data/decision', code: 'duplicate_member' })]);
      const escaped = JSON.stringify(aConsent()).replace('"digest":', '"d\\u0069gest":"x","digest":');
      expect(fieldsOf(await refused(() => as.event(escaped), 400, 'malformed-json'))).toEqual(['data.digest:duplicate_member']);
    });

    it('rejects only that event of a JSON or NDJSON batch', async () => {
      const items = [aConsent(), aConsent({ decision: 'denied' }), aConsent()].map((envelope) => ({ id: randomUUID(), ...envelope }));
      const array = `[${items.map((item, index) => (index === 1 ? twice(item) : JSON.stringify(item))).join(',')}]`;
      const ndjson = items.map((item, index) => (index === 1 ? twice(item) : JSON.stringify(item))).join('\n');
      // The same events twice: recorded from the array, then duplicates from NDJSON; the doubled member refused both times.
      for (const [body, contentType, status] of [
        [array, 'application/json', 'accepted'],
        [ndjson, 'application/x-ndjson', 'duplicate'],
      ] as const) {
        const response = await as.rawBatch(body, { contentType }).expect(200);
        expect(response.body.results.map((result: any) => [result.status, result.problem?.type, result.problem?.errors?.[0]?.pointer])).toEqual([
          [status, undefined, undefined],
          ['rejected', 'urn:jartrail:problem:malformed-json', '/1/data/decision'],
          [status, undefined, undefined],
        ]);
      }
    });

    it('refuses an admin body with 400', async () => {
      const response = await app.http().post('/v1/sources').set({ authorization: `Bearer ${app.adminKey}`, 'content-type': 'application/json' }).send('{"name":"a","name":"b","kind":"agent"}');
      expect({ status: response.status, type: response.body.type }).toEqual({ status: 400, type: 'urn:jartrail:problem:malformed-json' });
    });
  });

  it('never answers 500 to any of these', async () => {
    const [{ n }] = await app.db.rows<{ n: string }>('SELECT count(*) AS n FROM events');
    expect(Number(n)).toBeGreaterThan(0);
  });
});
