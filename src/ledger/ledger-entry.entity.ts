import { Check, Column, Entity, PrimaryColumn, Unique } from 'typeorm';

/**
 * One record in the ledger: its gapless sequence number (the leaf index, from 0), the record it commits to, the
 * salt of its payload hash and that hash, and its leaf hash (level 0 of the tree: the node store holds the levels
 * above). Append-only.
 */
@Entity('ledger_entries')
@Unique('uq_ledger_entries_record', ['recordKind', 'recordSeq'])
@Check('chk_ledger_entries_kind', `"record_kind" IN ('event', 'conflict', 'triage')`)
export class LedgerEntryEntity {
  @PrimaryColumn('bigint', { primaryKeyConstraintName: 'pk_ledger_entries' })
  seq!: string;

  @Column('text', { name: 'record_kind' })
  recordKind!: string;

  /** events.seq, event_conflicts.seq or finding_triage.seq, by record_kind. */
  @Column('bigint', { name: 'record_seq' })
  recordSeq!: string;

  @Column('bytea')
  salt!: Buffer;

  @Column('bytea', { name: 'payload_hash' })
  payloadHash!: Buffer;

  @Column('bytea', { name: 'leaf_hash' })
  leafHash!: Buffer;

  @Column('timestamptz', { name: 'sequenced_at', default: () => 'now()' })
  sequencedAt!: Date;
}
