import { consentDecisionEvent } from './types/consent-event';
import { requestObjectVerificationEvent } from './types/verification-event';
import { tokenIssuedEvent, tokenRevokedEvent } from './types/token-events';
import { toolCallRecordedEvent } from './types/tool-call-event';
import type { EventTypeDefinition } from './event-type-definition';

/** The five event types of the ingest contract (SPEC "Ingest"). */
export const EVENT_TYPES: ReadonlyMap<string, EventTypeDefinition> = new Map(
  ([requestObjectVerificationEvent, consentDecisionEvent, tokenIssuedEvent, tokenRevokedEvent, toolCallRecordedEvent] as EventTypeDefinition[]).map(
    (definition) => [definition.type, definition],
  ),
);

export const EVENT_TYPE_NAMES = [...EVENT_TYPES.keys()];
