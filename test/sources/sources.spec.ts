import { randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { open } from '../../src/common/crypto/secret-box';
import { fieldsOf, problemOf, startTestApp, type TestApp } from '../support/app';
import { aConsent, aRevocation, aToolCall, aVerification, registerSource, type RegisteredSource, WebhookSender } from '../support/events';

/** A fresh service and database for the enclosing `describe`. */
function withFreshApp(env?: Readonly<Record<string, string>>) {
  const context = {} as { app: TestApp };
  beforeAll(async () => {
    context.app = await startTestApp({ env });
  });
  afterAll(() => context.app.close());
  return context;
}

const asAdmin = (app: TestApp) => ({
  post: (path: string, body?: object) => {
    const test = app.http().post(path).set('authorization', `Bearer ${app.adminKey}`);
    return body === undefined ? test : test.send(body);
  },
  get: (path: string) => app.get(path),
});

const uniqueName = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

const countEvents = async (app: TestApp, sourceId: string) =>
  Number((await app.db.rows<{ count: string }>('SELECT count(*) FROM events WHERE source_id = $1', [sourceId]))[0]!.count);

describe('registering a source', () => {
  const context = withFreshApp();

  it('returns a whsec_ secret at creation, which signs events that are accepted', async () => {
    const name = uniqueName('as');
    const response = await asAdmin(context.app).post('/v1/sources', { name, kind: 'authorization_server' }).expect(201);
    expect(response.body).toEqual({
      id: expect.any(String),
      name,
      kind: 'authorization_server',
      status: 'enabled',
      created_at: expect.any(String),
      disabled_at: null,
      secrets: [{ id: expect.any(String), created_at: expect.any(String), expires_at: null }],
      set_jwks: null,
      set_jwks_uri: null,
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/),
    });
    expect(Buffer.from(response.body.secret.slice('whsec_'.length), 'base64')).toHaveLength(32);
    const sender = new WebhookSender(context.app, { id: response.body.id, secret: response.body.secret, kind: 'authorization_server' });
    await sender.event(aVerification()).expect(202);
  });

  it('never shows the secret again in GET /v1/sources or GET /v1/sources/{id}', async () => {
    const source = await registerSource(context.app, 'agent');
    const secretPart = source.secret.slice('whsec_'.length);
    const list = await asAdmin(context.app).get('/v1/sources').expect(200);
    const one = await asAdmin(context.app).get(`/v1/sources/${source.id}`).expect(200);
    expect(list.body.items.map((item: any) => item.id)).toContain(source.id);
    expect(one.body).toMatchObject({ id: source.id, kind: 'agent', status: 'enabled', secrets: [{ expires_at: null }] });
    for (const response of [list, one]) {
      expect(response.text).not.toContain(secretPart);
      expect(response.text).not.toContain('whsec_');
    }
    for (const item of [...list.body.items, one.body]) expect(Object.keys(item)).not.toContain('secret');
  });

  it('keeps the secret only sealed: its bytes appear nowhere in source_secrets', async () => {
    const source = await registerSource(context.app, 'token_service');
    const secretPart = source.secret.slice('whsec_'.length);
    const forms = [Buffer.from(source.secret), Buffer.from(secretPart), Buffer.from(secretPart, 'base64'), Buffer.from(Buffer.from(secretPart, 'base64').toString('hex'))];
    const rows = await context.app.db.rows<{ id: string; source_id: string; sealed: Buffer; whole: string }>(
      'SELECT id, source_id, sealed, row_to_json(s)::text AS whole FROM source_secrets s',
    );
    const mine = rows.filter((row) => row.source_id === source.id);
    expect(mine).toHaveLength(1);
    for (const row of rows) {
      for (const form of forms) {
        expect(row.sealed.includes(form)).toBe(false);
        expect(Buffer.from(row.whole).includes(form)).toBe(false);
      }
    }
    // What is stored is the secret sealed under the service's key, bound to its source and secret ids.
    const sealed = mine[0]!.sealed;
    expect(open(context.app.keyring.sealingKey, sealed, `source-secret:${source.id}:${mine[0]!.id}`).toString('utf8')).toBe(source.secret);
    expect(() => open(context.app.keyring.sealingKey, sealed, `source-secret:${randomUUID()}:${mine[0]!.id}`)).toThrow();
    const sources = (await context.app.db.rows<{ whole: string }>('SELECT row_to_json(s)::text AS whole FROM sources s')).map((row) => row.whole).join('\n');
    expect(sources).not.toContain(secretPart);
  });

  it('gives every source its own secret', async () => {
    const [first, second] = [await registerSource(context.app, 'agent'), await registerSource(context.app, 'agent')];
    expect(first.secret).not.toBe(second.secret);
    // One source's secret does not sign for another.
    await new WebhookSender(context.app, second).event(aVerification(), { secret: first.secret }).expect(401);
  });

  it('refuses a second source with the same name with 409 and a problem', async () => {
    const name = uniqueName('dup');
    await asAdmin(context.app).post('/v1/sources', { name, kind: 'agent' }).expect(201);
    const problem = problemOf(await asAdmin(context.app).post('/v1/sources', { name, kind: 'token_service' }), 409, 'conflict');
    expect(problem.detail).toContain(name);
    expect(await context.app.db.rows('SELECT id FROM sources WHERE name = $1', [name])).toHaveLength(1);
  });

  it('gives exactly one of two concurrent creations with one name the source, and the other 409', async () => {
    const name = uniqueName('race');
    const responses = await Promise.all([0, 1, 2, 3].map(() => asAdmin(context.app).post('/v1/sources', { name, kind: 'agent' })));
    expect(responses.map((response) => response.status).sort()).toEqual([201, 409, 409, 409]);
    expect(await context.app.db.rows('SELECT id FROM sources WHERE name = $1', [name])).toHaveLength(1);
  });

  it.each([
    ['an unknown kind', { name: 'ok-name', kind: 'resource_server' }, [['kind', 'invalid_value']]],
    ['no kind', { name: 'ok-name' }, [['kind', 'missing']]],
    ['a name with a space', { name: 'my source', kind: 'agent' }, [['name', 'invalid_format']]],
    ['an empty name', { name: '', kind: 'agent' }, [['name', 'invalid_format']]],
    ['a name of 65 characters', { name: 'a'.repeat(65), kind: 'agent' }, [['name', 'invalid_format']]],
    ['a name starting with a dash', { name: '-as', kind: 'agent' }, [['name', 'invalid_format']]],
    ['no name', { kind: 'agent' }, [['name', 'missing']]],
    ['an unknown field', { name: 'ok-name', kind: 'agent', secret: 'whsec_mine' }, [['secret', 'unknown_field']]],
  ])('refuses a source with %s with 400 naming the field', async (_case, body, fields) => {
    const problem = problemOf(await asAdmin(context.app).post('/v1/sources', body), 400, 'invalid-request');
    expect(fieldsOf(problem)).toEqual(fields);
  });

  it('answers 404 for an unknown source id and 400 naming id for a malformed one', async () => {
    problemOf(await asAdmin(context.app).get(`/v1/sources/${randomUUID()}`), 404, 'not-found');
    expect(fieldsOf(problemOf(await asAdmin(context.app).get('/v1/sources/as-1'), 400, 'invalid-request')).map(([field]) => field)).toEqual(['id']);
  });
});

