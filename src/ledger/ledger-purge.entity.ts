import { Check, Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** One batch of a retention purge: which policy blanked the payloads of which records, and when. Append-only. */
@Entity('ledger_purges')
@Check('chk_ledger_purges_kind', `"record_kind" IN ('event', 'conflict')`)
@Index('idx_ledger_purges_range', ['recordKind', 'fromSeq', 'toSeq'])
export class LedgerPurgeEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS', primaryKeyConstraintName: 'pk_ledger_purges' })
  id!: string;

  @Column('text')
  policy!: string;

  @Column('text', { name: 'record_kind' })
  recordKind!: string;

  /** The purged records are those of this kind in [from_seq, to_seq] whose payload is NULL. */
  @Column('bigint', { name: 'from_seq' })
  fromSeq!: string;

  @Column('bigint', { name: 'to_seq' })
  toSeq!: string;

  @Column('integer')
  records!: number;

  @Column('timestamptz', { name: 'recorded_before' })
  recordedBefore!: Date;

  @Column('timestamptz', { name: 'purged_at', default: () => 'now()' })
  purgedAt!: Date;
}
