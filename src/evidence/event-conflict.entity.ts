import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, Unique } from 'typeorm';
import { SourceEntity } from '../sources/source.entity';
import { EventEntity } from './event.entity';

/**
 * Evidence of a conflict: an event id delivered again with a different body. The first body stays the record;
 * each distinct later body is kept here once. Append-only.
 */
@Entity('event_conflicts')
@Unique('uq_event_conflicts_delivery', ['sourceId', 'eventId', 'fingerprint'])
/** The chain document and the evidence bundle read a chain's conflicts by the records they contradict. */
@Index('idx_event_conflicts_original', ['originalSeq'])
export class EventConflictEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS', primaryKeyConstraintName: 'pk_event_conflicts' })
  seq!: string;

  @Column('uuid', { name: 'source_id' })
  sourceId!: string;

  @ManyToOne(() => SourceEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'source_id', foreignKeyConstraintName: 'fk_event_conflicts_source' })
  source?: SourceEntity;

  @Column('text', { name: 'event_id' })
  eventId!: string;

  /** The record this delivery conflicts with. */
  @Column('bigint', { name: 'original_seq' })
  originalSeq!: string;

  @ManyToOne(() => EventEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'original_seq', foreignKeyConstraintName: 'fk_event_conflicts_original' })
  original?: EventEntity;

  @Column('text')
  type!: string;

  @Column('timestamptz', { name: 'emitted_at' })
  emittedAt!: Date;

  @Column('bytea')
  fingerprint!: Buffer;

  /** NULL once purged by retention (jartrail_purge_payloads); the ledger still commits to its salted hash. */
  @Column('jsonb', { nullable: true })
  data!: Record<string, unknown> | null;

  @Column('timestamptz', { name: 'recorded_at', default: () => 'now()' })
  recordedAt!: Date;
}