describe('secret rotation', () => {
  const context = withFreshApp();

  const rotate = async (source: RegisteredSource, body?: object) => {
    const response = await asAdmin(context.app).post(`/v1/sources/${source.id}/rotate-secret`, body).expect(201);
    return response.body as { secret: string; secrets: { id: string; expires_at: string | null }[] };
  };

  it('accepts events signed with the old and with the new secret during the grace period', async () => {
    const source = await registerSource(context.app, 'authorization_server');
    const sender = new WebhookSender(context.app, source);
    // Used once before the rotation, so that any cached credentials are the old ones.
    await sender.event(aVerification()).expect(202);

    const before = Date.now();
    const rotated = await rotate(source, { grace_period_seconds: 3600 });
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(rotated.secret).not.toBe(source.secret);
    const previous = rotated.secrets.find((secret) => secret.expires_at !== null)!;
    expect(Date.parse(previous.expires_at!) - before).toBeGreaterThanOrEqual(3600_000 - 1000);
    expect(Date.parse(previous.expires_at!) - before).toBeLessThanOrEqual(3600_000 + 60_000);
    expect(rotated.secrets.map((secret) => secret.expires_at === null).sort()).toEqual([false, true]);

    await sender.event(aVerification(), { secret: rotated.secret }).expect(202);
    await sender.event(aVerification(), { secret: source.secret }).expect(202);
    // A sender mid-rotation may sign with both.
    const body = JSON.stringify(aVerification());
    const id = randomUUID();
    const timestamp = new Date();
    const both = [source.secret, rotated.secret].map((secret) => new Webhook(secret).sign(id, timestamp, body)).join(' ');
    await sender.event(body, { id, timestamp: Math.floor(timestamp.getTime() / 1000), headers: { 'webhook-signature': both } }).expect(202);
    expect(rotated.secrets).toEqual((await asAdmin(context.app).get(`/v1/sources/${source.id}`).expect(200)).body.secrets);
  });

  it('keeps a 24-hour grace period when the rotation names none', async () => {
    const source = await registerSource(context.app, 'agent');
    const before = Date.now();
    const rotated = await rotate(source);
    const previous = rotated.secrets.find((secret) => secret.expires_at !== null)!;
    expect(Math.abs(Date.parse(previous.expires_at!) - (before + 86_400_000))).toBeLessThan(60_000);
    await new WebhookSender(context.app, source).event(aToolCall({ token: { jti: 'at-1' } })).expect(202);
  });

  it('refuses the old secret at once with 401 after a rotation with grace_period_seconds 0', async () => {
    const source = await registerSource(context.app, 'authorization_server');
    const sender = new WebhookSender(context.app, source);
    await sender.event(aVerification()).expect(202);

    const rotated = await rotate(source, { grace_period_seconds: 0 });
    expect(rotated.secrets.map((secret) => secret.expires_at)).toEqual([null]);
    const problem = problemOf(await sender.event(aVerification()), 401, 'invalid-signature');
    expect(fieldsOf(problem)).toEqual([['headers.webhook-signature', 'no_match']]);
    await sender.event(aVerification(), { secret: rotated.secret }).expect(202);
  });

  it('does not lengthen the grace of an older secret when rotating again', async () => {
    const source = await registerSource(context.app, 'token_service');
    const first = await rotate(source, { grace_period_seconds: 60 });
    const firstExpiry = first.secrets.find((secret) => secret.expires_at !== null)!;
    const second = await rotate(source, { grace_period_seconds: 3600 });
    expect(second.secrets).toHaveLength(3);
    expect(second.secrets.find((secret) => secret.id === firstExpiry.id)!.expires_at).toBe(firstExpiry.expires_at);
    // Both older secrets still sign while in their grace.
    const sender = new WebhookSender(context.app, source);
    await sender.event(aRevocation({ jti: randomUUID() })).expect(202);
    await sender.event(aRevocation({ jti: randomUUID() }), { secret: first.secret }).expect(202);
  });

  it.each([
    ['a negative grace period', { grace_period_seconds: -1 }, 'grace_period_seconds'],
    ['a grace period over 30 days', { grace_period_seconds: 30 * 86_400 + 1 }, 'grace_period_seconds'],
    ['a fractional grace period', { grace_period_seconds: 1.5 }, 'grace_period_seconds'],
    ['an unknown field', { grace: 10 }, 'grace'],
  ])('refuses a rotation with %s with 400 naming the field, and keeps the secret', async (_case, body, field) => {
    const source = await registerSource(context.app, 'agent');
    const problem = problemOf(await asAdmin(context.app).post(`/v1/sources/${source.id}/rotate-secret`, body), 400, 'invalid-request');
    expect(fieldsOf(problem).map(([name]) => name)).toEqual([field]);
    expect((await asAdmin(context.app).get(`/v1/sources/${source.id}`).expect(200)).body.secrets).toHaveLength(1);
  });

  it('answers 404 to the rotation of an unknown source', async () => {
    problemOf(await asAdmin(context.app).post(`/v1/sources/${randomUUID()}/rotate-secret`, {}), 404, 'not-found');
  });
});

