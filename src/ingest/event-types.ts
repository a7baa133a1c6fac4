import { consentDecisionEvent } from '../consents/consent-event';
import { requestObjectVerificationEvent } from '../request-objects/verification-event';
import { tokenIssuedEvent, tokenRevokedEvent } from '../tokens/token-events';
import { toolCallRecordedEvent } from '../tool-calls/tool-call-event';
import type { EventTypeDefinition } from './event-type-definition';

/** The five event types of the ingest contract (SPEC "Ingest"). */
export const EVENT_TYPES: ReadonlyMap<string, EventTypeDefinition> = new Map(
  ([requestObjectVerificationEvent, consentDecisionEvent, tokenIssuedEvent, tokenRevokedEvent, toolCallRecordedEvent] as EventTypeDefinition[]).map(
    (definition) => [definition.type, definition],
  ),
);

export const EVENT_TYPE_NAMES = [...EVENT_TYPES.keys()];
