import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { ApiKeyEntity } from './api-key.entity';

/** One auditor request: who looked at what, and when (SPEC "Query API"). Append-only. */
@Entity('access_records')
@Index('idx_access_records_api_key', ['apiKeyId', 'at'])
export class AccessRecordEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS', primaryKeyConstraintName: 'pk_access_records' })
  seq!: string;

  @Column('uuid', { name: 'api_key_id' })
  apiKeyId!: string;

  @ManyToOne(() => ApiKeyEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'api_key_id', foreignKeyConstraintName: 'fk_access_records_api_key' })
  apiKey?: ApiKeyEntity;

  @Column('text')
  method!: string;

  /** The route's path with its parameters, and the query string, as requested. */
  @Column('text')
  target!: string;

  @Column('integer')
  status!: number;

  @Column('text', { name: 'correlation_id' })
  correlationId!: string;

  @Column('timestamptz', { default: () => 'now()' })
  at!: Date;

  /** What an admin action changed, when the route says (a master-key rotation: the key ids). */
  @Column('jsonb', { nullable: true })
  detail!: Record<string, unknown> | null;
}
