import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * The node store: the hash of every complete subtree of two leaves or more, the 2^level leaves from idx * 2^level
 * (level ≥ 1; the leaf hashes, level 0, are in ledger_entries). Any root or proof is O(log n) of these. Append-only.
 */
@Entity('ledger_nodes')
export class LedgerNodeEntity {
  @PrimaryColumn('smallint', { primaryKeyConstraintName: 'pk_ledger_nodes' })
  level!: number;

  @PrimaryColumn('bigint', { primaryKeyConstraintName: 'pk_ledger_nodes' })
  idx!: string;

  @Column('bytea')
  hash!: Buffer;
}
