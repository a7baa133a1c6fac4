import type { ConsentData } from '../evidence/types/consent-event';
import type { TokenIssuedData, TokenRevokedData } from '../evidence/types/token-events';
import type { ToolCallData } from '../evidence/types/tool-call-event';
import type { VerificationData } from '../evidence/types/verification-event';
import type { Digest, TokenHash } from '../common/crypto/digest';
import type {
  ChainEvidence,
  ClientPolicy,
  ConsentRecord,
  EvidenceConflict,
  EvidenceRecord,
  EvidenceRef,
  IndependentVerdictFacts,
  RevocationRecord,
  TokenRecord,
  ToolCallRecord,
  VerificationRecord,
} from './chain-evidence';
import type { EvaluationContext, RuleOutcome } from './rule';

/**
 * Small factories for the rules' unit specs: a legitimate authorization by default (client `agent-client`, digest
 * DIGEST, signed RS256, accepted and verified, consent for `openid mail.send`, an access token `at-1` for it, a
 * tool call `mail.send` within its lifetime); each spec changes what its rule looks at.
 */
export const DIGEST = 'yBXg3pXbcAS-aHWM1-JosG1tPyTpY6mW4bZPBdtnibs' as Digest;
export const OTHER_DIGEST = 'DrXJdmZi35Ev-kSfbHSLfhOspK3YvuRafHtBKWPzpc0' as Digest;
export const TOKEN_HASH = '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I' as TokenHash;
export const CLIENT_ID = 'agent-client';
/** 2026-11-28T10:00:00Z, when the default authorization begins. */
export const T0 = Date.parse('2026-11-28T10:00:00Z');
export const at = (secondsAfterT0: number) => new Date(T0 + secondsAfterT0 * 1000);
const numericDate = (secondsAfterT0: number) => Math.floor(T0 / 1000) + secondsAfterT0;

let nextSeq = 1;
const seq = () => String(nextSeq++);

interface RecordOptions {
  readonly seq?: string;
  readonly eventId?: string;
  readonly sourceId?: string;
  readonly occurredAt?: Date;
  readonly recordedAt?: Date;
  readonly chains?: readonly string[];
  /** true: the payload was purged (data null). */
  readonly purged?: boolean;
}

function base<Type extends EvidenceRecord['type']>(type: Type, options: RecordOptions, occurredAt: Date) {
  const recordSeq = options.seq ?? seq();
  return {
    seq: recordSeq,
    eventId: options.eventId ?? `evt-${recordSeq}`,
    sourceId: options.sourceId ?? `source-${type.split('.')[0]}`,
    type,
    occurredAt: options.occurredAt ?? occurredAt,
    recordedAt: options.recordedAt ?? new Date((options.occurredAt ?? occurredAt).getTime() + 1000),
    chains: options.chains ?? [DIGEST],
  };
}

export const aVerdict = (overrides: Partial<IndependentVerdictFacts> = {}): IndependentVerdictFacts => ({
  verdict: 'verified',
  mismatch: false,
  reasons: [],
  alg: 'RS256',
  opaque: false,
  ...overrides,
});

export function aVerification(
  data: Partial<VerificationData> = {},
  options: RecordOptions & { readonly independent?: VerificationRecord['independent'] } = {},
): VerificationRecord {
  const full: VerificationData = {
    digest: DIGEST,
    verdict: 'accepted',
    client_id: CLIENT_ID,
    issuer: 'https://as.example.com',
    delivery: 'value',
    header: { alg: 'RS256', kid: 'client-key-1' },
    claims: {
      iss: CLIENT_ID,
      aud: 'https://as.example.com',
      iat: numericDate(0),
      exp: numericDate(300),
      jti: 'ro-jti-1',
      response_type: 'code',
      redirect_uri: 'https://agent.example.com/cb',
      scope: 'openid mail.send',
    },
    ...data,
  };
  return { ...base('request_object.verification', options, at(0)), data: options.purged ? null : full, independent: options.independent === undefined ? aVerdict() : options.independent };
}

