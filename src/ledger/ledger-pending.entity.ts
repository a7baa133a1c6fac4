import { Check, Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/**
 * The queue of committed records waiting for the sequencer: one row per ingest statement, filled by triggers in the
 * ingest transaction (so a rolled-back ingest leaves nothing) and emptied by the sequencer in the transaction that
 * ledgers its records.
 */
@Entity('ledger_pending')
@Check('chk_ledger_pending_kind', `"record_kind" IN ('event', 'conflict', 'triage')`)
export class LedgerPendingEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS', primaryKeyConstraintName: 'pk_ledger_pending' })
  id!: string;

  @Column('text', { name: 'record_kind' })
  recordKind!: string;

  /** The seqs the statement inserted, in order. */
  @Column('bigint', { name: 'record_seqs', array: true })
  recordSeqs!: string[];
}
