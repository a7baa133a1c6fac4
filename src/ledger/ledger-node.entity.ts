import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * The node store: the hash of every complete subtree, the 2^level leaves from idx * 2^level. Level 0 holds the
 * leaf hashes. Any root or proof is O(log n) of these. Append-only.
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
