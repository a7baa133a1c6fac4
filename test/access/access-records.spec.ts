import { randomUUID } from 'node:crypto';
import { fieldsOf, issueApiKey, problemOf, startTestApp, type TestApp } from '../support/app';
import { aVerification, randomDigest, registerSenders } from '../support/events';

interface AccessRecordItem {
  seq: string;
  at: string;
  api_key: { id: string; name: string } | null;
  credential: string;
  presented_key_fingerprint: string | null;
  method: string;
  route: string | null;
  target: string;
  status: number;
  correlation_id: string;
}

describe('GET /v1/access-records: the access log, readable by admins', () => {
  let app: TestApp;
  let reader: { id: string; key: string };
  let revoked: { id: string; key: string };
  let digest: string;
  const unknownKey = `jtk_${randomUUID()}-never-issued`;
  const password = `hunter2-${randomUUID()}`;
  /** Correlation ids of the refused attempts made in beforeAll, by what was presented. */
  const attempts: Record<'no_key' | 'unknown_key' | 'unknown_again' | 'revoked_key' | 'malformed' | 'forbidden', string> = {} as never;

  const list = async (query = '', key?: string) => (await app.get(`/v1/access-records${query}`, key).expect(200)).body as { items: AccessRecordItem[]; next_cursor: string | null };
  const byCorrelation = async (correlationId: string) => {
    const { items } = await list(`?limit=500`);
    const found = items.filter((item) => item.correlation_id === correlationId);
    expect(found).toHaveLength(1);
    return found[0]!;
  };

  beforeAll(async () => {
    app = await startTestApp();
    reader = await issueApiKey(app, ['audit:read'], 'reader');
    revoked = await issueApiKey(app, ['audit:read'], 'leaked');
    await app.http().post(`/v1/api-keys/${revoked.id}/revoke`).set('authorization', `Bearer ${app.adminKey}`).expect(200);
    const { as } = await registerSenders(app);
    const verification = aVerification();
    digest = String(verification.data.digest);
    await as.event(verification).expect(202);

    const idOf = (response: { headers: Record<string, string> }) => response.headers['x-request-id']!;
    attempts.no_key = idOf(await app.http().get(`/v1/chains/${digest}`).expect(401));
    attempts.unknown_key = idOf(await app.get(`/v1/chains/${digest}`, unknownKey).expect(401));
    attempts.unknown_again = idOf(await app.get('/v1/chains', unknownKey).expect(401));
    attempts.revoked_key = idOf(await app.get(`/v1/chains/${digest}`, revoked.key).expect(401));
    attempts.malformed = idOf(await app.http().get('/v1/chains').set('authorization', `Basic ${Buffer.from(`alice:${password}`).toString('base64')}`).expect(401));
    attempts.forbidden = idOf(await app.get('/v1/access-records', reader.key).expect(403));
    await app.get(`/v1/chains/${digest}`, reader.key).expect(200);
    await app.get(`/v1/chains/${randomDigest()}`, reader.key).expect(404);
  });
  afterAll(() => app.close());

  it('records a request without a key (401), with its route and status', async () => {
    expect(await byCorrelation(attempts.no_key)).toMatchObject({
      api_key: null,
      credential: 'no_key',
      presented_key_fingerprint: null,
      method: 'GET',
      route: '/v1/chains/:digest',
      target: `/v1/chains/${digest}`,
      status: 401,
    });
  });

  it('records an unknown key (401) by a keyed fingerprint, the same for the same key, never the key itself', async () => {
    const first = await byCorrelation(attempts.unknown_key);
    const again = await byCorrelation(attempts.unknown_again);
    expect(first).toMatchObject({ api_key: null, credential: 'unknown_key', presented_key_fingerprint: expect.stringMatching(/^kfp:[\w-]{16}$/), status: 401 });
    expect(again.presented_key_fingerprint).toBe(first.presented_key_fingerprint);
    const stored = JSON.stringify(await app.db.rows('SELECT * FROM access_records'));
    expect(stored).not.toContain(unknownKey);
    expect(stored).not.toContain(unknownKey.slice(4, 20));
  });

  it('records a revoked key (401) by the key it is', async () => {
    expect(await byCorrelation(attempts.revoked_key)).toMatchObject({ api_key: { id: revoked.id, name: 'leaked' }, credential: 'revoked_key', presented_key_fingerprint: null, status: 401 });
  });

  it('records a header that is no bearer key (401) without a byte of it', async () => {
    expect(await byCorrelation(attempts.malformed)).toMatchObject({ api_key: null, credential: 'malformed', presented_key_fingerprint: null, route: '/v1/chains', status: 401 });
    const stored = JSON.stringify(await app.db.rows('SELECT * FROM access_records'));
    expect(stored).not.toContain(password);
    expect(stored).not.toContain(Buffer.from(`alice:${password}`).toString('base64'));
  });

  it('refuses a key without audit:admin with 403, and records that refusal too', async () => {
    problemOf(await app.get('/v1/access-records', reader.key), 403, 'forbidden');
    expect(await byCorrelation(attempts.forbidden)).toMatchObject({ api_key: { id: reader.id, name: 'reader' }, credential: 'api_key', route: '/v1/access-records', status: 403 });
    problemOf(await app.http().get('/v1/access-records'), 401, 'unauthenticated');
  });

  it('filters by actor, route, method, status, outcome and credential', async () => {
    const ofReader = (await list(`?api_key_id=${reader.id}`)).items;
    expect(ofReader.map((item) => item.status).sort()).toEqual([200, 403, 403, 404]);
    expect(ofReader.every((item) => item.api_key?.id === reader.id)).toBe(true);

    const refused = (await list('?outcome=refused')).items;
    expect(refused.map((item) => item.correlation_id)).toEqual(expect.arrayContaining(Object.values(attempts)));
    expect(refused.every((item) => item.status === 401 || item.status === 403)).toBe(true);
    expect((await list('?outcome=answered')).items.every((item) => item.status !== 401 && item.status !== 403)).toBe(true);

    const chainReads = (await list(`?route=${encodeURIComponent('/v1/chains/:digest')}&status=401`)).items;
    expect(chainReads.map((item) => item.credential).sort()).toEqual(['no_key', 'revoked_key', 'unknown_key']);
    expect((await list('?credential=malformed')).items.map((item) => item.correlation_id)).toEqual([attempts.malformed]);
    expect((await list('?method=POST&route=%2Fv1%2Fapi-keys')).items.map((item) => item.status)).toEqual([201, 201]);
  });

  it('filters by time range: from includes, to excludes', async () => {
    const { items } = await list('?limit=500');
    const middle = items[Math.floor(items.length / 2)]!;
    const from = (await list(`?from=${encodeURIComponent(middle.at)}&limit=500`)).items;
    const to = (await list(`?to=${encodeURIComponent(middle.at)}&limit=500`)).items;
    expect(from.every((item) => item.at >= middle.at)).toBe(true);
    expect(from.map((item) => item.seq)).toContain(middle.seq);
    expect(to.every((item) => item.at < middle.at)).toBe(true);
    problemOf(await app.get(`/v1/access-records?from=${encodeURIComponent(middle.at)}&to=${encodeURIComponent(middle.at)}`), 400, 'invalid-request');
  });

  it.each([1, 2, 5])('walks every record exactly once, newest first, with limit %i, while new records are written', async (limit) => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let newest: string | undefined;
    do {
      const page = await list(`?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.items.length).toBeLessThanOrEqual(limit);
      newest ??= page.items[0]!.seq;
      seen.push(...page.items.map((item) => item.seq));
      cursor = page.next_cursor;
    } while (cursor !== null);
    // Every read above was recorded too, above the first page: the walk covers exactly what existed when it began.
    const stored = await app.db.rows<{ seq: string }>('SELECT seq FROM access_records WHERE seq <= $1 ORDER BY seq DESC', [newest]);
    expect(seen).toEqual(stored.map((row) => String(row.seq)));
  });

  it.each([
    ['cursor', '?cursor=not-a-cursor'],
    ['cursor', `?cursor=${Buffer.from(JSON.stringify(['0'])).toString('base64url')}`],
    ['cursor', `?cursor=${Buffer.from(JSON.stringify(["1 OR 1=1"])).toString('base64url')}`],
    ['api_key_id', '?api_key_id=reader'],
    ['status', '?status=abc'],
    ['outcome', '?outcome=maybe'],
    ['limit', '?limit=501'],
    ['from', '?from=yesterday'],
    ['unknown', '?unknown=1'],
  ])('answers 400 naming %s for %s', async (field, query) => {
    const problem = problemOf(await app.get(`/v1/access-records${query}`), 400, 'invalid-request');
    expect(fieldsOf(problem).map(([name]) => name)).toContain(field);
  });
});
