import { z } from 'zod';
import { PROBLEM_TYPE_PREFIX } from './problem';

/** The problem document of problem.ts as a schema, for the OpenAPI document and the clients generated from it. */
export const fieldErrorSchema = z
  .object({
    field: z.string().describe('Dotted path of the offending field, e.g. data.header.alg'),
    pointer: z.string().describe('The same location as a JSON Pointer (RFC 6901) into the body or the query'),
    code: z.string().describe('A stable machine-readable code, e.g. missing, unknown_field, digest_length'),
    detail: z.string(),
  })
  .meta({ id: 'FieldError' });

export const problemSchema = z
  .looseObject({
    type: z.string().describe(`${PROBLEM_TYPE_PREFIX}<code>; docs/problems.md lists them`),
    title: z.string(),
    status: z.int(),
    detail: z.string().optional(),
    instance: z.string().optional().describe('The request path'),
    correlation_id: z.string().optional().describe('Also in the x-request-id response header and in the service log'),
    errors: z.array(fieldErrorSchema).optional().describe('Each offending field'),
  })
  .meta({
    id: 'Problem',
    description: 'RFC 9457 problem details (application/problem+json); extension members may follow',
    examples: [
      {
        type: `${PROBLEM_TYPE_PREFIX}invalid-event`,
        title: 'The event does not match its schema',
        status: 422,
        detail: 'the data does not match the consent.decision schema',
        instance: '/v1/events',
        correlation_id: '6f1c2a9e-3f0b-4a51-9d55-2a8f6b1e0c47',
        errors: [{ field: 'data.digest', pointer: '/data/digest', code: 'digest_length', detail: 'must be exactly 43 characters: base64url(SHA-256) without padding' }],
      },
    ],
  });
