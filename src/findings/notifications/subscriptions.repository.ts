import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import type { MasterKeyId } from '../../common/crypto/keyring';
import type { AttemptOutcome } from './notification-attempt.entity';
import type { DeliveryStatus } from './notification-delivery.entity';

export interface NewSubscription {
  readonly url: string;
  readonly rules: readonly string[] | null;
  readonly minSeverity: string;
  readonly description: string | null;
  readonly secretId: string;
  readonly sealed: Buffer;
  readonly sealedBy: MasterKeyId;
}

/** A subscription as the API shows it: never its secret. */
export interface StoredSubscription {
  readonly id: string;
  readonly url: string;
  readonly rules: readonly string[] | null;
  readonly minSeverity: string;
  readonly description: string | null;
  readonly createdAt: Date;
  readonly secretRotatedAt: Date | null;
  readonly disabledAt: Date | null;
}

export interface DeliveryCounts {
  readonly pending: number;
  readonly delivered: number;
  readonly failed: number;
  readonly cancelled: number;
}

export interface StoredAttempt {
  readonly attempt: number;
  readonly at: Date;
  readonly durationMs: number;
  readonly outcome: AttemptOutcome;
  readonly statusCode: number | null;
  readonly error: string | null;
  readonly responseExcerpt: string | null;
}

export interface StoredDelivery {
  readonly id: string;
  readonly findingChangeId: string;
  readonly type: string;
  readonly findingId: string;
  readonly status: DeliveryStatus;
  readonly attemptCount: number;
  readonly nextAttemptAt: Date | null;
  readonly createdAt: Date;
  readonly finishedAt: Date | null;
  readonly attempts: readonly StoredAttempt[];
}

const SUBSCRIPTION_COLUMNS = `id, url, rules, min_severity, description, created_at, secret_rotated_at, disabled_at`;

type SubscriptionRow = {
  id: string;
  url: string;
  rules: string[] | null;
  min_severity: string;
  description: string | null;
  created_at: Date;
  secret_rotated_at: Date | null;
  disabled_at: Date | null;
};

const toSubscription = (row: SubscriptionRow): StoredSubscription => ({
  id: String(row.id),
  url: row.url,
  rules: row.rules,
  minSeverity: row.min_severity,
  description: row.description,
  createdAt: row.created_at,
  secretRotatedAt: row.secret_rotated_at,
  disabledAt: row.disabled_at,
});

/**
 * The SQL of subscriptions and of reading their deliveries. An UPDATE ... RETURNING is wrapped in a top-level SELECT,
 * so the driver answers with rows (an UPDATE answers with a count too).
 */
