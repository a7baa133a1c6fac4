import { digestOf } from '../common/crypto/digest';
import { Keyring } from '../common/crypto/keyring';
import { PAR_REQUEST_URI_PREFIX } from './types/verification-event';
import type { SourceKind } from '../sources/source-kind';
import type { MinimizationPolicy } from './event-type-definition';
import { validateEvent, type EnvelopeIdentity, type EventOutcome, type ValidatedEvent } from './event-validator';

const keyring = new Keyring(Buffer.alloc(32, 0x2a));
const otherKeyring = new Keyring(Buffer.alloc(32, 0x2b));

const PSEUDONYMIZE: MinimizationPolicy = { subjectOf: (subject) => keyring.pseudonymOf(subject), keepRequestObjects: true };
const KEEP_SUBJECTS: MinimizationPolicy = { subjectOf: (subject) => subject, keepRequestObjects: true };
const DROP_REQUEST_OBJECTS: MinimizationPolicy = { ...PSEUDONYMIZE, keepRequestObjects: false };

const TIMESTAMP = '2026-11-28T10:00:00Z';
const EMITTED_AT = new Date(TIMESTAMP);
const SECONDS = EMITTED_AT.getTime() / 1000;

const REQUEST_OBJECT = 'eyJhbGciOiJQUzI1NiIsImtpZCI6ImNsaWVudC1rZXktMSJ9.eyJjbGllbnRfaWQiOiJhZ2VudC1hcHAifQ.c2lnbmF0dXJl';
const JWE = 'eyJhbGciOiJSU0EtT0FFUC0yNTYiLCJlbmMiOiJBMjU2R0NNIn0.a2V5.aXY.Y2lwaGVydGV4dA.dGFn';
const DIGEST = digestOf(REQUEST_OBJECT);
const OUTER_DIGEST = digestOf(JWE);
const TOKEN_HASH = digestOf('the-access-token');
const PARENT_HASH = digestOf('the-refresh-token');

type Data = Record<string, unknown>;
interface Envelope {
  id?: string;
  type: string;
  timestamp: string;
  data: Data;
}

const envelope = (type: string, data: Data, extra: Partial<Envelope> = {}): Envelope => ({ type, timestamp: TIMESTAMP, data, ...extra });

const aVerification = (data: Data = {}) =>
  envelope('request_object.verification', {
    digest: DIGEST,
    verdict: 'accepted',
    client_id: 'agent-app',
    issuer: 'https://as.example.com',
    delivery: 'value',
    header: { alg: 'PS256', kid: 'client-key-1' },
    claims: { iss: 'agent-app', aud: 'https://as.example.com', exp: SECONDS + 300, iat: SECONDS, scope: 'mail.send', jti: 'ro-1' },
    request_object: REQUEST_OBJECT,
    ...data,
  });
const aConsent = (data: Data = {}) =>
  envelope('consent.decision', { digest: DIGEST, decision: 'approved', subject: 'alice@example.com', granted: { scope: 'mail.send' }, ...data });
const aToken = (data: Data = {}) =>
  envelope('token.issued', { digest: DIGEST, token_type: 'access', jti: 'at-1', token_hash: TOKEN_HASH, scope: 'mail.send', iat: SECONDS - 2, exp: SECONDS + 3600, ...data });
const aRevocation = (data: Data = {}) => envelope('token.revoked', { jti: 'at-1', revoked_at: '2026-11-28T09:59:30Z', reason: 'user logout', ...data });
const aToolCall = (data: Data = {}) =>
  envelope('tool_call.recorded', {
    call_id: 'call-1',
    agent_id: 'mail-agent',
    token: { jti: 'at-1' },
    tool: 'mail',
    action: 'send',
    started_at: '2026-11-28T10:59:00+01:00',
    completed_at: '2026-11-28T10:00:01Z',
    outcome: 'succeeded',
    side_effect: { kind: 'email', reference: 'msg-1' },
    ...data,
  });