describe('disabling and enabling a source', () => {
  const context = withFreshApp();

  it('refuses the events of a disabled source with 403 and records none of them; enabling restores them', async () => {
    const source = await registerSource(context.app, 'authorization_server');
    const sender = new WebhookSender(context.app, source);
    await sender.event(aVerification()).expect(202);

    const disabled = await asAdmin(context.app).post(`/v1/sources/${source.id}/disable`).expect(200);
    expect(disabled.body).toMatchObject({ id: source.id, status: 'disabled', disabled_at: expect.any(String) });
    expect((await asAdmin(context.app).get(`/v1/sources/${source.id}`).expect(200)).body.status).toBe('disabled');

    const refused = await sender.event(aVerification());
    problemOf(refused, 403, 'forbidden');
    problemOf(await sender.batch([aVerification(), aConsent()]), 403, 'forbidden');
    expect(await countEvents(context.app, source.id)).toBe(1);

    const enabled = await asAdmin(context.app).post(`/v1/sources/${source.id}/enable`).expect(200);
    expect(enabled.body).toMatchObject({ status: 'enabled', disabled_at: null });
    await sender.event(aVerification()).expect(202);
    expect(await countEvents(context.app, source.id)).toBe(2);
  });

  it('keeps the first disabling time when a disabled source is disabled again', async () => {
    const source = await registerSource(context.app, 'agent');
    const first = (await asAdmin(context.app).post(`/v1/sources/${source.id}/disable`).expect(200)).body.disabled_at;
    expect((await asAdmin(context.app).post(`/v1/sources/${source.id}/disable`).expect(200)).body.disabled_at).toBe(first);
  });

  it('disables one source only', async () => {
    const [disabled, other] = [await registerSource(context.app, 'authorization_server'), await registerSource(context.app, 'authorization_server')];
    await asAdmin(context.app).post(`/v1/sources/${disabled.id}/disable`).expect(200);
    await new WebhookSender(context.app, other).event(aVerification()).expect(202);
  });

  it('answers 404 to disabling or enabling an unknown source', async () => {
    problemOf(await asAdmin(context.app).post(`/v1/sources/${randomUUID()}/disable`), 404, 'not-found');
    problemOf(await asAdmin(context.app).post(`/v1/sources/${randomUUID()}/enable`), 404, 'not-found');
  });

  it.each([
    ['an unknown source id', () => randomUUID()],
    ['a source id that is not a UUID', () => 'authorization-server-1'],
    ['no source id', () => ''],
  ])('refuses an event naming %s in ?source= with 401', async (_case, id) => {
    const real = await registerSource(context.app, 'authorization_server');
    const sender = new WebhookSender(context.app, { ...real, id: id() });
    problemOf(await sender.event(aVerification()), 401, 'unauthenticated');
    expect(await countEvents(context.app, real.id)).toBe(0);
  });
});

