import { createHash } from 'node:crypto';
import type { EventTypeDefinition } from '../../src/evidence/event-type-definition';
import { consentDecisionEvent } from '../../src/evidence/types/consent-event';
import { tokenIssuedEvent, tokenRevokedEvent } from '../../src/evidence/types/token-events';
import { toolCallRecordedEvent } from '../../src/evidence/types/tool-call-event';
import { requestObjectVerificationEvent } from '../../src/evidence/types/verification-event';
import { SOURCE_KINDS, type SourceKind } from '../../src/sources/source-kind';

/**
 * Realistic, reproducible authorizations for the benchmarks: chain `index` of run `tag` is always the same ten
 * events, so a seeded database can be checked again later without storing what was generated.
 *
 * One chain, in the order things happen:
 *   verification (AS) → consent (AS) → access token + refresh token naming the digest (token service)
 *   → two tool calls with the access token (agent) → an access token refreshed from the refresh token, known
 *   by its hash only (token service) → two tool calls with it (agent) → the refresh token revoked (token service).
 * The refreshed token and the calls that use it link only through tokens, so linking does its whole job.
 */

export type SenderKind = SourceKind;
export const SENDER_KINDS: readonly SenderKind[] = SOURCE_KINDS;

export interface Envelope {
  readonly id: string;
  readonly type: string;
  readonly timestamp: string;
  readonly data: Record<string, unknown>;
}

export interface ChainEvent {
  readonly kind: SenderKind;
  readonly envelope: Envelope;
}

export interface GeneratedChain {
  readonly index: number;
  readonly digest: string;
  readonly innerDigest?: string;
  readonly clientId: string;
  readonly issuer: string;
  readonly subject: string;
  readonly tools: readonly string[];
  readonly callIds: readonly string[];
  /** In the order they happen. */
  readonly events: readonly ChainEvent[];
}

export const EVENTS_PER_CHAIN = 10;

const CLIENTS = 200;
const SUBJECTS = 20_000;
const AGENTS = 50;
const ISSUERS = ['https://as1.example.com', 'https://as2.example.com', 'https://login.example.org', 'https://idp.example.net'];
const ALGORITHMS = ['PS256', 'ES256', 'RS256', 'EdDSA'];
const SCOPES = ['mail.send mail.read', 'calendar.read calendar.write', 'files.read files.write', 'crm.read crm.write', 'payments.initiate', 'repo.read repo.write'];
const TOOLS: readonly (readonly [string, readonly string[], string])[] = [
  ['mail', ['send', 'read'], 'email'],
  ['calendar', ['create_event', 'list_events'], 'calendar_event'],
  ['drive', ['upload', 'share'], 'file'],
  ['crm', ['update_contact', 'query'], 'record'],
  ['payments', ['initiate'], 'payment'],
  ['github', ['open_pull_request', 'comment'], 'pull_request'],
  ['slack', ['post_message'], 'message'],
  ['jira', ['create_issue', 'transition'], 'issue'],
  ['search', ['query'], 'query'],
  ['docs', ['edit'], 'document'],
  ['sql', ['select'], 'query'],
  ['browser', ['fetch'], 'page'],
];

export function sha256Base64Url(value: string | Buffer): string {
  return createHash('sha256').update(value).digest('base64url');
}

/** A small deterministic generator (xorshift32) seeded from the chain's identity. */
export class Random {
  private state: number;

  constructor(seed: string) {
    this.state = createHash('sha256').update(seed).digest().readUInt32LE(0) || 1;
  }

  next(): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state / 4294967296;
  }

  int(below: number): number {
    return Math.floor(this.next() * below);
  }

  /** Skewed towards small values: a few clients and tools are much busier than the rest, as in real traffic. */
  skewed(below: number): number {
    return Math.floor(this.next() ** 2 * below);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  base64url(bytes: number): string {
    const out = Buffer.alloc(bytes);
    for (let offset = 0; offset < bytes; offset += 4) out.writeUInt32LE(Math.floor(this.next() * 4294967296) >>> 0, Math.min(offset, bytes - 4));
    return out.toString('base64url');
  }
}

