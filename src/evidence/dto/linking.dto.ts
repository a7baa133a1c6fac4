import { z } from 'zod';

/** How far linking had got when an answer was read: every answer that shows chains carries it. */
export const linkingView = z
  .object({
    linked_below: z
      .string()
      .describe('The watermark: every record committed with a position below this (when the answer was read) is linked and shown; records at or above it may not be yet'),
    requested_position: z.string().nullable().describe('The position asked for with min_position (latest resolved to a number), else null'),
    reached: z.boolean().describe('Linking had passed requested_position when the answer was read (true when none was asked for); false: the bounded wait ended first and the answer may miss records at or below it'),
  })
  .meta({ id: 'Linking' });