describe('a disabled source with a credentials cache', () => {
  // A long cache: a change must still take effect at once on the replica that made it.
  const context = withFreshApp({ SOURCE_CACHE_TTL_MS: '60000' });

  it('refuses events at once after disabling, and accepts them at once after enabling', async () => {
    const source = await registerSource(context.app, 'token_service');
    const sender = new WebhookSender(context.app, source);
    const revocation = () => aRevocation({ jti: randomUUID() });
    await sender.event(revocation()).expect(202);
    await asAdmin(context.app).post(`/v1/sources/${source.id}/disable`).expect(200);
    await sender.event(revocation()).expect(403);
    await asAdmin(context.app).post(`/v1/sources/${source.id}/enable`).expect(200);
    await sender.event(revocation()).expect(202);
  });

  it('refuses an old secret at once after a rotation without grace', async () => {
    const source = await registerSource(context.app, 'token_service');
    const sender = new WebhookSender(context.app, source);
    const revocation = () => aRevocation({ jti: randomUUID() });
    await sender.event(revocation()).expect(202);
    const rotated = (await asAdmin(context.app).post(`/v1/sources/${source.id}/rotate-secret`, { grace_period_seconds: 0 }).expect(201)).body;
    await sender.event(revocation()).expect(401);
    await sender.event(revocation(), { secret: rotated.secret }).expect(202);
  });
});
