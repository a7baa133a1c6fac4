import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { ChainEntity } from './chain.entity';

import { inListCheck } from '../common/sql-literal';
import { FACET_NAMES } from '../evidence/event-types';

/** A facet name the event types or the verdicts declare (evidence/facets.ts); the CHECK below allows only those. */
export type FacetName = string;

/**
 * A searchable value of a chain (a client, an issuer, a subject pseudonym, a tool, a verdict, `unsigned`), stored in
 * the chain's order. Written when a record is linked or judged, never derived again: it outlives a purged payload.
 */
@Entity('chain_facets')
// A migration writes the live constraint; test/database/type-constraints.spec.ts fails when it and FACET_NAMES differ.
@Check('chk_chain_facets_name', inListCheck('name', FACET_NAMES))
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
