import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { EventEntity } from '../evidence/event.entity';

/**
 * A verification event waiting for its independent verdict. Work, not evidence: written in the ingest
 * transaction, claimed by a worker (`next_attempt_at` moves forward as its lease), deleted when the verdict is
 * recorded. It holds the request object even when minimisation keeps it out of the event's stored data.
 */
@Entity('verification_queue')
@Index('idx_verification_queue_due', ['nextAttemptAt'])
export class VerificationQueueEntity {
  @PrimaryColumn('bigint', { name: 'event_seq', primaryKeyConstraintName: 'pk_verification_queue' })
  eventSeq!: string;

  @ManyToOne(() => EventEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'event_seq', foreignKeyConstraintName: 'fk_verification_queue_event' })
  event?: EventEntity;

  @Column('text', { name: 'request_object', nullable: true })
  requestObject!: string | null;

  @Column('integer')
  attempts!: number;

  @Column('timestamptz', { name: 'next_attempt_at', default: () => 'now()' })
  nextAttemptAt!: Date;

  @Column('text', { name: 'last_error', nullable: true })
  lastError!: string | null;

  @Column('timestamptz', { name: 'enqueued_at', default: () => 'now()' })
  enqueuedAt!: Date;
}
