import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { NotificationsWorker } from '../../src/findings/notifications/notifications.worker';
import { evaluateNow, fieldsOf, issueApiKey, problemOf, startTestApp, TEST_MASTER_KEY, type TestApp } from '../support/app';
import { createTestDatabase } from '../support/database';
import { aConsent, aToolCall, aVerification, type Envelope, randomDigest, registerSenders } from '../support/events';

type Senders = Awaited<ReturnType<typeof registerSenders>>;

/** Retries in tenths of a second, so a test sees a whole schedule; loopback receivers allowed. */
const NOTIFY_ENV = {
  ORPHAN_GRACE_SECONDS: '0',
  NOTIFICATIONS_ALLOW_HTTP: 'true',
  NOTIFICATIONS_ALLOW_PRIVATE: 'true',
  NOTIFICATIONS_POLL_INTERVAL_MS: '50',
  NOTIFICATIONS_RETRY_BASE_MS: '100',
  NOTIFICATIONS_RETRY_CAP_MS: '400',
  NOTIFICATIONS_TIMEOUT_MS: '5000',
};

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** A webhook receiver on loopback: keeps every request, and answers each with the status `answer` gives for it. */
class Receiver {
  readonly received: Received[] = [];
  answer: (attemptOfMessage: number) => number = () => 204;
  private server!: Server;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const received = { headers: request.headers, body: Buffer.concat(chunks).toString('utf8') };
        this.received.push(received);
        const attempt = this.received.filter((other) => other.headers['webhook-id'] === received.headers['webhook-id']).length;
        const status = this.answer(attempt);
        response.writeHead(status, { 'content-type': 'text/plain' });
        response.end(status >= 300 ? `${'upstream unavailable '.repeat(60)}` : 'ok');
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks/${randomUUID()}`;
    return this;
  }

  /** The notifications of one finding change, as received (every attempt). */
  of(messageId: string): Received[] {
    return this.received.filter((received) => received.headers['webhook-id'] === messageId);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** Polls until `check` returns a value, or fails after the deadline (generous: the machine is shared). */
async function eventually<T>(what: string, check: () => Promise<T | undefined> | T | undefined, deadlineMs = 30_000): Promise<T> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const verify = (secret: string, received: Received) =>
  new Webhook(secret).verify(received.body, {
    'webhook-id': String(received.headers['webhook-id']),
    'webhook-timestamp': String(received.headers['webhook-timestamp']),
    'webhook-signature': String(received.headers['webhook-signature']),
  });

interface Subscription {
  id: string;
  secret: string;
}

async function subscribe(app: TestApp, body: Record<string, unknown>): Promise<Subscription> {
  const response = await app.http().post('/v1/subscriptions').set('authorization', `Bearer ${app.adminKey}`).send(body).expect(201);
  return { id: response.body.id, secret: response.body.secret };
}

const disable = (app: TestApp, id: string) => app.http().delete(`/v1/subscriptions/${id}`).set('authorization', `Bearer ${app.adminKey}`);

type DeliveryView = {
  id: string;
  message_id: string;
  type: string;
  finding_id: string;
  finding_change_id: string;
  status: string;
  attempt_count: number;
  next_attempt_at: string | null;
  attempts: { attempt: number; outcome: string; status_code: number | null; error: string | null; response_excerpt: string | null; duration_ms: number }[];
};

const deliveriesOf = async (app: TestApp, subscriptionId: string, query = ''): Promise<DeliveryView[]> =>
  (await app.get(`/v1/subscriptions/${subscriptionId}/deliveries?limit=100${query}`).expect(200)).body.items;

/** A PAR request_uri accepted on two chains: a high request_uri_replay on the second. Returns that chain. */
async function fireReplay(app: TestApp, senders: Senders): Promise<string> {
  const requestUri = `urn:ietf:params:oauth:request_uri:${randomUUID()}`;
  const [first, second] = [randomDigest(), randomDigest()];
  const use = (digest: string, at: Date) => ({ ...aVerification({ digest, delivery: 'par', request_uri: requestUri }), timestamp: at.toISOString() }) as Envelope;
  await senders.as.event(use(first, new Date(Date.now() - 60_000))).expect(202);
  await senders.as.event(use(second, new Date())).expect(202);
  await evaluateNow(app);
  return second;
}

/** A tool call whose token jartrail never heard of: a medium orphan (the grace period is 0 here). Returns its event id. */
async function fireOrphan(app: TestApp, senders: Senders): Promise<string> {
  const call = { ...aToolCall({ token: { jti: `at-${randomUUID()}` } }), id: `orphan-call-${randomUUID()}` };
  await senders.agent.event(call).expect(202);
  await evaluateNow(app);
  return call.id;
}

type Notification = {
  type: string;
  timestamp: string;
  data: {
    finding: { id: string; rule: string; severity: string; status: string; chain_digest: string | null; evidence: { kind: string; event_id: string | null; type: string | null }[] };
    change: { id: string; change: string; severity: string; reason: string; at: string };
    links: { finding: string; chain: string | null };
  };
};

/**
 * Outbound notifications of findings end to end: subscriptions over the API, the outbox written with the finding
 * changes, delivery over real HTTP to a local receiver that checks every signature with the reference
 * `standardwebhooks` library, retries, restarts, and the deliveries read back over the API.
 */
describe('finding notifications', () => {
  let app: TestApp;
  let senders: Senders;
  const receivers: Receiver[] = [];
  const receiver = async () => {
    const started = await new Receiver().start();
    receivers.push(started);
    return started;
  };

  beforeAll(async () => {
    app = await startTestApp({ env: NOTIFY_ENV });
    senders = await registerSenders(app);
  });
  afterAll(async () => {
    await app.close();
    await Promise.all(receivers.map((started) => started.close()));
  });

  it('delivers a new finding as a Standard Webhook the reference library verifies, with the finding, the change and links', async () => {
    const hooks = await receiver();
    const subscription = await subscribe(app, { url: hooks.url, description: 'security on-call' });
    expect(subscription.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(subscription.secret.slice('whsec_'.length), 'base64').length).toBeGreaterThanOrEqual(24);
    try {
      const chain = await fireReplay(app, senders);
      const [delivery] = await deliveriesOf(app, subscription.id);
      expect(delivery).toMatchObject({ type: 'finding.opened', message_id: `msg_finding_change_${delivery!.finding_change_id}` });
      const [received] = await eventually('the notification', () => (hooks.of(delivery!.message_id).length > 0 ? hooks.of(delivery!.message_id) : undefined));

      const notification = verify(subscription.secret, received!) as Notification;
      expect(notification).toEqual({
        type: 'finding.opened',
        timestamp: expect.any(String),
        data: {
          finding: expect.objectContaining({ id: delivery!.finding_id, rule: 'request_uri_replay', severity: 'high', status: 'open', chain_digest: chain }),
          change: { id: delivery!.finding_change_id, change: 'opened', severity: 'high', reason: expect.any(String), at: notification.timestamp },
          links: { finding: `/v1/findings/${delivery!.finding_id}`, chain: `/v1/chains/${chain}` },
        },
      });
      expect(notification.data.finding.evidence).toEqual([
        { kind: 'event', event_id: expect.any(String), type: 'request_object.verification' },
        { kind: 'event', event_id: expect.any(String), type: 'request_object.verification' },
      ]);
      expect(received!.headers['content-type']).toBe('application/json');
      // The finding the notification names is the one the API serves.
      expect((await app.get(notification.data.links.finding).expect(200)).body).toMatchObject({ id: delivery!.finding_id, chain_digest: chain });
      // A signature under another secret does not verify: the check above is a real one.
      expect(() => verify(`whsec_${Buffer.alloc(32, 1).toString('base64')}`, received!)).toThrow();

      const [settled] = await eventually('the delivery to be settled', async () => {
        const deliveries = await deliveriesOf(app, subscription.id);
        return deliveries[0]?.status === 'delivered' ? deliveries : undefined;
      });
      expect(settled).toMatchObject({ status: 'delivered', attempt_count: 1, next_attempt_at: null });
      expect(settled!.attempts).toEqual([expect.objectContaining({ attempt: 1, outcome: 'delivered', status_code: 204, error: null })]);
      expect((await app.get(`/v1/subscriptions/${subscription.id}`).expect(200)).body.deliveries).toEqual({ pending: 0, delivered: 1, failed: 0, cancelled: 0 });
    } finally {
      await disable(app, subscription.id).expect(200);
    }
  });

  it('notifies an escalation under its own webhook-id: a refused replay (low) whose chain then gets an approved consent (high)', async () => {
    const hooks = await receiver();
    const subscription = await subscribe(app, { url: hooks.url, rules: ['request_uri_replay'] });
    try {
      const requestUri = `urn:ietf:params:oauth:request_uri:${randomUUID()}`;
      const [first, second] = [randomDigest(), randomDigest()];
      await senders.as.event({ ...aVerification({ digest: first, delivery: 'par', request_uri: requestUri }), timestamp: new Date(Date.now() - 60_000).toISOString() }).expect(202);
      await senders.as.event(aVerification({ digest: second, delivery: 'par', request_uri: requestUri, verdict: 'rejected', reason: 'invalid_request_uri' })).expect(202);
      await evaluateNow(app);
      await senders.as.event(aConsent({ digest: second })).expect(202);
      await evaluateNow(app);

      const deliveries = await deliveriesOf(app, subscription.id);
      expect(deliveries.map((delivery) => delivery.type)).toEqual(['finding.escalated', 'finding.opened']);
      const bodies = await eventually('both notifications', () => {
        const all = deliveries.map((delivery) => hooks.of(delivery.message_id)[0]);
        return all.every((received) => received !== undefined) ? (all as Received[]) : undefined;
      });
      const [escalated, opened] = bodies.map((received) => verify(subscription.secret, received) as Notification);
      expect(opened!.data.change).toMatchObject({ change: 'opened', severity: 'low' });
      expect(escalated!.data.change).toMatchObject({ change: 'escalated', severity: 'high' });
      expect(escalated!.data.finding.id).toBe(opened!.data.finding.id);
      expect(new Set(deliveries.map((delivery) => delivery.message_id)).size).toBe(2);
    } finally {
      await disable(app, subscription.id).expect(200);
    }
  });

  it('delivers only what matches a subscription: its rules, and its minimum severity', async () => {
    const hooks = await receiver();
    const orphansOnly = await subscribe(app, { url: hooks.url, rules: ['orphan'] });
    const highOnly = await subscribe(app, { url: hooks.url, min_severity: 'high' });
    const everything = await subscribe(app, { url: hooks.url });
    try {
      const orphanCall = await fireOrphan(app, senders);
      const chain = await fireReplay(app, senders);

      const [orphanDelivery, ...moreOrphans] = await deliveriesOf(app, orphansOnly.id);
      const [highDelivery, ...moreHigh] = await deliveriesOf(app, highOnly.id);
      expect([moreOrphans, moreHigh]).toEqual([[], []]);
      const [orphanNotice] = await eventually('the orphan notification', () => (hooks.of(orphanDelivery!.message_id).length > 0 ? hooks.of(orphanDelivery!.message_id) : undefined));
      const [highNotice] = await eventually('the replay notification', () => (hooks.of(highDelivery!.message_id).length > 0 ? hooks.of(highDelivery!.message_id) : undefined));
      const orphan = verify(orphansOnly.secret, orphanNotice!) as Notification;
      const replay = verify(highOnly.secret, highNotice!) as Notification;
      expect(orphan.data.finding).toMatchObject({ rule: 'orphan', severity: 'medium', chain_digest: null });
      expect(orphan.data.finding.evidence).toEqual([{ kind: 'event', event_id: orphanCall, type: 'tool_call.recorded' }]);
      expect(orphan.data.links.chain).toBeNull();
      expect(replay.data.finding).toMatchObject({ rule: 'request_uri_replay', severity: 'high', chain_digest: chain });
      // Each receiver's secret is its own.
      expect(() => verify(highOnly.secret, orphanNotice!)).toThrow();
      // One finding change, one webhook-id, whichever subscription it goes to.
      const toEverything = await deliveriesOf(app, everything.id);
      expect(toEverything.map((delivery) => delivery.message_id).sort()).toEqual([orphanDelivery!.message_id, highDelivery!.message_id].sort());
    } finally {
      await disable(app, orphansOnly.id).expect(200);
      await disable(app, highOnly.id).expect(200);
      await disable(app, everything.id).expect(200);
    }
  });

  it('retries a receiver that answers 500 twice, with the same webhook-id and body, and records every attempt', async () => {
    const hooks = await receiver();
    hooks.answer = (attempt) => (attempt <= 2 ? 500 : 200);
    const subscription = await subscribe(app, { url: hooks.url });
    try {
      await fireReplay(app, senders);
      const [settled] = await eventually('the delivery to succeed', async () => {
        const deliveries = await deliveriesOf(app, subscription.id);
        return deliveries[0]?.status === 'delivered' ? deliveries : undefined;
      });
      expect(settled!.attempts.map((attempt) => [attempt.attempt, attempt.outcome, attempt.status_code])).toEqual([
        [1, 'http_status', 500],
        [2, 'http_status', 500],
        [3, 'delivered', 200],
      ]);
      // Only a short excerpt of an answer is kept, never the whole of it.
      expect(settled!.attempts[0]!.response_excerpt).toMatch(/^upstream unavailable/);
      expect(settled!.attempts[0]!.response_excerpt!.length).toBeLessThanOrEqual(256);
      const received = hooks.of(settled!.message_id);
      expect(received).toHaveLength(3);
      expect(new Set(received.map((one) => one.body)).size).toBe(1);
      for (const one of received) expect(verify(subscription.secret, one)).toMatchObject({ type: 'finding.opened' });
    } finally {
      await disable(app, subscription.id).expect(200);
    }
  });

  it('delivers after jartrail is closed mid-retry and another jartrail starts on the same database: nothing is lost', async () => {
    const db = await createTestDatabase();
    const hooks = await receiver();
    hooks.answer = () => 503;
    const first = await startTestApp({ db, env: NOTIFY_ENV });
    let subscription: Subscription;
    let messageId: string;
    try {
      subscription = await subscribe(first, { url: hooks.url });
      await fireReplay(first, await registerSenders(first));
      [{ message_id: messageId }] = (await deliveriesOf(first, subscription.id)) as [DeliveryView];
      await eventually('a failed attempt', async () => ((await deliveriesOf(first, subscription.id))[0]!.attempt_count >= 1 ? true : undefined));
    } finally {
      await first.close();
    }
    const failedBefore = hooks.of(messageId).length;
    expect(failedBefore).toBeGreaterThanOrEqual(1);
    hooks.answer = () => 200;
    const second = await startTestApp({ db, env: NOTIFY_ENV });
    try {
      const [settled] = await eventually('the delivery after the restart', async () => {
        const deliveries = await deliveriesOf(second, subscription.id);
        return deliveries[0]?.status === 'delivered' ? deliveries : undefined;
      });
      const received = hooks.of(messageId);
      expect(received.length).toBe(failedBefore + 1);
      expect(settled!.attempts.map((attempt) => attempt.outcome)).toEqual([...Array<string>(failedBefore).fill('http_status'), 'delivered']);
      for (const one of received) expect(verify(subscription.secret, one)).toMatchObject({ type: 'finding.opened' });
    } finally {
      await second.close();
      await db.drop();
    }
  });

  it('keeps a subscription secret through a master-key rotation: re-sealed under the new key, and still what notifications are signed with', async () => {
    const db = await createTestDatabase();
    const secondKey = Buffer.alloc(32, 8).toString('base64url');
    const hooks = await receiver();
    const quiet = { ...NOTIFY_ENV, NOTIFICATIONS_ENABLED: 'false' };
    let subscription: Subscription;
    const before = await startTestApp({ db, masterKey: TEST_MASTER_KEY, env: quiet });
    try {
      subscription = await subscribe(before, { url: hooks.url });
    } finally {
      await before.close();
    }
    const rotating = await startTestApp({ db, masterKey: secondKey, previousMasterKeys: [TEST_MASTER_KEY], env: quiet });
    try {
      const rotation = await rotating.http().post('/v1/master-keys/rotate').set('authorization', `Bearer ${rotating.adminKey}`).send({}).expect(200);
      expect(rotation.body).toMatchObject({ ok: true, resealed: { notification_subscriptions: 1 } });
    } finally {
      await rotating.close();
    }
    // The old key is gone: the secret opens under the new one alone.
    const after = await startTestApp({ db, masterKey: secondKey, env: NOTIFY_ENV });
    try {
      await fireReplay(after, await registerSenders(after));
      const [delivery] = await deliveriesOf(after, subscription.id);
      const [received] = await eventually('the notification', () => (hooks.of(delivery!.message_id).length > 0 ? hooks.of(delivery!.message_id) : undefined));
      expect(verify(subscription.secret, received!)).toMatchObject({ type: 'finding.opened' });
    } finally {
      await after.close();
      await db.drop();
    }
  });

  it('delivers nothing to a disabled subscription, and cancels what it was still owed', async () => {
    const hooks = await receiver();
    hooks.answer = () => 500;
    const failing = await subscribe(app, { url: hooks.url });
    await fireReplay(app, senders);
    const [pending] = await eventually('a failed attempt', async () => {
      const deliveries = await deliveriesOf(app, failing.id);
      return deliveries[0] && deliveries[0].attempt_count >= 1 ? deliveries : undefined;
    });
    const disabled = (await disable(app, failing.id).expect(200)).body;
    expect(disabled).toMatchObject({ id: failing.id, status: 'disabled', disabled_at: expect.any(String) });
    expect(await deliveriesOf(app, failing.id)).toEqual([expect.objectContaining({ id: pending!.id, status: 'cancelled', next_attempt_at: null })]);
    // Whatever attempt was in flight has landed once the worker has drained; after that, nothing more comes.
    const worker = app.app.get(NotificationsWorker);
    await worker.drain();
    const received = hooks.received.length;
    await worker.drain();
    expect(hooks.received.length).toBe(received);

    const silent = await subscribe(app, { url: hooks.url });
    await disable(app, silent.id).expect(200);
    await fireReplay(app, senders);
    expect(await deliveriesOf(app, silent.id)).toEqual([]);
    // Kept, not deleted: it is still listed, disabled, with its history.
    expect((await app.get(`/v1/subscriptions/${failing.id}`).expect(200)).body).toMatchObject({ status: 'disabled', deliveries: { cancelled: 1 } });
    // Disabling again changes nothing.
    expect((await disable(app, failing.id).expect(200)).body.disabled_at).toBe(disabled.disabled_at);
    // A disabled subscription has no secret to rotate.
    problemOf(await app.http().post(`/v1/subscriptions/${failing.id}/rotate-secret`).set('authorization', `Bearer ${app.adminKey}`), 409, 'conflict');
  });

  it('owes a subscription nothing of a finding change made before it was created', async () => {
    const chain = await fireReplay(app, senders);
    const hooks = await receiver();
    const late = await subscribe(app, { url: hooks.url });
    try {
      // The chain is evaluated again (a new record in it) and the finding does not change: nothing new to tell.
      await senders.as.event(aConsent({ digest: chain })).expect(202);
      await evaluateNow(app);
      expect(await deliveriesOf(app, late.id)).toEqual([]);
    } finally {
      await disable(app, late.id).expect(200);
    }
  });

  it('shows the secret once: never in a GET, stored only sealed', async () => {
    const hooks = await receiver();
    const created = await subscribe(app, { url: hooks.url });
    try {
      const one = await app.get(`/v1/subscriptions/${created.id}`).expect(200);
      const list = await app.get('/v1/subscriptions?limit=100').expect(200);
      for (const response of [one, list]) {
        expect(response.text).not.toContain(created.secret);
        expect(response.text).not.toContain(created.secret.slice('whsec_'.length));
        expect(response.text).not.toContain('"secret"');
      }
      expect(list.body.items.map((item: { id: string }) => item.id)).toContain(created.id);
      const [stored] = await app.db.rows<{ sealed: Buffer }>(`SELECT sealed FROM notification_subscriptions WHERE id = $1`, [created.id]);
      expect(stored!.sealed.includes(Buffer.from(created.secret))).toBe(false);
      expect(stored!.sealed.includes(Buffer.from(created.secret.slice('whsec_'.length), 'base64'))).toBe(false);

      const rotated = (await app.http().post(`/v1/subscriptions/${created.id}/rotate-secret`).set('authorization', `Bearer ${app.adminKey}`).expect(201)).body;
      expect(rotated.secret).toMatch(/^whsec_/);
      expect(rotated.secret).not.toBe(created.secret);
      expect(rotated.secret_rotated_at).toEqual(expect.any(String));
    } finally {
      await disable(app, created.id).expect(200);
    }
  });

  it('pages subscriptions newest first with an opaque cursor', async () => {
    const hooks = await receiver();
    const created = [await subscribe(app, { url: hooks.url }), await subscribe(app, { url: hooks.url }), await subscribe(app, { url: hooks.url })];
    try {
      const firstPage = (await app.get('/v1/subscriptions?limit=2').expect(200)).body;
      const secondPage = (await app.get(`/v1/subscriptions?limit=2&cursor=${firstPage.next_cursor}`).expect(200)).body;
      const ids = [...firstPage.items, ...secondPage.items].map((item: { id: string }) => item.id);
      expect(ids.slice(0, 3)).toEqual(created.map((subscription) => subscription.id).reverse());
    } finally {
      for (const subscription of created) await disable(app, subscription.id).expect(200);
    }
  });

  it('is for admins, and every request is in the access log', async () => {
    const reader = await issueApiKey(app, ['audit:read']);
    problemOf(await app.http().get('/v1/subscriptions').set('authorization', `Bearer ${reader.key}`), 403, 'forbidden');
    problemOf(await app.http().post('/v1/subscriptions').send({ url: 'https://hooks.example.com/x' }), 401, 'unauthenticated');
    const hooks = await receiver();
    const created = await subscribe(app, { url: hooks.url });
    await disable(app, created.id).expect(200);
    const records = await app.db.rows<{ method: string; route: string; status: number }>(
      `SELECT method, route, status FROM access_records WHERE route LIKE '/v1/subscriptions%' ORDER BY seq`,
    );
    expect(records).toEqual(
      expect.arrayContaining([
        { method: 'GET', route: '/v1/subscriptions', status: 403 },
        { method: 'POST', route: '/v1/subscriptions', status: 201 },
        { method: 'DELETE', route: '/v1/subscriptions/:id', status: 200 },
      ]),
    );
  });

  it('gauges the delivery backlog on /health/ready', async () => {
    const ready = await app.http().get('/health/ready').expect(200);
    expect(ready.body.details.notifications).toEqual({ status: 'up', pending_deliveries: expect.any(Number), oldest_due_seconds: expect.any(Number) });
  });

  describe('bad input, with the default settings (https only, public addresses only)', () => {
    let strict: TestApp;
    beforeAll(async () => {
      strict = await startTestApp({ db: app.db, env: { NOTIFICATIONS_ENABLED: 'false' } });
    });
    afterAll(async () => {
      await strict.close();
    });

    it.each([
      [{ url: 'not a url' }, 'url', 'invalid_url'],
      [{ url: 'http://hooks.example.com/x' }, 'url', 'https_required'],
      [{ url: 'https://127.0.0.1:8443/x' }, 'url', 'non_public_address'],
      [{ url: 'https://10.0.0.7/x' }, 'url', 'non_public_address'],
      [{ url: 'https://localhost/x' }, 'url', 'non_public_address'],
      [{ url: 'https://169.254.169.254/latest' }, 'url', 'non_public_address'],
      [{ url: 'https://user:pw@hooks.example.com/x' }, 'url', 'url_credentials'],
      [{}, 'url', expect.any(String)],
      [{ url: 'https://hooks.example.com/x', rules: ['not_a_rule'] }, 'rules.0', expect.any(String)],
      [{ url: 'https://hooks.example.com/x', rules: [] }, 'rules', expect.any(String)],
      [{ url: 'https://hooks.example.com/x', min_severity: 'urgent' }, 'min_severity', expect.any(String)],
      [{ url: 'https://hooks.example.com/x', severity: 'high' }, 'severity', expect.any(String)],
    ])('refuses %j naming %s', async (body, field, code) => {
      const problem = problemOf(await strict.http().post('/v1/subscriptions').set('authorization', `Bearer ${strict.adminKey}`).send(body), 400, 'invalid-request');
      expect(fieldsOf(problem)).toContainEqual([field, code]);
    });

    it('takes a public https URL', async () => {
      const created = await subscribe(strict, { url: 'https://hooks.example.com/jartrail', rules: ['orphan', 'beyond_grant'], min_severity: 'medium' });
      const shown = (await strict.get(`/v1/subscriptions/${created.id}`).expect(200)).body;
      expect(shown).toMatchObject({ url: 'https://hooks.example.com/jartrail', rules: ['orphan', 'beyond_grant'], min_severity: 'medium', status: 'enabled' });
      await disable(strict, created.id).expect(200);
    });

    it.each([
      ['/v1/subscriptions/abc', 'id'],
      ['/v1/subscriptions?cursor=not-ours', 'cursor'],
      ['/v1/subscriptions?limit=0', 'limit'],
      ['/v1/subscriptions/1/deliveries?status=lost', 'status'],
    ])('refuses %s naming %s', async (path, field) => {
      const problem = problemOf(await strict.get(path), 400, 'invalid-request');
      expect(fieldsOf(problem).map(([name]) => name)).toContain(field);
    });

    it('answers 404 for an unknown subscription', async () => {
      problemOf(await strict.get('/v1/subscriptions/999999999'), 404, 'not-found');
      problemOf(await strict.get('/v1/subscriptions/999999999/deliveries'), 404, 'not-found');
      problemOf(await disable(strict, '999999999'), 404, 'not-found');
    });
  });
});