const SENDER_KIND: Record<string, SourceKind> = {
  'request_object.verification': 'authorization_server',
  'consent.decision': 'authorization_server',
  'token.issued': 'token_service',
  'token.revoked': 'token_service',
  'tool_call.recorded': 'agent',
};

function validate(value: Envelope | unknown, options: { kind?: SourceKind; policy?: MinimizationPolicy; identity?: EnvelopeIdentity; keys?: Keyring } = {}): EventOutcome {
  const type = typeof value === 'object' && value !== null ? (value as { type?: unknown }).type : undefined;
  const kind = options.kind ?? SENDER_KIND[String(type)] ?? 'authorization_server';
  return validateEvent(value, { sourceKind: kind, minimization: options.policy ?? PSEUDONYMIZE, keyring: options.keys ?? keyring }, options.identity ?? { deliveryId: 'evt-1' });
}

function accepted(outcome: EventOutcome): ValidatedEvent {
  if (!outcome.ok) throw new Error(`expected the event to pass, got ${JSON.stringify(outcome.problem.toDocument())}`);
  return outcome.event;
}

function refused(outcome: EventOutcome) {
  if (outcome.ok) throw new Error('expected the event to be refused');
  return outcome.problem;
}

const fingerprintOf = (value: Envelope, options: Parameters<typeof validate>[1] = {}) => accepted(validate(value, options)).fingerprint.toString('hex');

