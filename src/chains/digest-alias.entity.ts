import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { EventEntity } from '../evidence/event.entity';
import { ChainEntity } from './chain.entity';

/** The digest of the inner JWS of an encrypted request object: an alias of the JWE's chain. */
@Entity('digest_aliases')
@Index('idx_digest_aliases_chain', ['chainDigest'])
export class DigestAliasEntity {
  @PrimaryColumn('text', { primaryKeyConstraintName: 'pk_digest_aliases' })
  alias!: string;

  @PrimaryColumn('text', { name: 'chain_digest', primaryKeyConstraintName: 'pk_digest_aliases' })
  chainDigest!: string;

  @ManyToOne(() => ChainEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'chain_digest', foreignKeyConstraintName: 'fk_digest_aliases_chain' })
  chain?: ChainEntity;

  /** The verification event that reported the alias. */
  @Column('bigint', { name: 'event_seq' })
  eventSeq!: string;

  @ManyToOne(() => EventEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'event_seq', foreignKeyConstraintName: 'fk_digest_aliases_event' })
  event?: EventEntity;
}
