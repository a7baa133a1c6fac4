import type { StoredChain, StoredRecord } from './chains.repository';
import { summaryOf, toChainDocument, toRecordView } from './chain-document';

const DIGEST = 'ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0';
const TOKEN_HASH = 'fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo';

let sequence = 0;

function aRecord(type: string, data: Record<string, unknown>, overrides: Partial<StoredRecord> = {}): StoredRecord {
  sequence += 1;
  const occurredAt = new Date(Date.UTC(2026, 10, 28, 10, 0, sequence));
  return {
    seq: String(sequence),
    eventId: `evt-${sequence}`,
    sourceId: 'src-as',
    sourceName: 'as.example',
    type,
    emittedAt: new Date(occurredAt.getTime() + 500),
    occurredAt,
    recordedAt: new Date(occurredAt.getTime() + 1000),
    data,
    ...overrides,
  };
}

const aVerification = (data: Record<string, unknown> = {}) =>
  aRecord('request_object.verification', {
    digest: DIGEST,
    verdict: 'accepted',
    client_id: 'client-1',
    issuer: 'https://as.example',
    delivery: 'par',
    request_uri: 'urn:ietf:params:oauth:request_uri:abc',
    header: { alg: 'PS256', kid: 'k1' },
    claims: {},
    ...data,
  });
const aConsent = (data: Record<string, unknown> = {}) =>
  aRecord('consent.decision', { digest: DIGEST, decision: 'approved', subject: 'psn:abc', granted: { scope: 'tools:read' }, ...data });
const aToken = (data: Record<string, unknown> = {}) =>
  aRecord('token.issued', { digest: DIGEST, token_type: 'access', jti: 'tok-1', iat: 1_800_000_000, exp: 1_800_000_600, ...data }, { sourceName: 'tokens.example' });
const aRevocation = (data: Record<string, unknown> = {}) =>
  aRecord('token.revoked', { jti: 'tok-1', revoked_at: '2026-11-28T11:00:00Z', ...data }, { sourceName: 'tokens.example' });
const aToolCall = (data: Record<string, unknown> = {}) =>
  aRecord(
    'tool_call.recorded',
    { call_id: 'call-1', agent_id: 'agent-7', token: { jti: 'tok-1' }, tool: 'calendar', action: 'create_event', started_at: '2026-11-28T10:30:00Z', outcome: 'succeeded', ...data },
    { sourceName: 'agent.example' },
  );

function aChain(records: readonly StoredRecord[], options: { unsigned?: boolean } = {}): StoredChain {
  return { digest: DIGEST, createdAt: new Date('2026-11-28T09:59:59.123Z'), aliases: ['inner-digest'], unsigned: options.unsigned ?? false, records };
}

