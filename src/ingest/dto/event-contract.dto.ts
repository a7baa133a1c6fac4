import type { SchemaObject } from '@nestjs/swagger';
import { z } from 'zod';
import type { EventTypeDefinition } from '../../evidence/event-type-definition';
import { EVENT_TYPES } from '../../evidence/event-types';
import { EVENT_ID } from '../../evidence/event-id';
import { envelopeSchema } from '../../evidence/event-validator';
import { identifier, numericDate } from '../../common/schema/oauth-fields';
import { SET_EVENT_URN_PREFIX, setEventUrnOf } from '../security-event-token';

/**
 * The ingest contract as schemas for the OpenAPI document, built from the schemas that validate it: each event
 * type's `data` schema and the envelope around it. Nothing here is written twice; what JSON Schema cannot say (the
 * cross-field rules of a type, such as "a token names its digest or its parent") the service still checks, and
 * its problem details name the field.
 */

/** `token.issued` → `TokenIssued`: component names that read well as generated TypeScript types. */
const pascalCase = (type: string) =>
  type
    .split(/[._]/)
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');

interface TypedSchemas {
  readonly definition: EventTypeDefinition;
  readonly data: z.ZodType;
  readonly envelope: z.ZodType;
}

// Built once: a schema id is registered globally, and the document is built again by every app.
const typed: readonly TypedSchemas[] = [...EVENT_TYPES.values()].map((definition) => {
  const data = definition.data.meta({ id: `${pascalCase(definition.type)}Data`, description: `The data of a ${definition.type} event` });
  const envelope = envelopeSchema
    .extend({
      id: envelopeSchema.shape.id.meta({
        pattern: EVENT_ID.source,
        description: 'The event id: required in a batch; for one event the webhook-id header is the id, and this, if present, must equal it',
      }),
      type: z.literal(definition.type),
      data,
    })
    .meta({ id: `${pascalCase(definition.type)}Event`, description: `A ${definition.type} event; only a source of kind ${definition.senderKind} may send it` });
  return { definition, data, envelope };
});

/** One event: a Standard Webhooks envelope whose `type` selects the schema of its `data`. */
export const eventSchema = z
  .discriminatedUnion(
    'type',
    typed.map(({ envelope }) => envelope) as unknown as [z.ZodObject, ...z.ZodObject[]],
  )
  .meta({
    id: 'Event',
    description: 'A Standard Webhooks envelope {"type", "timestamp", "data"}; the type selects the schema of data',
    discriminator: {
      propertyName: 'type',
      mapping: Object.fromEntries(typed.map(({ definition }) => [definition.type, `#/components/schemas/${pascalCase(definition.type)}Event`])),
    },
  });

/**
 * The claims of a Security Event Token (RFC 8417) as POST /v1/sets takes it: exactly one event, keyed by its type's
 * URN, whose payload is that type's `data`. Other claims are allowed and ignored.
 */
export const securityEventTokenClaimsSchema = z
  .looseObject({
    iss: identifier.describe('The id of the sending source'),
    aud: z.union([z.string(), z.array(z.string())]).describe('This service (JARTRAIL_SET_AUDIENCE)'),
    jti: z.string().meta({ pattern: EVENT_ID.source, description: 'The event id' }),
    iat: numericDate,
    events: z
      .union(typed.map(({ definition, data }) => z.strictObject({ [setEventUrnOf(definition.type)]: data })) as unknown as [z.ZodObject, ...z.ZodObject[]])
      .describe(`One member: the event type's URN (${SET_EVENT_URN_PREFIX}<type>) and the event's data`),
  })
  .meta({ id: 'SecurityEventTokenClaims', description: 'The payload of the signed JWT sent to POST /v1/sets' });

/** JSON Schema for a batch body: events as in POST /v1/events, each carrying its own id. */
export const BATCH_SCHEMA: SchemaObject = {
  type: 'array',
  items: { allOf: [{ $ref: '#/components/schemas/Event' }, { required: ['id'] }] },
};