/** A compact JWS of about the size a client sends (protected header, claims, signature). */
function compactJws(random: Random, claims: object): string {
  const header = Buffer.from(JSON.stringify({ alg: 'PS256', kid: 'client-key-1', typ: 'oauth-authz-req+jwt' })).toString('base64url');
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return `${header}.${payload}.${random.base64url(256)}`;
}

/** What a chain's verification event reports about its request object, and the object itself. */
export interface ProducedRequestObject {
  /** The compact serialization the AS received (absent: the event does not carry it). */
  readonly requestObject?: string;
  /** The digest of the decrypted JWS, for an encrypted object. */
  readonly innerDigest?: string;
  /** The JWS header the AS reports; absent: a made-up one (synthetic objects). */
  readonly header?: { alg: string; kid: string; typ: string };
  readonly encryption?: { alg: string; enc: string; kid: string };
}

/** The parts of chain `index` drawn before its request object: who asks what, and the object's claims. */
export interface ChainDraft {
  readonly random: Random;
  readonly tag: string;
  readonly index: number;
  readonly startMs: number;
  readonly clientNumber: number;
  readonly clientId: string;
  readonly clientHost: string;
  readonly issuer: string;
  readonly subject: string;
  readonly scope: string;
  readonly encrypted: boolean;
  readonly withRequestObject: boolean;
  readonly delivery: 'value' | 'par' | 'reference';
  readonly authorizationDetails?: readonly Record<string, unknown>[];
  /** The claim facts the AS reports (state and nonce as hashes). */
  readonly claims: Readonly<Record<string, unknown>>;
  /** The claims of the request object itself (client_id, state and nonce in clear). */
  readonly objectClaims: Readonly<Record<string, unknown>>;
}

export function draftChain(tag: string, index: number, startMs: number): ChainDraft {
  const random = new Random(`${tag}:${index}`);
  const id = (name: string) => `${tag}-${index}-${name}`;
  const unix = (seconds: number) => Math.floor(startMs / 1000) + seconds;

  const clientNumber = random.skewed(CLIENTS);
  const clientId = `client-${clientNumber}`;
  const clientHost = `https://app${clientNumber}.example.com`;
  const issuer = ISSUERS[random.skewed(ISSUERS.length)]!;
  const subject = `user${random.int(SUBJECTS)}@example.com`;
  const scope = random.pick(SCOPES);
  const encrypted = random.chance(0.05);
  const withRequestObject = random.chance(0.3);
  const deliveryRoll = random.next();
  const delivery = deliveryRoll < 0.6 ? 'value' : deliveryRoll < 0.9 ? 'par' : 'reference';
  const authorizationDetails = random.chance(0.2)
    ? [{ type: 'payment_initiation', actions: ['initiate'], instructedAmount: { currency: 'EUR', amount: `${1 + random.int(500)}.00` }, creditorName: 'Merchant A' }]
    : undefined;

  const facts: Record<string, unknown> = {
    iss: clientId,
    aud: issuer,
    exp: unix(300),
    iat: unix(0),
    nbf: unix(0),
    jti: id('ro'),
    response_type: 'code',
    redirect_uri: `${clientHost}/callback`,
    scope,
  };
  const details = authorizationDetails ? { authorization_details: authorizationDetails } : {};
  const claims = { ...facts, state_hash: sha256Base64Url(id('state')), nonce_hash: sha256Base64Url(id('nonce')), ...details };
  const objectClaims = { ...facts, ...details, client_id: clientId, state: id('state'), nonce: id('nonce') };
  return { random, tag, index, startMs, clientNumber, clientId, clientHost, issuer, subject, scope, encrypted, withRequestObject, delivery, authorizationDetails, claims, objectClaims };
}

