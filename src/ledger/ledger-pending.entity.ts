import { Check, Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/**
 * The queue of committed records waiting for the sequencer, filled by triggers in the ingest transaction (so a
 * rolled-back ingest leaves nothing) and emptied by the sequencer in the transaction that ledgers them.
 */
@Entity('ledger_pending')
@Check('chk_ledger_pending_kind', `"record_kind" IN ('event', 'conflict')`)
export class LedgerPendingEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS', primaryKeyConstraintName: 'pk_ledger_pending' })
  id!: string;

  @Column('text', { name: 'record_kind' })
  recordKind!: string;

  @Column('bigint', { name: 'record_seq' })
  recordSeq!: string;
}
