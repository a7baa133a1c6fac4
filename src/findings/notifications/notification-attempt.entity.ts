import { Check, Column, Entity, JoinColumn, ManyToOne, PrimaryGeneratedColumn, Unique } from 'typeorm';
import { NotificationDeliveryEntity } from './notification-delivery.entity';

/**
 * delivered: a 2xx; http_status: any other status; timeout: no answer within NOTIFICATIONS_TIMEOUT_MS;
 * connection_error: DNS, refused, reset, TLS; address_refused: the host resolved to a non-public address.
 */
export const ATTEMPT_OUTCOMES = ['delivered', 'http_status', 'timeout', 'connection_error', 'address_refused'] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

/** At most this much of a receiver's answer is kept: enough to tell an error page, never a body to store. */
export const RESPONSE_EXCERPT_CHARS = 256;

/** One attempt at a delivery: when, how long, and what came back. Append-only (enforced by a trigger). */
@Entity('notification_attempts')
@Unique('uq_notification_attempts_delivery_attempt', ['deliveryId', 'attempt'])
@Check('chk_notification_attempts_outcome', `"outcome" IN (${ATTEMPT_OUTCOMES.map((outcome) => `'${outcome}'`).join(', ')})`)
@Check('chk_notification_attempts_excerpt', `char_length("response_excerpt") <= ${RESPONSE_EXCERPT_CHARS}`)
export class NotificationAttemptEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS', primaryKeyConstraintName: 'pk_notification_attempts' })
  id!: string;

  @Column('bigint', { name: 'delivery_id' })
  deliveryId!: string;

  @ManyToOne(() => NotificationDeliveryEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'delivery_id', foreignKeyConstraintName: 'fk_notification_attempts_delivery' })
  delivery?: NotificationDeliveryEntity;

  /** 1 for the first attempt. */
  @Column('integer')
  attempt!: number;

  @Column('timestamptz')
  at!: Date;

  @Column('integer', { name: 'duration_ms' })
  durationMs!: number;

  @Column('text')
  outcome!: AttemptOutcome;

  @Column('integer', { name: 'status_code', nullable: true })
  statusCode!: number | null;

  /** The error's class and message for a failure without a status (never the request or its secret). */
  @Column('text', { nullable: true })
  error!: string | null;

  @Column('text', { name: 'response_excerpt', nullable: true })
  responseExcerpt!: string | null;
}