/**
 * A made-up request object of about the right size (random bytes for the signature and the encryption): no
 * registered key verifies it. Used where nothing verifies the objects (bench:query's seed); the draws it makes are
 * part of the chain's reproducible sequence.
 */
export function syntheticRequestObject(draft: ChainDraft): ProducedRequestObject {
  const { random } = draft;
  const innerJws = draft.withRequestObject ? compactJws(random, { ...draft.claims, client_id: draft.clientId }) : undefined;
  const innerDigest = draft.encrypted ? sha256Base64Url(innerJws ?? `${draft.tag}-${draft.index}-inner`) : undefined;
  const requestObject = innerJws
    ? draft.encrypted
      ? `${Buffer.from(JSON.stringify({ alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: 'as-enc-1', cty: 'JWT' })).toString('base64url')}.${random.base64url(256)}.${random.base64url(12)}.${random.base64url(Math.ceil((innerJws.length * 3) / 4))}.${random.base64url(16)}`
      : innerJws
    : undefined;
  return { requestObject, innerDigest, ...(draft.encrypted ? { encryption: { alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: 'as-enc-1' } } : {}) };
}

/**
 * Chain `index` of run `tag`, first event at `startMs` (Unix ms), with a made-up request object
 * (syntheticRequestObject). Every later event follows within two hours.
 */
export function generateChain(tag: string, index: number, startMs: number): GeneratedChain {
  const draft = draftChain(tag, index, startMs);
  return completeChain(draft, syntheticRequestObject(draft));
}

