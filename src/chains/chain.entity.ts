import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/*
 * The chain tables are derived from the evidence in `events` and could be rebuilt from it. They are append-only
 * all the same, since a link, once made, is part of what jartrail showed an auditor. Each is keyed by the chain
 * digest first, so that on Citus they can be distributed by digest and a chain lives on one shard.
 */

/** A chain: every record that names a digest, plus every record linked to it through a token. */
@Entity('chains')
@Index('idx_chains_created', ['createdAt', 'digest'])
export class ChainEntity {
  @PrimaryColumn('text', { primaryKeyConstraintName: 'pk_chains' })
  digest!: string;

  /** When jartrail first recorded anything of this chain: a stable order for search. */
  @Column('timestamptz', { name: 'created_at', default: () => 'now()' })
  createdAt!: Date;
}
