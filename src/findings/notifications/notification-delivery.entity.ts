import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, Unique } from 'typeorm';
import { FindingChangeEntity } from '../finding-change.entity';
import { SubscriptionEntity } from './subscription.entity';

/** pending: to be (re)tried at next_attempt_at; cancelled: its subscription was disabled before it was delivered. */
export const DELIVERY_STATUSES = ['pending', 'delivered', 'failed', 'cancelled'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/**
 * The outbox: one row per subscription and notified finding change, written in the evaluation transaction that made
 * the change (so a change committed is a notification owed, whatever restarts), with the payload fixed then, so
 * every attempt sends the same body. The delivery worker leases due rows (`lease_token`, `next_attempt_at` pushed
 * past the attempt's timeout) and records each attempt in notification_attempts.
 */
@Entity('notification_deliveries')
@Unique('uq_notification_deliveries_subscription_change', ['subscriptionId', 'findingChangeId'])
@Check('chk_notification_deliveries_status', `"status" IN (${DELIVERY_STATUSES.map((status) => `'${status}'`).join(', ')})`)
@Check('chk_notification_deliveries_schedule', `("status" = 'pending') = ("next_attempt_at" IS NOT NULL)`)
@Index('idx_notification_deliveries_subscription', ['subscriptionId', 'id'])
@Index('idx_notification_deliveries_due', { synchronize: false })
export class NotificationDeliveryEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS', primaryKeyConstraintName: 'pk_notification_deliveries' })
  id!: string;

  @Column('bigint', { name: 'subscription_id' })
  subscriptionId!: string;

  @ManyToOne(() => SubscriptionEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'subscription_id', foreignKeyConstraintName: 'fk_notification_deliveries_subscription' })
  subscription?: SubscriptionEntity;

  @Column('bigint', { name: 'finding_change_id' })
  findingChangeId!: string;

  @ManyToOne(() => FindingChangeEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'finding_change_id', foreignKeyConstraintName: 'fk_notification_deliveries_finding_change' })
  findingChange?: FindingChangeEntity;

  /** The body sent, identical on every attempt (notification-payload.ts). */
  @Column('jsonb')
  payload!: Record<string, unknown>;

  @Column('text')
  status!: DeliveryStatus;

  @Column('integer', { default: 0 })
  attempts!: number;

  /** When it is due (again); null once it is no longer pending. */
  @Column('timestamptz', { name: 'next_attempt_at', nullable: true })
  nextAttemptAt!: Date | null;

  /** The claim of the worker sending it now; an outcome is applied only under the claim it was sent under. */
  @Column('uuid', { name: 'lease_token', nullable: true })
  leaseToken!: string | null;

  @Column('timestamptz', { name: 'created_at', default: () => 'clock_timestamp()' })
  createdAt!: Date;

  @Column('timestamptz', { name: 'finished_at', nullable: true })
  finishedAt!: Date | null;
}
