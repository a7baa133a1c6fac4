import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * Committed events waiting for the linker: one row per ingest statement, written by a trigger in the ingest
 * transaction (a rolled-back ingest leaves nothing) and deleted by the linker in the transaction that links them.
 */
@Entity('link_pending')
@Index('idx_link_pending_first_seq', ['firstSeq'])
export class LinkPendingEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS', primaryKeyConstraintName: 'pk_link_pending' })
  id!: string;

  /** The statement's lowest seq: the watermark is the lowest of these. */
  @Column('bigint', { name: 'first_seq' })
  firstSeq!: string;

  @Column('bigint', { name: 'event_seqs', array: true })
  eventSeqs!: string[];

  @Column('timestamptz', { name: 'queued_at', default: () => 'clock_timestamp()' })
  queuedAt!: Date;
}
