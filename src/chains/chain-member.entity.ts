import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { EventEntity } from '../evidence/event.entity';
import { ChainEntity } from './chain.entity';

/** A record's membership of a chain, made when the record arrives or when a late record completes its link. */
@Entity('chain_members')
@Index('idx_chain_members_event', ['eventSeq'])
export class ChainMemberEntity {
  @PrimaryColumn('text', { name: 'chain_digest', primaryKeyConstraintName: 'pk_chain_members' })
  chainDigest!: string;

  @ManyToOne(() => ChainEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'chain_digest', foreignKeyConstraintName: 'fk_chain_members_chain' })
  chain?: ChainEntity;

  @PrimaryColumn('bigint', { name: 'event_seq', primaryKeyConstraintName: 'pk_chain_members' })
  eventSeq!: string;

  @ManyToOne(() => EventEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'event_seq', foreignKeyConstraintName: 'fk_chain_members_event' })
  event?: EventEntity;

  @Column('timestamptz', { name: 'linked_at', default: () => 'now()' })
  linkedAt!: Date;
}
