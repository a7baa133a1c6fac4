import { z } from 'zod';
import { problemSchema } from '../../common/problem/problem.schema';

const position = z.string().regex(/^\d+$/).describe("The record's position (a decimal integer): pass it as min_position to read your own write");

export const eventResult = z
  .object({
    event_id: z.string(),
    status: z.enum(['accepted', 'duplicate']).describe('accepted (202): recorded now; duplicate (200): recorded before with this body'),
    position,
  })
  .meta({ id: 'EventResult' });

export const batchResult = z
  .object({
    accepted: z.int(),
    duplicates: z.int(),
    conflicts: z.int(),
    rejected: z.int(),
    position: position.optional().describe('The highest position of the accepted and duplicate events, when there are any'),
    results: z.array(
      z.object({
        index: z.int().describe('Position of the event in the batch'),
        event_id: z.string().optional(),
        status: z.enum(['accepted', 'duplicate', 'conflict', 'rejected']),
        position: position.optional().describe('For an accepted or duplicate event'),
        problem: problemSchema.optional().describe('Why the event was refused (rejected or conflict)'),
      }),
    ),
  })
  .meta({ id: 'BatchResult' });

export const sourceQuery = z.strictObject({ source: z.string().describe('The id of the sending source') });