@Injectable()
export class SubscriptionsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async create(subscription: NewSubscription): Promise<StoredSubscription> {
    const [row]: SubscriptionRow[] = await this.dataSource.query(
      `INSERT INTO notification_subscriptions (url, rules, min_severity, description, secret_id, sealed, sealed_by)
       VALUES ($1, $2::text[], $3, $4, $5, $6, $7)
       RETURNING ${SUBSCRIPTION_COLUMNS}`,
      [subscription.url, subscription.rules, subscription.minSeverity, subscription.description, subscription.secretId, subscription.sealed, subscription.sealedBy],
    );
    return toSubscription(row!);
  }

  /** Newest first; `beforeId` is the keyset position (ids below it). */
  async list(filter: { readonly beforeId?: string; readonly limit: number }): Promise<StoredSubscription[]> {
    const rows: SubscriptionRow[] = await this.dataSource.query(
      `SELECT ${SUBSCRIPTION_COLUMNS} FROM notification_subscriptions
       WHERE ($1::bigint IS NULL OR id < $1::bigint)
       ORDER BY id DESC LIMIT $2`,
      [filter.beforeId ?? null, filter.limit],
    );
    return rows.map(toSubscription);
  }

  async find(id: string): Promise<StoredSubscription | undefined> {
    const [row]: SubscriptionRow[] = await this.dataSource.query(`SELECT ${SUBSCRIPTION_COLUMNS} FROM notification_subscriptions WHERE id = $1::bigint`, [id]);
    return row && toSubscription(row);
  }

  async deliveryCounts(id: string): Promise<DeliveryCounts> {
    const rows: { status: DeliveryStatus; n: string }[] = await this.dataSource.query(
      `SELECT status, count(*) AS n FROM notification_deliveries WHERE subscription_id = $1::bigint GROUP BY status`,
      [id],
    );
    const count = (status: DeliveryStatus) => Number(rows.find((row) => row.status === status)?.n ?? 0);
    return { pending: count('pending'), delivered: count('delivered'), failed: count('failed'), cancelled: count('cancelled') };
  }

  /**
   * Disables a subscription and cancels what it was still owed, in one transaction, so that no delivery of a
   * disabled subscription stays pending. Disabling twice keeps the first time. Undefined for an unknown id.
   */
  async disable(id: string): Promise<StoredSubscription | undefined> {
    return this.dataSource.transaction(async (manager) => {
      const [row]: SubscriptionRow[] = await manager.query(
        `WITH disabled AS (UPDATE notification_subscriptions SET disabled_at = coalesce(disabled_at, now()) WHERE id = $1::bigint RETURNING ${SUBSCRIPTION_COLUMNS})
         SELECT * FROM disabled`,
        [id],
      );
      if (!row) return undefined;
      await manager.query(
        `UPDATE notification_deliveries SET status = 'cancelled', next_attempt_at = NULL, lease_token = NULL, finished_at = clock_timestamp()
         WHERE subscription_id = $1::bigint AND status = 'pending'`,
        [id],
      );
      return toSubscription(row);
    });
  }

  /** Replaces the secret of an active subscription; undefined when there is none with this id (or it is disabled). */
  async replaceSecret(id: string, secret: Pick<NewSubscription, 'secretId' | 'sealed' | 'sealedBy'>): Promise<StoredSubscription | undefined> {
    const [row]: SubscriptionRow[] = await this.dataSource.query(
      `WITH rotated AS (
         UPDATE notification_subscriptions SET secret_id = $2, sealed = $3, sealed_by = $4, secret_rotated_at = now()
         WHERE id = $1::bigint AND disabled_at IS NULL
         RETURNING ${SUBSCRIPTION_COLUMNS}
       )
       SELECT * FROM rotated`,
      [id, secret.secretId, secret.sealed, secret.sealedBy],
    );
    return row && toSubscription(row);
  }

  /** A subscription's deliveries, newest first, each with its attempts (oldest first). */
  async deliveries(subscriptionId: string, filter: { readonly status?: DeliveryStatus; readonly beforeId?: string; readonly limit: number }): Promise<StoredDelivery[]> {
    const rows: {
      id: string;
      finding_change_id: string;
      type: string;
      finding_id: string;
      status: DeliveryStatus;
      attempts: number;
      next_attempt_at: Date | null;
      created_at: Date;
      finished_at: Date | null;
    }[] = await this.dataSource.query(
      `SELECT d.id, d.finding_change_id, d.payload ->> 'type' AS type, d.payload -> 'data' -> 'finding' ->> 'id' AS finding_id, d.status, d.attempts,
              d.next_attempt_at, d.created_at, d.finished_at
       FROM notification_deliveries d
       WHERE d.subscription_id = $1::bigint AND ($2::text IS NULL OR d.status = $2) AND ($3::bigint IS NULL OR d.id < $3::bigint)
       ORDER BY d.id DESC LIMIT $4`,
      [subscriptionId, filter.status ?? null, filter.beforeId ?? null, filter.limit],
    );
    if (rows.length === 0) return [];
    const attempts: {
      delivery_id: string;
      attempt: number;
      at: Date;
      duration_ms: number;
      outcome: AttemptOutcome;
      status_code: number | null;
      error: string | null;
      response_excerpt: string | null;
    }[] = await this.dataSource.query(
      `SELECT delivery_id, attempt, at, duration_ms, outcome, status_code, error, response_excerpt
       FROM notification_attempts WHERE delivery_id = ANY($1::bigint[]) ORDER BY delivery_id, attempt`,
      [rows.map((row) => row.id)],
    );
    return rows.map((row) => ({
      id: String(row.id),
      findingChangeId: String(row.finding_change_id),
      type: row.type,
      findingId: row.finding_id,
      status: row.status,
      attemptCount: row.attempts,
      nextAttemptAt: row.next_attempt_at,
      createdAt: row.created_at,
      finishedAt: row.finished_at,
      attempts: attempts
        .filter((attempt) => String(attempt.delivery_id) === String(row.id))
        .map((attempt) => ({
          attempt: attempt.attempt,
          at: attempt.at,
          durationMs: attempt.duration_ms,
          outcome: attempt.outcome,
          statusCode: attempt.status_code,
          error: attempt.error,
          responseExcerpt: attempt.response_excerpt,
        })),
    }));
  }
}
