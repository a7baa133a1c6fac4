import { z } from 'zod';
import { RULES, SEVERITIES } from '../../rule';
import { ATTEMPT_OUTCOMES } from '../notification-attempt.entity';
import { DELIVERY_STATUSES } from '../notification-delivery.entity';
import type { DeliveryCounts, StoredDelivery, StoredSubscription } from '../subscriptions.repository';

const POSITIVE_ID = /^[1-9][0-9]{0,18}$/;

export const subscriptionIdParam = z
  .string()
  .refine((value) => POSITIVE_ID.test(value) && BigInt(value) <= 9223372036854775807n, { message: 'a subscription id', params: { code: 'invalid_id' } })
  .describe('The id of a subscription');

export const createSubscriptionRequest = z
  .strictObject({
    url: z
      .string()
      .min(1)
      .max(2048)
      .describe('Where to POST the notifications: https (plain http only with NOTIFICATIONS_ALLOW_HTTP), no credentials, a public address unless NOTIFICATIONS_ALLOW_PRIVATE'),
    rules: z
      .array(z.enum(RULES))
      .min(1)
      .max(RULES.length)
      .refine((rules) => new Set(rules).size === rules.length, { message: 'names a rule twice', params: { code: 'duplicate' } })
      .optional()
      .describe('Only findings of these rules; omitted: every rule'),
    min_severity: z.enum(SEVERITIES).default('low').describe('Only changes to this severity or a higher one; omitted: low (every severity)'),
    description: z.string().trim().min(1).max(1024).optional().describe('What the subscription is for, for the people who read the list'),
  })
  .meta({ id: 'CreateSubscriptionRequest' });

export type CreateSubscriptionRequest = z.infer<typeof createSubscriptionRequest>;

export const subscriptionResponse = z
  .object({
    id: z.string(),
    url: z.string(),
    rules: z.array(z.enum(RULES)).nullable().describe('null: every rule'),
    min_severity: z.enum(SEVERITIES),
    description: z.string().nullable(),
    status: z.enum(['enabled', 'disabled']).describe('disabled: nothing more is delivered, pending deliveries are cancelled; kept with its history'),
    created_at: z.iso.datetime(),
    secret_rotated_at: z.iso.datetime().nullable(),
    disabled_at: z.iso.datetime().nullable(),
  })
  .meta({ id: 'Subscription' });

export type SubscriptionResponse = z.infer<typeof subscriptionResponse>;

export const subscriptionWithSecretResponse = subscriptionResponse
  .extend({ secret: z.string().describe('The whsec_ signing secret (Standard Webhooks): shown in this answer only, never again') })
  .meta({ id: 'SubscriptionWithSecret' });

export const subscriptionDetailResponse = subscriptionResponse
  .extend({
    deliveries: z
      .object({ pending: z.int(), delivered: z.int(), failed: z.int(), cancelled: z.int() })
      .describe('How many deliveries it has, by status'),
  })
  .meta({ id: 'SubscriptionDetail' });

export const MAX_PAGE = 100;

export const subscriptionsQuery = z
  .strictObject({
    limit: z.coerce.number().int().min(1).max(MAX_PAGE).default(25),
    cursor: z.string().max(64).optional().describe('next_cursor of the previous page'),
  })
  .meta({ id: 'SubscriptionsQuery' });

export type SubscriptionsQuery = z.infer<typeof subscriptionsQuery>;

export const subscriptionsPage = z
  .object({
    items: z.array(subscriptionResponse).describe('Newest first'),
    next_cursor: z.string().nullable().describe('Pass as cursor for the next page; null on the last page'),
  })
  .meta({ id: 'SubscriptionsPage' });

export const deliveriesQuery = z
  .strictObject({
    status: z.enum(DELIVERY_STATUSES).optional(),
    limit: z.coerce.number().int().min(1).max(MAX_PAGE).default(25),
    cursor: z.string().max(64).optional().describe('next_cursor of the previous page'),
  })
  .meta({ id: 'DeliveriesQuery' });

export type DeliveriesQuery = z.infer<typeof deliveriesQuery>;

const attemptView = z
  .object({
    attempt: z.int().describe('1 for the first'),
    at: z.iso.datetime(),
    duration_ms: z.int(),
    outcome: z.enum(ATTEMPT_OUTCOMES).describe('delivered (2xx), http_status (any other status, redirects included), timeout, connection_error, address_refused (a non-public address)'),
    status_code: z.int().nullable(),
    error: z.string().nullable().describe('Why, when there was no status'),
    response_excerpt: z.string().nullable().describe("The start of the receiver's answer (at most 256 characters); the rest is not kept"),
  })
  .meta({ id: 'DeliveryAttempt' });

export const deliveryView = z
  .object({
    id: z.string(),
    message_id: z.string().describe('The webhook-id header: one per finding change, the same on every attempt and for every subscription'),
    type: z.string().describe('finding.opened, finding.escalated or finding.reopened'),
    finding_id: z.string(),
    finding_change_id: z.string(),
    status: z.enum(DELIVERY_STATUSES).describe('pending: to be (re)tried at next_attempt_at; cancelled: the subscription was disabled first'),
    attempt_count: z.int(),
    next_attempt_at: z.iso.datetime().nullable(),
    created_at: z.iso.datetime().describe('When the finding change was committed and the delivery queued'),
    finished_at: z.iso.datetime().nullable(),
    attempts: z.array(attemptView).describe('Every attempt, oldest first (append-only)'),
  })
  .meta({ id: 'Delivery' });

export const deliveriesPage = z
  .object({
    items: z.array(deliveryView).describe('Newest first'),
    next_cursor: z.string().nullable().describe('Pass as cursor for the next page; null on the last page'),
  })
  .meta({ id: 'DeliveriesPage' });

export type DeliveriesPage = z.infer<typeof deliveriesPage>;

export function toSubscriptionResponse(subscription: StoredSubscription): SubscriptionResponse {
  return {
    id: subscription.id,
    url: subscription.url,
    rules: subscription.rules as SubscriptionResponse['rules'],
    min_severity: subscription.minSeverity as SubscriptionResponse['min_severity'],
    description: subscription.description,
    status: subscription.disabledAt === null ? 'enabled' : 'disabled',
    created_at: subscription.createdAt.toISOString(),
    secret_rotated_at: subscription.secretRotatedAt?.toISOString() ?? null,
    disabled_at: subscription.disabledAt?.toISOString() ?? null,
  };
}

export function toSubscriptionDetail(subscription: StoredSubscription, deliveries: DeliveryCounts) {
  return { ...toSubscriptionResponse(subscription), deliveries };
}

export function toDeliveryView(delivery: StoredDelivery, messageId: string): DeliveriesPage['items'][number] {
  return {
    id: delivery.id,
    message_id: messageId,
    type: delivery.type,
    finding_id: delivery.findingId,
    finding_change_id: delivery.findingChangeId,
    status: delivery.status,
    attempt_count: delivery.attemptCount,
    next_attempt_at: delivery.nextAttemptAt?.toISOString() ?? null,
    created_at: delivery.createdAt.toISOString(),
    finished_at: delivery.finishedAt?.toISOString() ?? null,
    attempts: delivery.attempts.map((attempt) => ({
      attempt: attempt.attempt,
      at: attempt.at.toISOString(),
      duration_ms: attempt.durationMs,
      outcome: attempt.outcome,
      status_code: attempt.statusCode,
      error: attempt.error,
      response_excerpt: attempt.responseExcerpt,
    })),
  };
}
