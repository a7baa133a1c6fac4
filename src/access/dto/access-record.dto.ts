import { z } from 'zod';
import { PRESENTED_CREDENTIALS } from '../access-record.entity';

export const MAX_ACCESS_RECORDS_PAGE = 500;

export const accessRecordsQuery = z
  .strictObject({
    api_key_id: z.uuid().optional().describe('Records of this API key (the actor), answered or refused'),
    subject: z.string().min(1).max(1024).optional().describe("Records of the access tokens with this sub (the actor at the identity provider), answered or refused"),
    issuer: z.string().min(1).max(2048).optional().describe('Records of the access tokens of this identity provider (iss)'),
    credential: z
      .enum(PRESENTED_CREDENTIALS)
      .optional()
      .describe('What was presented: a valid API key, a revoked one, an unknown one, a verified access token (jwt), a refused one (refused_jwt), none, or a header that is no bearer credential'),
    route: z.string().min(1).max(512).optional().describe('The route pattern, e.g. /v1/chains/:digest'),
    method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']).optional(),
    status: z.coerce.number().int().min(100).max(599).optional().describe('The status the request was answered with'),
    outcome: z.enum(['refused', 'answered']).optional().describe('refused: answered 401 or 403; answered: anything else'),
    from: z.iso.datetime({ offset: true }).optional().describe('Records at or after this time'),
    to: z.iso.datetime({ offset: true }).optional().describe('Records before this time'),
    limit: z.coerce.number().int().min(1).max(MAX_ACCESS_RECORDS_PAGE).default(100),
    cursor: z.string().max(512).optional().describe('next_cursor of the previous page'),
  })
  .refine((query) => !query.from || !query.to || Date.parse(query.from) < Date.parse(query.to), {
    message: 'from must be before to',
    path: ['to'],
    params: { code: 'empty_range' },
  });

export type AccessRecordsQuery = z.infer<typeof accessRecordsQuery>;

export const accessRecordsResponse = z
  .object({
    items: z.array(
      z.object({
        seq: z.string().describe('The record\'s position in the access log'),
        at: z.iso.datetime(),
        api_key: z
          .object({ id: z.uuid(), name: z.string() })
          .nullable()
          .describe('The key presented, when it is one of ours (valid or revoked); null for an unknown key, none, or a malformed header'),
        credential: z.enum(PRESENTED_CREDENTIALS),
        presented_key_fingerprint: z
          .string()
          .nullable()
          .describe('For an unknown key or a refused access token: a keyed fingerprint (kfp:...), equal for equal values; the value itself is never kept'),
        subject: z
          .string()
          .nullable()
          .describe("The access token's sub: for a verified token, and for a refused one whose signature verified (expired, another audience); null for API keys"),
        issuer: z.string().nullable().describe("The access token's iss (the identity provider), with subject"),
        method: z.string(),
        route: z.string().nullable().describe('The route pattern; null in records made before routes were recorded'),
        target: z.string().describe('The path and query string as requested (a searched subject as its pseudonym)'),
        status: z.int(),
        correlation_id: z.string().describe('The X-Request-Id of the request'),
        detail: z
          .record(z.string(), z.unknown())
          .nullable()
          .describe('What an admin action changed, when the route records it (a master-key rotation: the key ids and counts); for a refused access token, why (token_error)'),
      }),
    ),
    next_cursor: z.string().nullable().describe('Pass as cursor for the next page; null on the last page'),
  })
  .meta({ id: 'AccessRecordPage' });

export type AccessRecordsResponse = z.infer<typeof accessRecordsResponse>;
