import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { LedgerSigningKeyEntity } from './ledger-signing-key.entity';

/**
 * One batch of a retention purge: which policy blanked the payloads of the records of a ledger seq range, and when.
 * Ranges follow each other without overlap; the next purge starts after the last one. Signed with the ledger key,
 * so that a purge row written around the service is told apart from a real one. Append-only.
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

  /** The ledger key that signed the purge; null only for purges recorded before purges were signed. */
  @Column('text', { nullable: true })
  kid!: string | null;

  @ManyToOne(() => LedgerSigningKeyEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'kid', foreignKeyConstraintName: 'fk_ledger_purges_key' })
  key?: LedgerSigningKeyEntity;

  /** Compact JWS (typ jartrail-purge+json) over the RFC 8785 JSON of {log, policy, from_ledger_seq, to_ledger_seq, recorded_before}. */
  @Column('text', { nullable: true })
  jws!: string | null;
}
