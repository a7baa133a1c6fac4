import { z } from 'zod';

const problemDocument = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.int(),
    detail: z.string().optional(),
    errors: z.array(z.object({ field: z.string(), pointer: z.string(), code: z.string(), detail: z.string() })).optional(),
  })
  .meta({ id: 'Problem' });

export const eventResult = z
  .object({
    event_id: z.string(),
    status: z.enum(['accepted', 'duplicate']).describe('accepted (202): recorded now; duplicate (200): recorded before with this body'),
  })
  .meta({ id: 'EventResult' });

export const batchResult = z
  .object({
    accepted: z.int(),
    duplicates: z.int(),
    conflicts: z.int(),
    rejected: z.int(),
    results: z.array(
      z.object({
        index: z.int().describe('Position of the event in the batch'),
        event_id: z.string().optional(),
        status: z.enum(['accepted', 'duplicate', 'conflict', 'rejected']),
        problem: problemDocument.optional().describe('Why the event was refused (rejected or conflict)'),
      }),
    ),
  })
  .meta({ id: 'BatchResult' });

export const sourceQuery = z.strictObject({ source: z.string().describe('The id of the sending source') });

export const envelopeExample = {
  type: 'consent.decision',
  timestamp: '2026-11-28T10:00:00Z',
  data: { digest: '47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU', decision: 'approved', subject: 'user-42' },
};
