import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import type { MasterKeyId } from '../common/crypto/keyring';
import { SourceEntity } from './source.entity';

/**
 * A webhook signing secret, sealed with AES-256-GCM under a key derived from the master key. A source has one
 * current secret (no expiry) and, after a rotation, older ones that stay valid until `expires_at`.
 */
@Entity('source_secrets')
@Index('idx_source_secrets_source', ['sourceId'])
export class SourceSecretEntity {
  @PrimaryColumn('uuid', { primaryKeyConstraintName: 'pk_source_secrets' })
  id!: string;

  @Column('uuid', { name: 'source_id' })
  sourceId!: string;

  @ManyToOne(() => SourceEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'source_id', foreignKeyConstraintName: 'fk_source_secrets_source' })
  source?: SourceEntity;

  @Column('bytea')
  sealed!: Buffer;

  /** The id of the master key it is sealed under. */
  @Column('text', { name: 'sealed_by' })
  sealedBy!: MasterKeyId;

  @Column('timestamptz', { name: 'created_at', default: () => 'now()' })
  createdAt!: Date;

  @Column('timestamptz', { name: 'expires_at', nullable: true })
  expiresAt!: Date | null;
}
