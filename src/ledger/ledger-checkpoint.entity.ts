import { Column, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { LedgerSigningKeyEntity } from './ledger-signing-key.entity';

/** A signed tree head: at most one per tree size. Append-only. */
@Entity('ledger_checkpoints')
export class LedgerCheckpointEntity {
  @PrimaryColumn('bigint', { name: 'tree_size', primaryKeyConstraintName: 'pk_ledger_checkpoints' })
  treeSize!: string;

  @Column('bytea', { name: 'root_hash' })
  rootHash!: Buffer;

  @Column('timestamptz', { name: 'issued_at' })
  issuedAt!: Date;

  @Column('text')
  kid!: string;

  @ManyToOne(() => LedgerSigningKeyEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'kid', foreignKeyConstraintName: 'fk_ledger_checkpoints_key' })
  key?: LedgerSigningKeyEntity;

  @Column('text')
  jws!: string;
}
