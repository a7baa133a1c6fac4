import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import type { MasterKeyId } from '../../common/crypto/keyring';
import { SEVERITIES } from '../rule';
import type { AttemptOutcome } from './notification-attempt.entity';
import type { DeliveryStatus } from './notification-delivery.entity';
import { type ChangeToNotify, findingNotification, NOTIFIED_CHANGES, type NotifiedChange } from './notification-payload';

/** A delivery the worker holds a lease on, with what it needs to send it. */
export interface ClaimedDelivery {
  readonly id: string;
  readonly findingChangeId: string;
  readonly payload: Record<string, unknown>;
  /** Attempts made before this one. */
  readonly attempts: number;
  readonly queuedAt: Date;
  readonly subscription: { readonly id: string; readonly url: string; readonly secretId: string; readonly sealed: Buffer; readonly sealedBy: MasterKeyId };
}

export interface AttemptRecord {
  readonly at: Date;
  readonly durationMs: number;
  readonly outcome: AttemptOutcome;
  readonly statusCode: number | null;
  readonly error: string | null;
  readonly responseExcerpt: string | null;
}

/** What becomes of a delivery after an attempt: delivered, failed for good, or pending until `nextAttemptAt`. */
export type DeliveryNext = { readonly status: 'delivered' | 'failed' } | { readonly status: 'pending'; readonly nextAttemptAt: Date };

export interface DeliveryBacklog {
  readonly pendingDeliveries: number;
  readonly oldestDueSeconds: number;
}

type ChangeRow = {
  change_id: string;
  change: NotifiedChange;
  change_severity: string;
  reason: string;
  at: Date;
  finding_id: string;
  rule: string;
  severity: string;
  status: string;
  chain_digest: string | null;
  summary: string;
  client_id: string | null;
  issuer: string | null;
  occurred_at: Date;
  first_seen_at: Date;
  evidence: { kind: string; event_id: string | null; type: string | null }[];
  subscription_ids: string[];
};

/**
 * The outbox of finding notifications: written with the changes it notifies, claimed and settled by the delivery
 * worker. An UPDATE ... RETURNING is wrapped in a top-level SELECT, so the driver answers with rows (an UPDATE
 * answers with a count too).
 */
