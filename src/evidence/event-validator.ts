import { canonicalJson } from '../common/canonical-json';
import { z } from 'zod';
import { linksOf, type RecordLinks } from './record-links';
import type { Keyring } from '../common/crypto/keyring';
import { EVENT_JSON_LIMITS, findJsonLimitViolation } from '../common/json-limits';
import { fieldError, ProblemException } from '../common/problem/problem';
import { fieldErrorsFromIssues } from '../common/problem/schema-issues';
import { findUnstorableText } from '../common/storable-text';
import { dateTime } from '../common/schema/oauth-fields';
import type { SourceKind } from '../sources/source-kind';
import type { EventTypeDefinition, MinimizationPolicy } from './event-type-definition';
import { EVENT_TYPES } from './event-types';
import { EVENT_ID } from './event-id';

/** An event that passed every check and is ready to be recorded. */
export interface ValidatedEvent {
  readonly eventId: string;
  readonly type: string;
  readonly emittedAt: Date;
  readonly occurredAt: Date;
  /** The `data` to store: validated, then minimised. */
  readonly data: object;
  /** Keyed hash of the canonical envelope as received; equal fingerprints mean the same delivery. */
  readonly fingerprint: Buffer;
  readonly links: RecordLinks;
  /** Set for events jartrail verifies again itself: queued in the same transaction. */
  readonly independentVerification?: { readonly requestObject: string | undefined };
}

export type EventOutcome = { readonly ok: true; readonly event: ValidatedEvent } | { readonly ok: false; readonly problem: ProblemException };

/** The Standard Webhooks envelope; `id` is the event id, required in a batch and optional for a single event. */
export const envelopeSchema = z.strictObject({
  // The same rule as webhook-id: a batch item's id is the event id all the same.
  id: z
    .string()
    .refine((id) => EVENT_ID.test(id), { message: 'must be 1 to 256 printable ASCII characters without spaces or dots, as webhook-id', params: { code: 'malformed' } })
    .optional(),
  type: z.string().min(1).max(128),
  timestamp: dateTime,
  data: z.record(z.string(), z.unknown()),
});

export interface ValidationContext {
  readonly sourceKind: SourceKind;
  readonly minimization: MinimizationPolicy;
  readonly keyring: Keyring;
}

export interface EnvelopeIdentity {
  /** The event id from `webhook-id`, for a single event; a batch item has to carry its own `id`. */
  readonly deliveryId?: string;
  /** Where the envelope sits in a batch, for the field paths of its errors. */
  readonly pathPrefix?: readonly (string | number)[];
}

/**
 * Checks one parsed envelope completely, without I/O: size and nesting, envelope shape, event type, whether the
 * source's kind may send it, the type's data schema; then fingerprints and minimises it.
 */
export function validateEvent(envelope: unknown, context: ValidationContext, identity: EnvelopeIdentity = {}): EventOutcome {
  const prefix = identity.pathPrefix ?? [];
  const fail = (problem: ProblemException): EventOutcome => ({ ok: false, problem });

  const tooComplex = findJsonLimitViolation(envelope, EVENT_JSON_LIMITS, prefix);
  if (tooComplex) return fail(new ProblemException('json-too-complex', { detail: tooComplex.detail, errors: [tooComplex] }));
  // Anywhere in the envelope, before the schemas: PostgreSQL would refuse the whole transaction, not this event.
  const unstorable = findUnstorableText(envelope, prefix);
  if (unstorable) return fail(new ProblemException('unstorable-text', { detail: `${unstorable.field || 'the body'} ${unstorable.detail}`, errors: [unstorable] }));

  const parsed = envelopeSchema.safeParse(envelope);
  if (!parsed.success) {
    return fail(
      new ProblemException('invalid-event', {
        detail: 'the envelope must be {"type", "timestamp", "data"} (and "id" in a batch)',
        errors: fieldErrorsFromIssues(parsed.error.issues, envelope, prefix),
      }),
    );
  }
  const { id, type, timestamp, data } = parsed.data;

  const eventId = identity.deliveryId ?? id;
  if (eventId === undefined) {
    return fail(new ProblemException('invalid-event', { detail: 'each event of a batch carries its id', errors: [fieldError([...prefix, 'id'], 'missing', 'this field is required')] }));
  }
  if (identity.deliveryId !== undefined && id !== undefined && id !== identity.deliveryId) {
    return fail(
      new ProblemException('invalid-event', {
        detail: 'the body id differs from the webhook-id header',
        errors: [fieldError([...prefix, 'id'], 'id_mismatch', 'must equal the webhook-id header')],
      }),
    );
  }

  const definition: EventTypeDefinition | undefined = EVENT_TYPES.get(type);
  if (!definition) {
    return fail(
      new ProblemException('unknown-event-type', {
        detail: `"${type}" is not one of ${[...EVENT_TYPES.keys()].join(', ')}`,
        errors: [fieldError([...prefix, 'type'], 'unknown_type', 'is not a known event type')],
      }),
    );
  }
  if (definition.senderKind !== context.sourceKind) {
    return fail(
      new ProblemException('event-type-not-allowed', {
        detail: `a source of kind ${context.sourceKind} may not send ${type} (only a ${definition.senderKind} may)`,
        errors: [fieldError([...prefix, 'type'], 'type_not_allowed', `only a ${definition.senderKind} source may send this type`)],
      }),
    );
  }

  const validated = definition.data.safeParse(data);
  if (!validated.success) {
    return fail(
      new ProblemException('invalid-event', {
        detail: `the data does not match the ${type} schema`,
        errors: fieldErrorsFromIssues(validated.error.issues, data, [...prefix, 'data']),
      }),
    );
  }

  const emittedAt = new Date(timestamp);
  // The fingerprint covers what the sender said, before minimisation; the event id is the key, not part of the body.
  const fingerprint = context.keyring.fingerprintOf(canonicalJson({ type, timestamp, data }));
  return {
    ok: true,
    event: {
      eventId,
      type,
      emittedAt,
      occurredAt: definition.occurredAt(validated.data, emittedAt),
      data: definition.minimize(validated.data, context.minimization),
      fingerprint,
      links: linksOf(definition.links, validated.data),
      ...(definition.independentVerification && { independentVerification: definition.independentVerification(validated.data) }),
    },
  };
}