export function aConsent(data: Partial<ConsentData> = {}, options: RecordOptions = {}): ConsentRecord {
  const full: ConsentData = { digest: DIGEST, decision: 'approved', subject: 'subject-pseudonym-1', granted: { scope: 'openid mail.send' }, ...data };
  return { ...base('consent.decision', options, at(20)), data: options.purged ? null : full };
}

export function aToken(data: Partial<TokenIssuedData> = {}, options: RecordOptions = {}): TokenRecord {
  const full: TokenIssuedData = {
    digest: DIGEST,
    token_type: 'access',
    jti: 'at-1',
    scope: 'mail.send',
    aud: 'https://mail.example.com',
    iat: numericDate(22),
    exp: numericDate(3622),
    grant_type: 'authorization_code',
    ...data,
  };
  return { ...base('token.issued', options, new Date(full.iat * 1000)), data: options.purged ? null : full };
}

export function aRevocation(data: Partial<TokenRevokedData> = {}, options: RecordOptions = {}): RevocationRecord {
  const full: TokenRevokedData = { jti: 'at-1', revoked_at: at(1800).toISOString(), ...data };
  return { ...base('token.revoked', options, new Date(full.revoked_at)), data: options.purged ? null : full };
}

export function aToolCall(data: Partial<ToolCallData> = {}, options: RecordOptions = {}): ToolCallRecord {
  const full: ToolCallData = {
    call_id: 'call-1',
    agent_id: 'mail-agent',
    token: { jti: 'at-1' },
    tool: 'mail',
    action: 'send',
    resource: 'https://mail.example.com',
    started_at: at(65).toISOString(),
    completed_at: at(66).toISOString(),
    outcome: 'succeeded',
    ...data,
  };
  return { ...base('tool_call.recorded', options, new Date(full.started_at)), data: options.purged ? null : full };
}

export const aConflict = (original: EvidenceRecord, overrides: Partial<EvidenceConflict> = {}): EvidenceConflict => ({
  seq: seq(),
  eventId: original.eventId,
  sourceId: original.sourceId,
  type: original.type,
  recordedAt: new Date(original.recordedAt.getTime() + 5000),
  originalSeq: original.seq,
  ...overrides,
});

export const aClient = (overrides: Partial<ClientPolicy> = {}): ClientPolicy => ({
  clientId: CLIENT_ID,
  signingAlgs: ['RS256', 'ES256'],
  requireSignedRequestObject: true,
  requireEncryptedRequestObject: false,
  highImpactScopes: [],
  highImpactAuthorizationDetailsTypes: [],
  sensitiveScopes: [],
  sensitiveAuthorizationDetailsTypes: [],
  redirectUris: ['https://agent.example.com/cb'],
  maxRequestObjectLifetime: 3600,
  ...overrides,
});

/** The default legitimate authorization, every record in chain DIGEST. */
export const aLegitimateChain = (): EvidenceRecord[] => [aVerification(), aConsent(), aToken(), aToolCall()];

export function aChain(
  records: readonly EvidenceRecord[],
  extra: { readonly digest?: string | null; readonly related?: readonly EvidenceRecord[]; readonly conflicts?: readonly EvidenceConflict[]; readonly clients?: readonly ClientPolicy[] } = {},
): ChainEvidence {
  const clients = extra.clients ?? [aClient()];
  return {
    digest: extra.digest === undefined ? DIGEST : extra.digest,
    records,
    related: extra.related ?? [],
    conflicts: extra.conflicts ?? [],
    clients: new Map(clients.map((client) => [client.clientId, client])),
  };
}

/** Evaluated one hour after T0 with the default ten-minute grace, unless told otherwise. */
export const aContext = (overrides: Partial<EvaluationContext> = {}): EvaluationContext => ({ now: at(3600), orphanGraceMs: 600_000, ...overrides });

