import type { ConsentData } from '../evidence/types/consent-event';
import type { TokenIssuedData, TokenRevokedData } from '../evidence/types/token-events';
import type { ToolCallData } from '../evidence/types/tool-call-event';
import type { VerificationData } from '../evidence/types/verification-event';

/**
 * What the finding rules read: one chain's records as stored, jartrail's own verdicts on its verifications, the
 * conflicting bodies kept against its records, the records of other chains that share a key with it (a replayed
 * `request_uri`, a reused request-object `jti`, a reused `call_id`), and the registrations of the clients it names.
 * Plain data, no I/O: the rules are pure functions of it (rules/*.ts), tested alone.
 */
export interface ChainEvidence {
  /** null for a loose record: one that joined no chain (a tool call whose token is unknown, ...). */
  readonly digest: string | null;
  readonly records: readonly EvidenceRecord[];
  /** Records of other chains sharing a replay or natural key with this chain's records (never one of `records`). */
  readonly related: readonly EvidenceRecord[];
  readonly conflicts: readonly EvidenceConflict[];
  /** By client_id; a client the chain names but nobody registered is absent. */
  readonly clients: ReadonlyMap<string, ClientPolicy>;
}

interface StoredEvent<Type extends string, Data> {
  /** events.seq: the evidence reference, turned into a ledger seq when shown. */
  readonly seq: string;
  readonly eventId: string;
  readonly sourceId: string;
  readonly type: Type;
  /** When the recorded thing happened (the type's occurredAt). */
  readonly occurredAt: Date;
  /** When jartrail committed it. */
  readonly recordedAt: Date;
  /** null once retention purged the payload: a rule cannot read it and must not fire on its absence. */
  readonly data: Data | null;
  /** The chains the record belongs to (empty for a loose record). */
  readonly chains: readonly string[];
}

export type VerificationRecord = StoredEvent<'request_object.verification', VerificationData> & {
  /** jartrail's own verdict; `pending` while queued; null when never queued (nothing to verify was kept). */
  readonly independent: IndependentVerdictFacts | 'pending' | null;
};
export type ConsentRecord = StoredEvent<'consent.decision', ConsentData>;
export type TokenRecord = StoredEvent<'token.issued', TokenIssuedData>;
export type RevocationRecord = StoredEvent<'token.revoked', TokenRevokedData>;
export type ToolCallRecord = StoredEvent<'tool_call.recorded', ToolCallData>;

export type EvidenceRecord = VerificationRecord | ConsentRecord | TokenRecord | RevocationRecord | ToolCallRecord;

export interface IndependentVerdictFacts {
  readonly verdict: 'verified' | 'rejected' | 'unverifiable' | 'not_verifiable';
  /** The AS accepted what jartrail rejects, or rejected what jartrail verified. */
  readonly mismatch: boolean;
  /** Reason codes (request-objects/verification/reasons.ts), e.g. `alg_not_allowed`, `lifetime_exceeded`. */
  readonly reasons: readonly { readonly code: string; readonly detail: string }[];
  /** The signing algorithm jartrail found in the object's header (null when it could not read one). */
  readonly alg: string | null;
  /** Encrypted and not decrypted: only the AS's word about what is inside. */
  readonly opaque: boolean;
}

/** A body refused with 409 under the event id of one of the chain's records, kept as evidence. */
export interface EvidenceConflict {
  /** event_conflicts.seq */
  readonly seq: string;
  readonly eventId: string;
  readonly sourceId: string;
  readonly type: string;
  readonly recordedAt: Date;
  /** events.seq of the record it contradicts. */
  readonly originalSeq: string;
}

/** The parts of a client's registration (request-objects/client.entity.ts) the rules judge against. */
export interface ClientPolicy {
  readonly clientId: string;
  /** The pinned request-object signing algorithms. */
  readonly signingAlgs: readonly string[];
  readonly requireSignedRequestObject: boolean;
  readonly highImpactScopes: readonly string[];
  readonly highImpactAuthorizationDetailsTypes: readonly string[];
  /** Scopes and authorization_details types whose requests must travel encrypted. */
  readonly sensitiveScopes: readonly string[];
  readonly sensitiveAuthorizationDetailsTypes: readonly string[];
  /** The registered redirect URIs; empty: none registered, so `redirect_uri_unregistered` cannot judge. */
  readonly redirectUris: readonly string[];
  /** Seconds a request object may be valid for: exp minus nbf (or iat). */
  readonly maxRequestObjectLifetime: number;
}

/** Pointer to a record that proves a finding: an event, or a conflicting body kept as evidence. */
export interface EvidenceRef {
  readonly kind: 'event' | 'conflict';
  /** events.seq or event_conflicts.seq */
  readonly seq: string;
}

export const eventRef = (record: { readonly seq: string }): EvidenceRef => ({ kind: 'event', seq: record.seq });

export const verificationsOf = (records: readonly EvidenceRecord[]) =>
  records.filter((record): record is VerificationRecord => record.type === 'request_object.verification');
export const consentsOf = (records: readonly EvidenceRecord[]) => records.filter((record): record is ConsentRecord => record.type === 'consent.decision');
export const tokensOf = (records: readonly EvidenceRecord[]) => records.filter((record): record is TokenRecord => record.type === 'token.issued');
export const revocationsOf = (records: readonly EvidenceRecord[]) => records.filter((record): record is RevocationRecord => record.type === 'token.revoked');
export const toolCallsOf = (records: readonly EvidenceRecord[]) => records.filter((record): record is ToolCallRecord => record.type === 'tool_call.recorded');