/** The chain of a draft, around the request object produced for it. */
export function completeChain(draft: ChainDraft, produced: ProducedRequestObject): GeneratedChain {
  const { random, tag, index, startMs, clientId, clientHost, issuer, subject, scope, delivery, authorizationDetails, claims } = draft;
  const id = (name: string) => `${tag}-${index}-${name}`;
  const at = (seconds: number) => new Date(startMs + seconds * 1000).toISOString();
  const unix = (seconds: number) => Math.floor(startMs / 1000) + seconds;
  const { requestObject, innerDigest } = produced;
  const digest = sha256Base64Url(requestObject ?? id('request'));

  const verification: Record<string, unknown> = {
    digest,
    verdict: 'accepted',
    client_id: clientId,
    issuer,
    delivery,
    ...(delivery === 'par' ? { request_uri: `urn:ietf:params:oauth:request_uri:${random.base64url(18)}` } : {}),
    ...(delivery === 'reference' ? { request_uri: `${clientHost}/request-objects/${id('ro')}` } : {}),
    header: produced.header ?? { alg: random.pick(ALGORITHMS), kid: `client-key-${1 + random.int(3)}`, typ: 'oauth-authz-req+jwt' },
    ...(produced.encryption ? { encryption: produced.encryption, inner_digest: innerDigest } : {}),
    claims,
    ...(requestObject ? { request_object: requestObject } : {}),
  };

  const accessJti = id('at');
  const refreshJti = id('rt');
  const refreshedHash = sha256Base64Url(`opaque-access-token-${id('at2')}`);
  const [firstTool, firstActions, firstKind] = TOOLS[random.skewed(TOOLS.length)]!;
  const [secondTool, secondActions, secondKind] = random.chance(0.5) ? TOOLS[random.skewed(TOOLS.length)]! : [firstTool, firstActions, firstKind];
  const agentId = `agent-${random.int(AGENTS)}`;
  const toolCall = (name: string, seconds: number, token: object, tool: string, actions: readonly string[], kind: string): ChainEvent => {
    const hasSideEffect = random.chance(0.7);
    return eventOf(toolCallRecordedEvent, id(name), at(seconds + 1), {
      call_id: id(name),
      agent_id: agentId,
      token,
      tool,
      action: random.pick(actions),
      resource: `https://api.example.com/${tool}`,
      arguments_digest: sha256Base64Url(id(`${name}-args`)),
      started_at: at(seconds),
      completed_at: at(seconds + 1),
      outcome: random.chance(0.95) ? 'succeeded' : 'failed',
      ...(hasSideEffect ? { side_effect: { kind, reference: `${kind}-${id(name)}`, summary: `${tool} ${kind} created for ${clientId}` } } : {}),
    });
  };
  const cnf = random.chance(0.5) ? { cnf: { jkt: sha256Base64Url(id('dpop-key')) } } : {};

  const events: ChainEvent[] = [
    eventOf(requestObjectVerificationEvent, id('ver'), at(0), verification),
    eventOf(consentDecisionEvent, id('con'), at(20), {
      digest,
      decision: 'approved',
      subject,
      granted: { scope, ...(authorizationDetails ? { authorization_details: authorizationDetails } : {}) },
      rendered_digest: sha256Base64Url(id('screen')),
    }),
    eventOf(tokenIssuedEvent, id('at'), at(22), {
      digest,
      token_type: 'access',
      jti: accessJti,
      scope,
      aud: 'https://api.example.com',
      iat: unix(22),
      exp: unix(22 + 3600),
      grant_type: 'authorization_code',
      ...cnf,
    }),
    eventOf(tokenIssuedEvent, id('rt'), at(22), { digest, token_type: 'refresh', jti: refreshJti, scope, iat: unix(22), exp: unix(22 + 30 * 86400), grant_type: 'authorization_code' }),
    toolCall('call1', 60, { jti: accessJti }, firstTool, firstActions, firstKind),
    toolCall('call2', 300, { jti: accessJti }, firstTool, firstActions, firstKind),
    eventOf(tokenIssuedEvent, id('at2'), at(3700), {
      parent: { jti: refreshJti },
      grant_type: 'refresh_token',
      token_type: 'access',
      token_hash: refreshedHash,
      scope,
      aud: 'https://api.example.com',
      iat: unix(3700),
      exp: unix(3700 + 3600),
      ...cnf,
    }),
    toolCall('call3', 3800, { token_hash: refreshedHash }, secondTool, secondActions, secondKind),
    toolCall('call4', 4000, { token_hash: refreshedHash }, secondTool, secondActions, secondKind),
    eventOf(tokenRevokedEvent, id('rev'), at(7000), { jti: refreshJti, revoked_at: at(7000), reason: 'user logout' }),
  ];
  return {
    index,
    digest,
    innerDigest,
    clientId,
    issuer,
    subject,
    tools: [...new Set([firstTool, secondTool])],
    callIds: [id('call1'), id('call2'), id('call3'), id('call4')],
    events,
  };
}

/** An event of one type, sent by the kind of source its definition names. */
const eventOf = (definition: EventTypeDefinition, id: string, timestamp: string, data: Record<string, unknown>): ChainEvent => ({
  kind: definition.senderKind,
  envelope: { id, type: definition.type, timestamp, data },
});

/** The body of a single-event delivery: the envelope without its id (that travels in webhook-id). */
export function singleBody(envelope: Envelope): string {
  const { id: _id, ...body } = envelope;
  return JSON.stringify(body);
}

/** Chains' events grouped into batches per sender kind (a batch is signed by one source), at most `size` each. */
export function batchesOf(chains: readonly GeneratedChain[], size: number): { kind: SenderKind; envelopes: Envelope[] }[] {
  const batches: { kind: SenderKind; envelopes: Envelope[] }[] = [];
  for (const kind of SENDER_KINDS) {
    const envelopes = chains.flatMap((chain) => chain.events.filter((event) => event.kind === kind).map((event) => event.envelope));
    for (let offset = 0; offset < envelopes.length; offset += size) batches.push({ kind, envelopes: envelopes.slice(offset, offset + size) });
  }
  return batches;
}
