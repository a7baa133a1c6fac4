import { z } from 'zod';
import { problemSchema } from '../../common/problem/problem.schema';

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
        problem: problemSchema.optional().describe('Why the event was refused (rejected or conflict)'),
      }),
    ),
  })
  .meta({ id: 'BatchResult' });

export const sourceQuery = z.strictObject({ source: z.string().describe('The id of the sending source') });