/** One order the chain's evidence could have arrived in: what the rules see then, and how to read their answer back. */
export interface Arrival {
  readonly order: 'reversed' | 'shuffled';
  readonly chain: ChainEvidence;
  /**
   * A rule's outcome on `chain` as on the original: each evidence seq put back to the seq its record has in the
   * original chain, and the findings in rule and key order (a finding is stored by rule and key, not by position).
   */
  readonly asOriginal: (outcome: RuleOutcome) => RuleOutcome;
}

/** A fixed shuffle, so a failure reproduces. */
function shuffled<T>(items: readonly T[]): T[] {
  const result = [...items];
  for (let i = result.length - 1; i > 0; i--) {
    const j = (i * 7 + 3) % (i + 1);
    [result[i], result[j]] = [result[j]!, result[i]!];
  }
  return result;
}

/** A rule's outcome with its findings in rule and key order: compare it with another order's. */
export const byRuleAndKey = (outcome: RuleOutcome): RuleOutcome => ({
  ...outcome,
  findings: [...outcome.findings].sort((a, b) => (a.rule + '\u0000' + a.key < b.rule + '\u0000' + b.key ? -1 : a.rule + '\u0000' + a.key > b.rule + '\u0000' + b.key ? 1 : 0)),
});

function arriving(chain: ChainEvidence, order: Arrival['order']): Arrival {
  const own = new Set(chain.records.map((record) => record.seq));
  const all = [...chain.records, ...chain.related.filter((record) => !own.has(record.seq))];
  const line = order === 'reversed' ? [...all].reverse() : shuffled(all);
  // jartrail numbers records as it commits them: each gets the seq and recordedAt of its place in the new line, after
  // every record occurred (delivered late, in this order). What the senders said stays as it was.
  const start = Math.max(0, ...all.flatMap((record) => [record.occurredAt.getTime(), record.recordedAt.getTime()]));
  const originalSeqOf = new Map<string, string>();
  const arrived = new Map<string, EvidenceRecord>();
  line.forEach((record, index) => {
    const arrivalSeq = seq();
    originalSeqOf.set(arrivalSeq, record.seq);
    arrived.set(record.seq, { ...record, seq: arrivalSeq, recordedAt: new Date(start + (index + 1) * 1000) } as EvidenceRecord);
  });
  const inLine = line.map((record) => arrived.get(record.seq)!);
  const conflicts = shuffled(chain.conflicts).map((conflict) => {
    const original = arrived.get(conflict.originalSeq);
    // A conflicting body is refused under the event id of a record already committed: it comes after that record.
    return original ? { ...conflict, originalSeq: original.seq, recordedAt: new Date(original.recordedAt.getTime() + 500) } : conflict;
  });
  const originalRef = (ref: EvidenceRef): EvidenceRef => (ref.kind === 'event' ? { ...ref, seq: originalSeqOf.get(ref.seq) ?? ref.seq } : ref);
  return {
    order,
    chain: {
      ...chain,
      // The repository lists a chain's records by seq: in the order they arrived.
      records: inLine.filter((record) => own.has(originalSeqOf.get(record.seq)!)),
      related: inLine.filter((record) => !own.has(originalSeqOf.get(record.seq)!)),
      conflicts,
    },
    asOriginal: (outcome) => byRuleAndKey({ ...outcome, findings: outcome.findings.map((finding) => ({ ...finding, evidence: finding.evidence.map(originalRef) })) }),
  };
}

/**
 * The same evidence delivered in reverse and in a fixed shuffle, as jartrail would have recorded it: the chain's
 * records and the related records of other chains arrive in the new order with the seqs and recording times of that
 * order, and the 409 conflicts are listed shuffled behind the records they contradict. A rule must give the same
 * findings for each (Arrival.asOriginal) as for the chain in its original order (byRuleAndKey).
 */
export function reordered(chain: ChainEvidence): Arrival[] {
  return [arriving(chain, 'reversed'), arriving(chain, 'shuffled')];
}
