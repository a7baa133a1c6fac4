import { type ConsentRecord, consentDecisionEvent } from './types/consent-event';
import { requestObjectVerificationEvent, type VerificationRecord } from './types/verification-event';
import { type RevocationRecord, tokenIssuedEvent, tokenRevokedEvent, type TokenRecord } from './types/token-events';
import { toolCallRecordedEvent, type ToolCallRecord } from './types/tool-call-event';
import type { EventTypeDefinition } from './event-type-definition';
import { VERDICT_FACET_NAMES } from './facets';

/** The five event types of the ingest contract (SPEC "Ingest"). */
export const EVENT_TYPES: ReadonlyMap<string, EventTypeDefinition> = new Map(
  ([requestObjectVerificationEvent, consentDecisionEvent, tokenIssuedEvent, tokenRevokedEvent, toolCallRecordedEvent] as EventTypeDefinition[]).map(
    (definition) => [definition.type, definition],
  ),
);

export const EVENT_TYPE_NAMES = [...EVENT_TYPES.keys()];

/** A stored record of any of the types, told apart by `type`. */
export type EvidenceRecord = VerificationRecord | ConsentRecord | TokenRecord | RevocationRecord | ToolCallRecord;

/** The facets records bring to their chains by their types' declarations. */
export const EVENT_FACET_NAMES: readonly string[] = [...new Set([...EVENT_TYPES.values()].flatMap((definition) => definition.facets.map((facet) => facet.name)))];

/** Every facet a chain can hold: those the types declare, and those of jartrail's own verdicts. */
export const FACET_NAMES: readonly string[] = [...EVENT_FACET_NAMES, ...VERDICT_FACET_NAMES];
