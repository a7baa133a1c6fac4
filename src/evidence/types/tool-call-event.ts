import { z } from 'zod';
import { dateTime, digest, identifier, resource, shortText, tokenReference } from '../../common/schema/oauth-fields';
import { defineEventType } from '../event-type-definition';
import type { StoredEventOf } from '../evidence-record';

const toolCallData = z
  .strictObject({
    call_id: identifier,
    agent_id: identifier,
    token: tokenReference,
    tool: z.string().min(1).max(256),
    action: z.string().min(1).max(256),
    resource: resource.optional(),
    arguments_digest: digest.optional(),
    /** Which entry of the token's authorization_details this call relies on (RFC 9396). */
    authorization_details_ref: z.string().min(1).max(256).optional(),
    started_at: dateTime,
    completed_at: dateTime.optional(),
    outcome: z.enum(['succeeded', 'failed', 'denied']),
    side_effect: z
      .strictObject({
        kind: z.string().min(1).max(128),
        reference: z.string().min(1).max(1024),
        summary: shortText.optional(),
      })
      .optional(),
  })
  .superRefine((data, context) => {
    if (data.completed_at !== undefined && Date.parse(data.completed_at) < Date.parse(data.started_at)) {
      context.addIssue({ code: 'custom', path: ['completed_at'], message: 'must not be before started_at', params: { code: 'completed_before_started' } });
    }
  });

export type ToolCallData = z.infer<typeof toolCallData>;

export const toolCallRecordedEvent = defineEventType({
  type: 'tool_call.recorded',
  senderKind: 'agent',
  data: toolCallData,
  occurredAt: (data) => new Date(data.started_at),
  causalRank: 3,
  example: {
    call_id: 'call-1',
    agent_id: 'mail-agent',
    token: { jti: 'at-1' },
    tool: 'mail',
    action: 'send',
    started_at: '2026-11-28T10:01:00Z',
    outcome: 'succeeded',
    side_effect: { kind: 'email', reference: 'msg-1' },
  },
  links: { tokenReference: { role: 'usage', at: ['token'] } },
  facets: [{ name: 'tool', text: ['tool'] }],
  minimize: (data) => data,
  chainSection: 'tool_calls',
  summarize: (data) =>
    `agent ${data.agent_id} called ${data.tool}.${data.action}: ${data.outcome}${data.side_effect ? `, side effect ${data.side_effect.kind} ${data.side_effect.reference}` : ''}`,
});

export type ToolCallRecord = StoredEventOf<typeof toolCallRecordedEvent>;
