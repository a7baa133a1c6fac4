import { linkNow, startTestApp, type TestApp } from '../support/app';
import { aConsent, aToken, aVerification, registerSenders, type WebhookSender } from '../support/events';

describe('idempotent ingest', () => {
  let app: TestApp;
  let as: WebhookSender;
  let tokens: WebhookSender;

  beforeAll(async () => {
    app = await startTestApp();
    ({ as, tokens } = await registerSenders(app));
  });
  afterAll(() => app.close());

  const countEvents = async (eventId: string) =>
    Number((await app.db.rows<{ count: string }>('SELECT count(*) FROM events WHERE event_id = $1', [eventId]))[0]!.count);

  it('accepts a new event with 202 once it is committed', async () => {
    const event = aVerification();
    const response = await as.event(event, { id: 'evt-new' }).expect(202);
    const [stored] = await app.db.rows<{ seq: string }>('SELECT seq FROM events WHERE event_id = $1', ['evt-new']);
    // The position is the record's seq: what a reader passes as min_position to see it linked.
    expect(response.body).toEqual({ event_id: 'evt-new', status: 'accepted', position: String(stored!.seq) });
    expect(await countEvents('evt-new')).toBe(1);
  });

  it('answers a redelivery with the same body as a duplicate and changes nothing', async () => {
    const event = aVerification();
    const first = await as.event(event, { id: 'evt-redelivered' }).expect(202);
    await linkNow(app);
    const before = await app.db.rows('SELECT * FROM events WHERE event_id = $1', ['evt-redelivered']);
    const chainRowsBefore = await app.db.rows('SELECT * FROM chain_members ORDER BY chain_digest, event_seq');

    const again = await as.event(event, { id: 'evt-redelivered' }).expect(200);
    expect(again.body).toEqual({ event_id: 'evt-redelivered', status: 'duplicate', position: first.body.position });
    await linkNow(app);
    expect(await app.db.rows('SELECT * FROM link_pending')).toEqual([]);
    expect(await app.db.rows('SELECT * FROM events WHERE event_id = $1', ['evt-redelivered'])).toEqual(before);
    expect(await app.db.rows('SELECT * FROM chain_members ORDER BY chain_digest, event_seq')).toEqual(chainRowsBefore);
    expect(await app.db.rows('SELECT * FROM event_conflicts WHERE event_id = $1', ['evt-redelivered'])).toEqual([]);
  });

  it('treats the same content with other whitespace and key order as the same body', async () => {
    const event = aConsent();
    await as.event(event, { id: 'evt-reformatted' }).expect(202);
    const reordered = JSON.stringify({ data: event.data, timestamp: event.timestamp, type: event.type }, null, 2);
    await as.event(reordered, { id: 'evt-reformatted' }).expect(200);
  });

  it('refuses a redelivered event with a different body with 409 and keeps it as a conflict', async () => {
    const original = aConsent({ decision: 'approved' });
    await as.event(original, { id: 'evt-changed' }).expect(202);
    const changed = { ...original, data: { ...original.data, decision: 'denied' } };

    const response = await as.event(changed, { id: 'evt-changed' }).expect(409);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.body).toMatchObject({ type: 'urn:jartrail:problem:event-id-conflict', status: 409, event_id: 'evt-changed' });

    const [stored] = await app.db.rows<{ data: { decision: string } }>('SELECT data FROM events WHERE event_id = $1', ['evt-changed']);
    expect(stored!.data.decision).toBe('approved');
    const conflicts = await app.db.rows<{ data: { decision: string }; original_seq: string }>(
      'SELECT c.data, c.original_seq, e.seq FROM event_conflicts c JOIN events e ON e.seq = c.original_seq WHERE c.event_id = $1',
      ['evt-changed'],
    );
    expect(conflicts).toHaveLength(1);
    expect(conflicts[0]!.data.decision).toBe('denied');

    // The same conflicting body again is still a 409, but is kept once.
    await as.event(changed, { id: 'evt-changed' }).expect(409);
    expect(await app.db.rows('SELECT 1 FROM event_conflicts WHERE event_id = $1', ['evt-changed'])).toHaveLength(1);
  });

  it('decides a delivery racing a concurrent one with the same id by what that one committed, running its statement again', async () => {
    // Another delivery of the same id holds its insert uncommitted: ours waits on the unique constraint, and when
    // the other commits, our statement can neither insert the event nor see it in its snapshot.
    const [source] = await app.db.rows<{ source_id: string }>(`SELECT source_id FROM events WHERE event_id = 'evt-new'`);
    const racing = await app.db.pool.connect();
    await racing.query('BEGIN');
    await racing.query(
      `INSERT INTO events (source_id, event_id, type, emitted_at, occurred_at, fingerprint, data)
       VALUES ($1, 'evt-raced', 'consent.decision', now(), now(), '\\x00', '{"digest": "other"}')`,
      [source!.source_id],
    );
    const ours = as.event(aConsent(), { id: 'evt-raced' }).then((response) => response);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await racing.query('COMMIT');
    racing.release();

    const response = await ours;
    expect(response.status).toBe(409);
    expect(await app.db.rows('SELECT 1 FROM event_conflicts WHERE event_id = $1', ['evt-raced'])).toHaveLength(1);
    expect(await countEvents('evt-raced')).toBe(1);
  });

  it('scopes event ids to their source: two sources may use the same id', async () => {
    await as.event(aVerification(), { id: 'shared-id' }).expect(202);
    await tokens.event(aToken({ digest: (aVerification().data.digest as string) }), { id: 'shared-id' }).expect(202);
    expect(await countEvents('shared-id')).toBe(2);
  });

  it('reports duplicates and conflicts per item in a batch, including repeats inside one batch', async () => {
    const first = { id: 'b-1', ...aConsent() };
    await as.batch([first]).expect(200);

    const response = await as
      .batch([
        first,
        { ...first, data: { ...first.data, decision: 'denied' } },
        { id: 'b-2', ...aConsent() },
        { id: 'b-2', ...aConsent() },
      ])
      .expect(200);
    expect(response.body).toMatchObject({ accepted: 1, duplicates: 1, conflicts: 2, rejected: 0 });
    expect(response.body.results.map((result: { status: string }) => result.status)).toEqual(['duplicate', 'conflict', 'accepted', 'conflict']);
    expect(response.body.results[1].problem.type).toBe('urn:jartrail:problem:event-id-conflict');
    expect(await countEvents('b-2')).toBe(1);
  });
});