describe('validateEvent', () => {
  describe('a valid event of each type', () => {
    it('accepts a verification of a signed request object passed by value, linked by its digest, at the envelope time', () => {
      const event = accepted(validate(aVerification()));
      expect(event.eventId).toBe('evt-1');
      expect(event.type).toBe('request_object.verification');
      expect(event.emittedAt).toEqual(EMITTED_AT);
      expect(event.occurredAt).toEqual(EMITTED_AT);
      expect(event.links).toEqual({ digest: DIGEST });
      expect(event.data).toEqual(aVerification().data);
    });

    it('links an encrypted request object by the JWE digest, with the inner JWS digest as its alias', () => {
      const event = accepted(validate(aVerification({ digest: OUTER_DIGEST, encryption: { alg: 'RSA-OAEP-256', enc: 'A256GCM' }, inner_digest: DIGEST, request_object: JWE })));
      expect(event.links).toEqual({ digest: OUTER_DIGEST, innerDigest: DIGEST });
    });

    it('accepts a pushed request object (PAR) with its request_uri', () => {
      expect(accepted(validate(aVerification({ delivery: 'par', request_uri: `${PAR_REQUEST_URI_PREFIX}bwc4JK-ESC0w8acc191e-Y1LTC2` }))).links).toEqual({ digest: DIGEST });
    });

    it('accepts a refused PAR push without request_uri: the AS refused it, so it issued none', () => {
      expect(accepted(validate(aVerification({ delivery: 'par', verdict: 'rejected', reason: 'signature_invalid' }))).links).toEqual({ digest: DIGEST });
    });

    it('accepts a request object passed by reference with its request_uri', () => {
      expect(validate(aVerification({ delivery: 'reference', request_uri: 'https://client.example.org/request.jwt' })).ok).toBe(true);
    });

    it('accepts a plain authorization request reported as unsigned, without header', () => {
      const { header: _header, request_object: _requestObject, ...plain } = aVerification().data;
      expect(accepted(validate(envelope('request_object.verification', { ...plain, unsigned: true }))).links).toEqual({ digest: DIGEST });
    });

    it('accepts a consent decision, linked by its digest, at the envelope time', () => {
      const event = accepted(validate(aConsent()));
      expect(event.links).toEqual({ digest: DIGEST });
      expect(event.occurredAt).toEqual(EMITTED_AT);
    });

    it('accepts an issued token, known by its jti and its hash, at its iat', () => {
      const event = accepted(validate(aToken()));
      expect(event.links).toEqual({ digest: DIGEST, tokenIdentity: [`jti:at-1`, `th:${TOKEN_HASH}`] });
      expect(event.occurredAt).toEqual(new Date((SECONDS - 2) * 1000));
    });

    it('accepts a token issued from a parent token, referencing the parent by its keys', () => {
      const event = accepted(validate(aToken({ digest: undefined, jti: undefined, parent: { token_hash: PARENT_HASH }, grant_type: 'refresh_token' })));
      expect(event.links).toEqual({ tokenIdentity: [`th:${TOKEN_HASH}`], tokenReference: { role: 'parent', keys: [`th:${PARENT_HASH}`] } });
    });

    it('accepts an RFC 8693 token type URI', () => {
      expect(validate(aToken({ token_type: 'urn:ietf:params:oauth:token-type:jwt' })).ok).toBe(true);
    });

    it('keeps a jti that looks like a token hash apart from a token hash', () => {
      expect(accepted(validate(aToken({ jti: TOKEN_HASH }))).links.tokenIdentity).toEqual([`jti:${TOKEN_HASH}`, `th:${TOKEN_HASH}`]);
    });

    it('accepts a revocation, referencing the revoked token, at revoked_at', () => {
      const event = accepted(validate(aRevocation()));
      expect(event.links).toEqual({ tokenReference: { role: 'revocation', keys: ['jti:at-1'] } });
      expect(event.occurredAt).toEqual(new Date('2026-11-28T09:59:30Z'));
    });

    it('accepts a tool call, referencing the token it used, at started_at', () => {
      const event = accepted(validate(aToolCall({ token: { jti: 'at-1', token_hash: TOKEN_HASH } })));
      expect(event.links).toEqual({ tokenReference: { role: 'usage', keys: ['jti:at-1', `th:${TOKEN_HASH}`] } });
      expect(event.occurredAt).toEqual(new Date('2026-11-28T09:59:00Z'));
    });

    it('stores what it validated, not the object it was given', () => {
      const given = aToken();
      const event = accepted(validate(given));
      expect(event.data).toEqual(given.data);
      expect(event.data).not.toBe(given.data);
    });
  });

  describe('cross-field rules', () => {
    const { header: _header, request_object: _requestObject, ...plainData } = aVerification().data;

    it.each([
      ['an unsigned request with a header', envelope('request_object.verification', { ...plainData, unsigned: true, header: { alg: 'PS256' } }), 'data.header', 'unsigned_conflict'],
      ['an unsigned request with a request object', envelope('request_object.verification', { ...plainData, unsigned: true, request_object: REQUEST_OBJECT }), 'data.request_object', 'unsigned_conflict'],
      [
        'an unsigned request with encryption',
        envelope('request_object.verification', { ...plainData, unsigned: true, encryption: { alg: 'RSA-OAEP-256', enc: 'A256GCM' } }),
        'data.encryption',
        'unsigned_conflict',
      ],
      ['a signed request without header', envelope('request_object.verification', plainData), 'data.header', 'missing'],
      ['a request marked unsigned: false without header', envelope('request_object.verification', { ...plainData, unsigned: false }), 'data.header', 'missing'],
      ['an inner_digest without encryption', aVerification({ inner_digest: OUTER_DIGEST }), 'data.inner_digest', 'inner_digest_without_encryption'],
      ['delivery by reference without request_uri', aVerification({ delivery: 'reference' }), 'data.request_uri', 'missing'],
      ['an accepted delivery by PAR without request_uri', aVerification({ delivery: 'par' }), 'data.request_uri', 'missing'],
      ['delivery by PAR with a request_uri that is not a PAR URN', aVerification({ delivery: 'par', request_uri: 'https://client.example.org/r' }), 'data.request_uri', 'par_request_uri'],
      ['delivery by value with a request_uri', aVerification({ request_uri: `${PAR_REQUEST_URI_PREFIX}x` }), 'data.request_uri', 'request_uri_with_value'],
      ['a token with neither digest nor parent', aToken({ digest: undefined }), 'data.digest', 'digest_or_parent'],
      ['a token with neither jti nor token_hash', aToken({ jti: undefined, token_hash: undefined }), 'data.jti', 'jti_or_token_hash'],
      ['a token whose exp is before its iat', aToken({ iat: SECONDS, exp: SECONDS - 1 }), 'data.exp', 'exp_before_iat'],
      ['a token whose parent names no token', aToken({ digest: undefined, parent: {} }), 'data.parent', 'token_reference'],
      ['a revocation that names no token', aRevocation({ jti: undefined }), 'data.jti', 'jti_or_token_hash'],
      ['a tool call whose token names no token', aToolCall({ token: {} }), 'data.token', 'token_reference'],
      ['a tool call completed before it started', aToolCall({ started_at: '2026-11-28T10:00:00Z', completed_at: '2026-11-28T09:59:59.999Z' }), 'data.completed_at', 'completed_before_started'],
      ['a digest that is not canonical', aConsent({ digest: `${DIGEST.slice(0, 42)}${DIGEST.endsWith('B') ? 'C' : 'B'}` }), 'data.digest', 'digest_non_canonical'],
    ])('refuses %s, naming the field', (_name, value, field, code) => {
      const problem = refused(validate(JSON.parse(JSON.stringify(value))));
      expect(problem.code).toBe('invalid-event');
      expect(problem.status).toBe(422);
      expect(problem.options.errors).toContainEqual(expect.objectContaining({ field, code }));
    });

    it('accepts a token that expires at the moment it was issued', () => {
      expect(validate(aToken({ iat: SECONDS, exp: SECONDS })).ok).toBe(true);
    });

    it('accepts a tool call completed at the moment it started, comparing instants across offsets', () => {
      expect(validate(aToolCall({ started_at: '2026-11-28T11:00:00+01:00', completed_at: '2026-11-28T10:00:00Z' })).ok).toBe(true);
      expect(validate(aToolCall({ completed_at: undefined })).ok).toBe(true);
    });

    it('accepts a token named by its parent only', () => {
      expect(validate(aToken({ digest: undefined, parent: { jti: 'rt-1' } })).ok).toBe(true);
    });
  });

  describe('minimisation', () => {
    it('replaces the subject of a consent with the pseudonym of the policy', () => {
      const event = accepted(validate(aConsent()));
      expect(event.data).toMatchObject({ subject: keyring.pseudonymOf('alice@example.com') });
      expect(JSON.stringify(event.data)).not.toContain('alice@example.com');
    });

    it('keeps the subject when the policy keeps subjects', () => {
      expect(accepted(validate(aConsent(), { policy: KEEP_SUBJECTS })).data).toMatchObject({ subject: 'alice@example.com' });
    });

    it('drops the request object when request objects are not kept, and nothing else', () => {
      const event = accepted(validate(aVerification(), { policy: DROP_REQUEST_OBJECTS }));
      const { request_object: _dropped, ...rest } = aVerification().data;
      expect(event.data).toEqual(rest);
      expect(event.data).not.toHaveProperty('request_object');
    });

    it('keeps the request object when request objects are kept', () => {
      expect(accepted(validate(aVerification())).data).toMatchObject({ request_object: REQUEST_OBJECT });
    });

    it('fingerprints what the sender said, before minimisation', () => {
      expect(fingerprintOf(aConsent(), { policy: PSEUDONYMIZE })).toBe(fingerprintOf(aConsent(), { policy: KEEP_SUBJECTS }));
      expect(fingerprintOf(aVerification(), { policy: DROP_REQUEST_OBJECTS })).toBe(fingerprintOf(aVerification()));
    });

    it('leaves the envelope it was given untouched', () => {
      const consent = aConsent();
      const verification = aVerification();
      const before = JSON.stringify([consent, verification]);
      validate(consent);
      validate(verification, { policy: DROP_REQUEST_OBJECTS });
      expect(JSON.stringify([consent, verification])).toBe(before);
    });
  });

  describe('the fingerprint', () => {
    it('is the same for the same content with members in another order', () => {
      const value = aVerification();
      const data = value.data as { claims: Data; header: Data };
      const reordered = {
        data: Object.fromEntries(
          Object.entries({ ...value.data, claims: Object.fromEntries(Object.entries(data.claims).reverse()), header: { kid: 'client-key-1', alg: 'PS256' } }).reverse(),
        ),
        timestamp: value.timestamp,
        type: value.type,
      };
      expect(JSON.stringify(reordered)).not.toBe(JSON.stringify(value));
      expect(fingerprintOf(reordered)).toBe(fingerprintOf(value));
    });

    it('does not depend on the event id', () => {
      expect(fingerprintOf(aConsent(), { identity: { deliveryId: 'a' } })).toBe(fingerprintOf(aConsent(), { identity: { deliveryId: 'b' } }));
      expect(fingerprintOf({ ...aConsent(), id: 'c' }, { identity: {} })).toBe(fingerprintOf(aConsent()));
    });

    it.each([
      ['the timestamp', { ...aVerification(), timestamp: '2026-11-28T10:00:01Z' }],
      ['the timestamp written another way for the same instant', { ...aVerification(), timestamp: '2026-11-28T10:00:00.000Z' }],
      ['a top-level data value', aVerification({ verdict: 'rejected' })],
      ['a nested value', aVerification({ header: { alg: 'PS256', kid: 'client-key-2' } })],
      ['a deeply nested value', aVerification({ claims: { ...(aVerification().data.claims as Data), aud: ['https://as.example.com'] } })],
      ['an added optional member', aVerification({ reason: 'ok' })],
      ['a removed optional member', aVerification({ request_object: undefined })],
    ])('changes when %s changes', (_name, changed) => {
      expect(fingerprintOf(JSON.parse(JSON.stringify(changed)))).not.toBe(fingerprintOf(aVerification()));
    });

    it('depends on the master key', () => {
      expect(fingerprintOf(aConsent(), { keys: otherKeyring })).not.toBe(fingerprintOf(aConsent()));
    });
  });

  describe('the event type and the sender kind', () => {
    const cases = Object.entries(SENDER_KIND).flatMap(([type, allowed]) =>
      (['authorization_server', 'token_service', 'agent'] as const).filter((kind) => kind !== allowed).map((kind) => [type, kind, allowed] as const),
    );
    const factories: Record<string, () => Envelope> = {
      'request_object.verification': aVerification,
      'consent.decision': aConsent,
      'token.issued': aToken,
      'token.revoked': aRevocation,
      'tool_call.recorded': aToolCall,
    };

    it.each(cases)('refuses %s from a source of kind %s with a 403 problem', (type, kind, allowed) => {
      const problem = refused(validate(factories[type](), { kind }));
      expect(problem.code).toBe('event-type-not-allowed');
      expect(problem.status).toBe(403);
      expect(problem.options.errors).toEqual([
        { field: 'type', pointer: '/type', code: 'type_not_allowed', detail: `only a ${allowed} source may send this type` },
      ]);
    });

    it('refuses an unknown type with a 422 problem naming the type field', () => {
      const problem = refused(validate(envelope('request_object.verified', aVerification().data)));
      expect(problem.code).toBe('unknown-event-type');
      expect(problem.status).toBe(422);
      expect(problem.options.errors).toEqual([expect.objectContaining({ field: 'type', code: 'unknown_type' })]);
      expect(problem.options.detail).toContain('request_object.verification');
    });

    it('reports an unknown type before looking at its data', () => {
      expect(refused(validate(envelope('made.up', { anything: true }))).code).toBe('unknown-event-type');
    });
  });

  describe('event ids', () => {
    it('takes the event id of a single event from the webhook-id header', () => {
      expect(accepted(validate(aConsent(), { identity: { deliveryId: 'hdr-1' } })).eventId).toBe('hdr-1');
    });

    it('accepts a body id equal to the webhook-id header', () => {
      expect(accepted(validate({ ...aConsent(), id: 'hdr-1' }, { identity: { deliveryId: 'hdr-1' } })).eventId).toBe('hdr-1');
    });

    it('refuses a body id that differs from the webhook-id header', () => {
      const problem = refused(validate({ ...aConsent(), id: 'body-1' }, { identity: { deliveryId: 'hdr-1' } }));
      expect(problem.code).toBe('invalid-event');
      expect(problem.options.errors).toEqual([expect.objectContaining({ field: 'id', code: 'id_mismatch' })]);
    });

    it('takes the event id of a batch item from the item', () => {
      expect(accepted(validate({ ...aConsent(), id: 'item-1' }, { identity: { pathPrefix: [0] } })).eventId).toBe('item-1');
    });

    it('refuses a batch item without id, naming it by its place in the batch', () => {
      const problem = refused(validate(aConsent(), { identity: { pathPrefix: [4] } }));
      expect(problem.code).toBe('invalid-event');
      expect(problem.options.errors).toEqual([{ field: '4.id', pointer: '/4/id', code: 'missing', detail: 'this field is required' }]);
    });

    it('refuses an empty id', () => {
      expect(refused(validate({ ...aConsent(), id: '' }, { identity: {} })).options.errors).toContainEqual(expect.objectContaining({ field: 'id' }));
    });
  });

  describe('the envelope', () => {
    it('refuses an unknown member of the envelope', () => {
      expect(refused(validate({ ...aConsent(), extra: 1 })).options.errors).toEqual([expect.objectContaining({ field: 'extra', code: 'unknown_field' })]);
    });

    it('refuses an envelope without timestamp, naming it missing', () => {
      const { timestamp: _timestamp, ...rest } = aConsent();
      expect(refused(validate(rest)).options.errors).toEqual([expect.objectContaining({ field: 'timestamp', code: 'missing' })]);
    });

    it('refuses a timestamp without an offset', () => {
      expect(refused(validate({ ...aConsent(), timestamp: '2026-11-28T10:00:00' })).options.errors).toEqual([expect.objectContaining({ field: 'timestamp' })]);
    });

    it('accepts a timestamp with a numeric offset', () => {
      expect(accepted(validate({ ...aConsent(), timestamp: '2026-11-28T11:00:00+01:00' })).emittedAt).toEqual(EMITTED_AT);
    });

    it('refuses data that is not an object', () => {
      expect(refused(validate({ ...aConsent(), data: [] })).options.errors).toEqual([expect.objectContaining({ field: 'data', code: 'invalid_type' })]);
    });

    it('refuses a body that is not an object, pointing at the whole document', () => {
      expect(refused(validate('consent.decision')).options.errors).toEqual([expect.objectContaining({ field: '', pointer: '', code: 'invalid_type' })]);
    });

    it('names fields of the data under "data", behind the place of a batch item', () => {
      const problem = refused(validate({ ...aConsent({ decision: 'maybe', extra: true }), id: 'item-2' }, { identity: { pathPrefix: [2] } }));
      expect(problem.options.errors).toEqual(
        expect.arrayContaining([expect.objectContaining({ field: '2.data.decision' }), expect.objectContaining({ field: '2.data.extra', code: 'unknown_field' })]),
      );
    });

    it('refuses data nested too deeply before validating its schema, naming where', () => {
      let deep: Data = {};
      for (let level = 0; level < 20; level += 1) deep = { type: 'x', nested: deep };
      const problem = refused(validate({ ...aVerification({ claims: { authorization_details: [deep] } }), id: 'item-0' }, { identity: { pathPrefix: [0] } }));
      expect(problem.code).toBe('json-too-complex');
      expect(problem.status).toBe(422);
      expect(problem.options.errors).toEqual([expect.objectContaining({ code: 'too_deep', field: expect.stringMatching(/^0\.data\.claims\.authorization_details\.0\.nested/) })]);
    });

    it('refuses an array of more than 256 items', () => {
      const problem = refused(validate(aVerification({ claims: { aud: Array.from({ length: 257 }, (_, index) => `https://rs${index}.example`) } })));
      expect(problem.code).toBe('json-too-complex');
      expect(problem.options.errors).toEqual([expect.objectContaining({ field: 'data.claims.aud', code: 'too_many_items' })]);
    });
  });
});
