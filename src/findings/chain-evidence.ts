import { recordsOfType } from '../evidence/evidence-record';
import type { EvidenceRecord } from '../evidence/event-types';
import { consentDecisionEvent } from '../evidence/types/consent-event';
import { tokenIssuedEvent, tokenRevokedEvent } from '../evidence/types/token-events';
import { toolCallRecordedEvent } from '../evidence/types/tool-call-event';
import { requestObjectVerificationEvent } from '../evidence/types/verification-event';

// The records the rules read are the evidence core's typed views, one per event type (evidence/types/*.ts).
export type { EvidenceRecord } from '../evidence/event-types';
export type { ConsentRecord } from '../evidence/types/consent-event';
export type { RevocationRecord, TokenRecord } from '../evidence/types/token-events';
export type { ToolCallRecord } from '../evidence/types/tool-call-event';
export type { IndependentVerdictFacts, VerificationRecord } from '../evidence/types/verification-event';

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
  /** Its requests must travel encrypted (a JWE): the encryption counterpart of requireSignedRequestObject. */
  readonly requireEncryptedRequestObject: boolean;
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

export const verificationsOf = (records: readonly EvidenceRecord[]) => recordsOfType(records, requestObjectVerificationEvent);
export const consentsOf = (records: readonly EvidenceRecord[]) => recordsOfType(records, consentDecisionEvent);
export const tokensOf = (records: readonly EvidenceRecord[]) => recordsOfType(records, tokenIssuedEvent);
export const revocationsOf = (records: readonly EvidenceRecord[]) => recordsOfType(records, tokenRevokedEvent);
export const toolCallsOf = (records: readonly EvidenceRecord[]) => recordsOfType(records, toolCallRecordedEvent);
