import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * One batch of a retention purge: which policy blanked the payloads of the records of a ledger seq range, and when.
 * Ranges follow each other without overlap; the next purge starts after the last one. Append-only.
 */
@Entity('ledger_purges')
@Index('idx_ledger_purges_range', ['toLedgerSeq', 'fromLedgerSeq'])
export class LedgerPurgeEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS', primaryKeyConstraintName: 'pk_ledger_purges' })
  id!: string;

  @Column('text')
  policy!: string;

  /** The records of [from, to] whose payload is NULL were purged by this batch. */
  @Column('bigint', { name: 'from_ledger_seq' })
  fromLedgerSeq!: string;

  @Column('bigint', { name: 'to_ledger_seq' })
  toLedgerSeq!: string;

  /** Payloads blanked (records of the range already without one are not counted). */
  @Column('integer')
  records!: number;

  @Column('timestamptz', { name: 'recorded_before' })
  recordedBefore!: Date;

  @Column('timestamptz', { name: 'purged_at', default: () => 'now()' })
  purgedAt!: Date;
}