@Injectable()
export class NotificationOutboxRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Queues a delivery of each notified change (opened, escalated, reopened) to every active subscription whose rules
   * and minimum severity match it, in the caller's transaction: the evaluation that commits a change commits what
   * is owed to subscribers with it, and a subscription created later is owed nothing of it. With no matching
   * subscription this is one statement that finds nothing.
   */
  async enqueue(manager: EntityManager, findingChangeIds: readonly string[]): Promise<number> {
    if (findingChangeIds.length === 0) return 0;
    const rows: ChangeRow[] = await manager.query(
      `SELECT c.id AS change_id, c.change, c.severity AS change_severity, c.reason, c.at,
              f.id AS finding_id, f.rule, f.severity, f.status, f.chain_digest, f.summary, f.client_id, f.issuer, f.occurred_at, f.first_seen_at,
              (SELECT coalesce(jsonb_agg(jsonb_build_object('kind', r.ref ->> 'kind', 'event_id', coalesce(e.event_id, x.event_id), 'type', coalesce(e.type, x.type)) ORDER BY r.ord), '[]'::jsonb)
                 FROM jsonb_array_elements(f.evidence) WITH ORDINALITY AS r(ref, ord)
                 LEFT JOIN events e ON r.ref ->> 'kind' = 'event' AND e.seq = (r.ref ->> 'seq')::bigint
                 LEFT JOIN event_conflicts x ON r.ref ->> 'kind' = 'conflict' AND x.seq = (r.ref ->> 'seq')::bigint) AS evidence,
              array_agg(s.id::text ORDER BY s.id) AS subscription_ids
       FROM finding_changes c
       JOIN findings f ON f.id = c.finding_id
       JOIN notification_subscriptions s ON s.disabled_at IS NULL
         AND (s.rules IS NULL OR f.rule = ANY(s.rules))
         AND array_position($2::text[], c.severity) >= array_position($2::text[], s.min_severity)
       WHERE c.id = ANY($1::bigint[]) AND c.change = ANY($3::text[])
       GROUP BY c.id, f.id`,
      [findingChangeIds, SEVERITIES, NOTIFIED_CHANGES],
    );
    if (rows.length === 0) return 0;
    const deliveries = rows.flatMap((row) => {
      const payload = findingNotification(toChange(row));
      return row.subscription_ids.map((subscriptionId) => ({ subscription_id: subscriptionId, finding_change_id: String(row.change_id), payload }));
    });
    const inserted: unknown[] = await manager.query(
      `INSERT INTO notification_deliveries (subscription_id, finding_change_id, payload, status, next_attempt_at)
       SELECT d.subscription_id, d.finding_change_id, d.payload, 'pending', clock_timestamp()
       FROM jsonb_to_recordset($1::jsonb) AS d(subscription_id bigint, finding_change_id bigint, payload jsonb)
       ON CONFLICT ON CONSTRAINT "uq_notification_deliveries_subscription_change" DO NOTHING
       RETURNING id`,
      [JSON.stringify(deliveries)],
    );
    return inserted.length;
  }

  /**
   * Leases up to `limit` due deliveries to this worker: their next attempt moves `leaseMs` ahead (a worker that dies
   * mid-attempt leaves them due again then) under `leaseToken`. SKIP LOCKED lets every replica claim at once without
   * waiting on each other. A due delivery of a disabled subscription (queued by an evaluation that raced the
   * disabling) is cancelled here instead of sent.
   */
  async claimDue(limit: number, leaseMs: number, leaseToken: string): Promise<ClaimedDelivery[]> {
    const rows: {
      id: string;
      status: DeliveryStatus;
      finding_change_id: string;
      payload: Record<string, unknown>;
      attempts: number;
      created_at: Date;
      subscription_id: string;
      url: string;
      secret_id: string;
      sealed: Buffer;
      sealed_by: MasterKeyId;
    }[] = await this.dataSource.query(
      `WITH due AS (
         SELECT d.id FROM notification_deliveries d
         WHERE d.status = 'pending' AND d.next_attempt_at <= clock_timestamp()
         ORDER BY d.next_attempt_at
         LIMIT $1
         FOR UPDATE SKIP LOCKED
       ),
       claimed AS (
         UPDATE notification_deliveries d SET
           status = CASE WHEN s.disabled_at IS NULL THEN 'pending' ELSE 'cancelled' END,
           next_attempt_at = CASE WHEN s.disabled_at IS NULL THEN clock_timestamp() + make_interval(secs => $2::float8 / 1000) END,
           lease_token = CASE WHEN s.disabled_at IS NULL THEN $3::uuid END,
           finished_at = CASE WHEN s.disabled_at IS NULL THEN NULL ELSE clock_timestamp() END
         FROM due, notification_subscriptions s
         WHERE d.id = due.id AND s.id = d.subscription_id
         RETURNING d.id, d.status, d.finding_change_id, d.payload, d.attempts, d.created_at, s.id AS subscription_id, s.url, s.secret_id, s.sealed, s.sealed_by
       )
       SELECT * FROM claimed`,
      [limit, leaseMs, leaseToken],
    );
    return rows
      .filter((row) => row.status === 'pending')
      .map((row) => ({
        id: String(row.id),
        findingChangeId: String(row.finding_change_id),
        payload: row.payload,
        attempts: row.attempts,
        queuedAt: row.created_at,
        subscription: { id: String(row.subscription_id), url: row.url, secretId: row.secret_id, sealed: row.sealed, sealedBy: row.sealed_by },
      }));
  }

  /**
   * Records an attempt (append-only: it happened, whatever follows) and settles the delivery, in one statement. The
   * delivery moves on only under the lease the attempt was made under and while it is still pending: a delivery
   * cancelled meanwhile (its subscription disabled) stays cancelled. Returns whether the delivery moved on.
   */
  async recordAttempt(delivery: ClaimedDelivery, leaseToken: string, attempt: AttemptRecord, next: DeliveryNext): Promise<boolean> {
    const settled: unknown[] = await this.dataSource.query(
      `WITH attempt AS (
         INSERT INTO notification_attempts (delivery_id, attempt, at, duration_ms, outcome, status_code, error, response_excerpt)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT ON CONSTRAINT "uq_notification_attempts_delivery_attempt" DO NOTHING
       ),
       settled AS (
         UPDATE notification_deliveries SET
           attempts = $2, status = $10, next_attempt_at = $11::timestamptz, lease_token = NULL,
           finished_at = CASE WHEN $10 = 'pending' THEN NULL ELSE clock_timestamp() END
         WHERE id = $1 AND lease_token = $9::uuid AND status = 'pending'
         RETURNING id
       )
       SELECT id FROM settled`,
      [
        delivery.id,
        delivery.attempts + 1,
        attempt.at,
        attempt.durationMs,
        attempt.outcome,
        attempt.statusCode,
        attempt.error,
        attempt.responseExcerpt,
        leaseToken,
        next.status,
        next.status === 'pending' ? next.nextAttemptAt : null,
      ],
    );
    return settled.length > 0;
  }

  /** Deliveries waiting to be sent, for /health/ready. */
  async backlog(): Promise<DeliveryBacklog> {
    const [row]: { pending: string; oldest_due_seconds: number | null }[] = await this.dataSource.query(
      `SELECT count(*) AS pending,
              extract(epoch FROM clock_timestamp() - min(next_attempt_at) FILTER (WHERE next_attempt_at <= clock_timestamp()))::float8 AS oldest_due_seconds
       FROM notification_deliveries WHERE status = 'pending'`,
    );
    return { pendingDeliveries: Number(row!.pending), oldestDueSeconds: Math.max(0, Math.round((row!.oldest_due_seconds ?? 0) * 1000) / 1000) };
  }
}

function toChange(row: ChangeRow): ChangeToNotify {
  return {
    changeId: String(row.change_id),
    change: row.change,
    changeSeverity: row.change_severity,
    reason: row.reason,
    at: row.at,
    finding: {
      id: String(row.finding_id),
      rule: row.rule,
      severity: row.severity,
      status: row.status,
      chainDigest: row.chain_digest,
      summary: row.summary,
      clientId: row.client_id,
      issuer: row.issuer,
      occurredAt: row.occurred_at,
      firstSeenAt: row.first_seen_at,
      evidence: row.evidence.map((ref) => ({ kind: ref.kind, eventId: ref.event_id, type: ref.type })),
    },
  };
}
