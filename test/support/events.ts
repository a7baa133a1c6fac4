import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type request from 'supertest';
import { Webhook } from 'standardwebhooks';
import type { TestApp } from './app';

/** base64url(SHA-256(...)) of fresh random bytes: a digest nobody used before. */
export function randomDigest(): string {
  return createHash('sha256').update(randomBytes(32)).digest('base64url');
}

export function hashOf(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}

export interface Envelope {
  id?: string;
  type: string;
  timestamp: string;
  data: Record<string, unknown>;
}

type Overrides = Record<string, unknown>;

const now = () => new Date().toISOString();
const seconds = () => Math.floor(Date.now() / 1000);

export function aVerification(data: Overrides = {}): Envelope {
  return {
    type: 'request_object.verification',
    timestamp: now(),
    data: {
      digest: randomDigest(),
      verdict: 'accepted',
      client_id: 'agent-app',
      issuer: 'https://as.example.com',
      delivery: 'value',
      header: { alg: 'PS256', kid: 'client-key-1' },
      claims: { iss: 'agent-app', aud: 'https://as.example.com', exp: seconds() + 300, iat: seconds(), scope: 'mail.send', jti: randomUUID() },
      ...data,
    },
  };
}

export function aConsent(data: Overrides = {}): Envelope {
  return {
    type: 'consent.decision',
    timestamp: now(),
    data: { digest: randomDigest(), decision: 'approved', subject: 'alice@example.com', granted: { scope: 'mail.send' }, ...data },
  };
}

export function aToken(data: Overrides = {}): Envelope {
  return {
    type: 'token.issued',
    timestamp: now(),
    data: { token_type: 'access', jti: `at-${randomUUID()}`, scope: 'mail.send', iat: seconds(), exp: seconds() + 3600, ...data },
  };
}

export function aRevocation(data: Overrides = {}): Envelope {
  return { type: 'token.revoked', timestamp: now(), data: { revoked_at: now(), reason: 'user logout', ...data } };
}

export function aToolCall(data: Overrides = {}): Envelope {
  return {
    type: 'tool_call.recorded',
    timestamp: now(),
    data: {
      call_id: `call-${randomUUID()}`,
      agent_id: 'mail-agent',
      tool: 'mail',
      action: 'send',
      started_at: now(),
      outcome: 'succeeded',
      side_effect: { kind: 'email', reference: `msg-${randomUUID()}` },
      ...data,
    },
  };
}

export interface RegisteredSource {
  readonly id: string;
  readonly secret: string;
  readonly kind: string;
}

export async function registerSource(app: TestApp, kind: 'authorization_server' | 'token_service' | 'agent', name = `${kind}-${randomUUID().slice(0, 8)}`): Promise<RegisteredSource> {
  const response = await app.http().post('/v1/sources').set('authorization', `Bearer ${app.adminKey}`).send({ name, kind }).expect(201);
  return { id: response.body.id, secret: response.body.secret, kind };
}

export interface SendOptions {
  /** Defaults to the envelope's id, else a fresh one. */
  readonly id?: string;
  /** Unix seconds for webhook-timestamp. */
  readonly timestamp?: number;
  readonly contentType?: string;
  /** Replace the signed body (after signing) to test tampering. */
  readonly tamper?: (body: string) => string;
  readonly headers?: Readonly<Record<string, string | undefined>>;
  readonly secret?: string;
}

/**
 * Sends as a real sender would: signed with the `standardwebhooks` library, the reference implementation of the
 * Standard Webhooks specification, so the receiving side is tested against it.
 */
export class WebhookSender {
  constructor(
    private readonly app: TestApp,
    readonly source: RegisteredSource,
  ) {}

  event(envelope: Envelope | string, options: SendOptions = {}): request.Test {
    const id = options.id ?? (typeof envelope === 'string' ? randomUUID() : (envelope.id ?? randomUUID()));
    return this.post('/v1/events', id, typeof envelope === 'string' ? envelope : JSON.stringify(envelope), options);
  }

  batch(envelopes: readonly Envelope[], options: SendOptions & { ndjson?: boolean } = {}): request.Test {
    const withIds = envelopes.map((envelope) => ({ id: envelope.id ?? randomUUID(), ...envelope }));
    const body = options.ndjson ? withIds.map((envelope) => JSON.stringify(envelope)).join('\n') : JSON.stringify(withIds);
    return this.post('/v1/events/batch', options.id ?? `batch-${randomUUID()}`, body, {
      contentType: options.ndjson ? 'application/x-ndjson' : 'application/json',
      ...options,
    });
  }

  rawBatch(body: string, options: SendOptions = {}): request.Test {
    return this.post('/v1/events/batch', options.id ?? `batch-${randomUUID()}`, body, options);
  }

  private post(path: string, id: string, body: string, options: SendOptions): request.Test {
    const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
    const signature = new Webhook(options.secret ?? this.source.secret).sign(id, new Date(timestamp * 1000), body);
    const headers: Record<string, string | undefined> = {
      'content-type': options.contentType ?? 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signature,
      ...options.headers,
    };
    let test = this.app.http().post(`${path}?source=${this.source.id}`);
    for (const [name, value] of Object.entries(headers)) if (value !== undefined) test = test.set(name, value);
    return test.send(options.tamper ? options.tamper(body) : body);
  }
}

/** Sources of each kind on one app, and their senders. */
export async function registerSenders(app: TestApp) {
  const [as, ts, agent] = await Promise.all([
    registerSource(app, 'authorization_server'),
    registerSource(app, 'token_service'),
    registerSource(app, 'agent'),
  ]);
  return { as: new WebhookSender(app, as), tokens: new WebhookSender(app, ts), agent: new WebhookSender(app, agent) };
}
