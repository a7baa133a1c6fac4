import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { ChainEntity } from './chain.entity';

export const FACET_NAMES = ['client_id', 'issuer', 'subject', 'tool', 'independent_verdict', 'verdict_mismatch', 'unsigned'] as const;
export type FacetName = (typeof FACET_NAMES)[number];

/**
 * A searchable value of a chain (a client, an issuer, a subject pseudonym, a tool, a verdict, `unsigned`), stored in
 * the chain's order. Written when a record is linked or judged, never derived again: it outlives a purged payload.
 */
@Entity('chain_facets')
@Check('chk_chain_facets_name', `"name" IN ('client_id', 'issuer', 'subject', 'tool', 'independent_verdict', 'verdict_mismatch', 'unsigned')`)
@Index('idx_chain_facets_search', ['name', 'value', 'chainCreatedAt', 'chainDigest'])
@Index('idx_chain_facets_chain', ['chainDigest', 'name', 'value'])
export class ChainFacetEntity {
  @PrimaryColumn('text', { primaryKeyConstraintName: 'pk_chain_facets' })
  name!: FacetName;

  @PrimaryColumn('text', { primaryKeyConstraintName: 'pk_chain_facets' })
  value!: string;

  @PrimaryColumn('text', { name: 'chain_digest', primaryKeyConstraintName: 'pk_chain_facets' })
  chainDigest!: string;

  @ManyToOne(() => ChainEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'chain_digest', foreignKeyConstraintName: 'fk_chain_facets_chain' })
  chain?: ChainEntity;

  /** A copy of the chain's `created_at`, so that a search by one facet reads one index in order. */
  @Column('timestamptz', { name: 'chain_created_at' })
  chainCreatedAt!: Date;
}