describe('the chain document', () => {
  it('sorts records into their sections, keeping their order', () => {
    const verification = aVerification();
    const consent = aConsent();
    const access = aToken();
    const refresh = aToken({ token_type: 'refresh', jti: 'tok-2' });
    const revocation = aRevocation();
    const call = aToolCall();
    const document = toChainDocument(aChain([verification, consent, access, refresh, revocation, call]));

    expect(document.digest).toBe(DIGEST);
    expect(document.aliases).toEqual(['inner-digest']);
    expect(document.first_recorded_at).toBe('2026-11-28T09:59:59.123Z');
    expect(document.request_object.verifications.map((view) => view.event_id)).toEqual([verification.eventId]);
    expect(document.consents.map((view) => view.event_id)).toEqual([consent.eventId]);
    expect(document.tokens.map((view) => view.event_id)).toEqual([access.eventId, refresh.eventId]);
    expect(document.revocations.map((view) => view.event_id)).toEqual([revocation.eventId]);
    expect(document.tool_calls.map((view) => view.event_id)).toEqual([call.eventId]);
    expect(document.timeline.map((entry) => entry.event_id)).toEqual([verification, consent, access, refresh, revocation, call].map((record) => record.eventId));
  });

  it('orders records of one whole second causally, and keeps the given order of records of one rank', () => {
    const second = new Date('2026-11-28T10:00:22Z');
    const at = (milliseconds: number) => ({ occurredAt: new Date(second.getTime() + milliseconds) });
    const token = aRecord('token.issued', { digest: DIGEST, token_type: 'access', jti: 'tok-1', iat: second.getTime() / 1000, exp: 1_900_000_000 }, at(0));
    const call = aRecord('tool_call.recorded', { call_id: 'c', agent_id: 'a', token: { jti: 'tok-1' }, tool: 't', action: 'x', started_at: '', outcome: 'succeeded' }, at(100));
    const verification = aRecord('request_object.verification', { digest: DIGEST, verdict: 'accepted', client_id: 'c', delivery: 'value', header: { alg: 'ES256' } }, at(300));
    const consent = aRecord('consent.decision', { digest: DIGEST, decision: 'approved', subject: 'psn:x' }, at(600));
    const revocation = aRecord('token.revoked', { jti: 'tok-1', revoked_at: '' }, at(650));
    const nextSecond = aRecord('consent.decision', { digest: DIGEST, decision: 'denied', subject: 'psn:x' }, at(1000));
    const document = toChainDocument(aChain([token, call, verification, consent, revocation, nextSecond]));
    expect(document.timeline.map((entry) => entry.event_id)).toEqual([verification, consent, token, call, revocation, nextSecond].map((record) => record.eventId));
  });

  it('shows each record with its source, times in ISO 8601 UTC and its stored data', () => {
    const record = aConsent();
    expect(toRecordView(record)).toEqual({
      event_id: record.eventId,
      source: { id: 'src-as', name: 'as.example' },
      type: 'consent.decision',
      occurred_at: record.occurredAt.toISOString(),
      emitted_at: record.emittedAt.toISOString(),
      recorded_at: record.recordedAt.toISOString(),
      data: record.data,
    });
    expect(toRecordView(record).occurred_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('is a complete document for a chain that has only tokens so far (records arriving out of order)', () => {
    const document = toChainDocument(aChain([aToken()]));
    expect(document.request_object.verifications).toEqual([]);
    expect(document.consents).toEqual([]);
    expect(document.unsigned).toBe(false);
    expect(document.timeline).toHaveLength(1);
  });

  it('leaves out of every section a record of a type it does not know, but keeps it in the timeline', () => {
    const document = toChainDocument(aChain([aRecord('future.type', {})]));
    expect([document.consents, document.tokens, document.revocations, document.tool_calls, document.request_object.verifications]).toEqual([[], [], [], [], []]);
    expect(document.timeline).toEqual([expect.objectContaining({ type: 'future.type', summary: 'future.type' })]);
  });

  describe('unsigned', () => {
    // The rule (a plain request, or alg "none") is applied by the linker when a record joins the chain, and kept as a
    // facet; test/chains/unsigned-after-purge.spec.ts checks it against PostgreSQL. The document only shows it.
    it('shows the flag the linker wrote, also once retention purged the report it came from', () => {
      const purged = { ...aVerification({ unsigned: true, header: undefined }), data: null };
      expect(toChainDocument(aChain([purged], { unsigned: true })).unsigned).toBe(true);
    });

    it('does not derive it again from the payloads', () => {
      expect(toChainDocument(aChain([aVerification({ header: { alg: 'none' } })], { unsigned: false })).unsigned).toBe(false);
    });
  });

  describe('timeline entries', () => {
    it('carry the time, type, event id and source name of the record', () => {
      const record = aToolCall();
      expect(toChainDocument(aChain([record])).timeline).toEqual([
        {
          occurred_at: record.occurredAt.toISOString(),
          type: 'tool_call.recorded',
          event_id: record.eventId,
          source: 'agent.example',
          summary: 'agent agent-7 called calendar.create_event: succeeded',
        },
      ]);
    });
  });
});

describe('summaryOf', () => {
  it.each([
    [
      'an accepted signed request object',
      aVerification(),
      'as.example accepted the request object (PS256) of client client-1, delivered by par',
    ],
    [
      'a rejected encrypted request object with its reason',
      aVerification({ verdict: 'rejected', reason: 'expired', encryption: { alg: 'RSA-OAEP-256', enc: 'A256GCM' } }),
      'as.example rejected the request object (PS256, encrypted RSA-OAEP-256/A256GCM) of client client-1, delivered by par: expired',
    ],
    [
      'a plain authorization request',
      aVerification({ unsigned: true, header: undefined, delivery: 'value' }),
      'as.example accepted the plain (unsigned) authorization request of client client-1, delivered by value',
    ],
    ['a consent with a granted scope', aConsent(), 'consent approved by subject psn:abc for scope "tools:read"'],
    ['a denied consent', aConsent({ decision: 'denied', granted: undefined }), 'consent denied by subject psn:abc'],
    ['an access token named by jti', aToken({ scope: 'tools:read' }), 'access token issued (jti tok-1), scope "tools:read"'],
    [
      'a refreshed token named by hash, with its parent and grant type',
      aToken({ token_type: 'refresh', jti: undefined, token_hash: TOKEN_HASH, parent: { jti: 'tok-0' }, grant_type: 'refresh_token' }),
      'refresh token issued (hash fUHyO2r2Z3DZ…) from parent jti tok-0 by refresh_token',
    ],
    ['a revocation with its reason', aRevocation({ reason: 'user logout' }), 'token jti tok-1 revoked: user logout'],
    ['a revocation named by hash', aRevocation({ jti: undefined, token_hash: TOKEN_HASH }), 'token hash fUHyO2r2Z3DZ… revoked'],
    [
      'a tool call with a side effect',
      aToolCall({ outcome: 'failed', side_effect: { kind: 'email', reference: 'msg-9' } }),
      'agent agent-7 called calendar.create_event: failed, side effect email msg-9',
    ],
  ])('tells %s in one line', (_name, record, expected) => {
    expect(summaryOf(record)).toBe(expected);
  });

  it('falls back to the type of a record it does not know', () => {
    expect(summaryOf(aRecord('future.type', { anything: 1 }))).toBe('future.type');
  });
});
