import { Column, Entity, JoinColumn, OneToOne, PrimaryColumn } from 'typeorm';
import type { MasterKeyId } from '../common/crypto/keyring';
import { LedgerSigningKeyEntity } from './ledger-signing-key.entity';

/**
 * The private part of a generated ledger signing key: AES-256-GCM under a key derived from the master key, bound
 * to the kid. Apart from the append-only key itself so that a master-key rotation can re-seal it.
 */
@Entity('ledger_signing_key_secrets')
export class LedgerSigningKeySecretEntity {
  @PrimaryColumn('text', { primaryKeyConstraintName: 'pk_ledger_signing_key_secrets' })
  kid!: string;

  @OneToOne(() => LedgerSigningKeyEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'kid', foreignKeyConstraintName: 'fk_ledger_signing_key_secrets_key' })
  key?: LedgerSigningKeyEntity;

  @Column('bytea')
  sealed!: Buffer;

  @Column('text', { name: 'sealed_by' })
  sealedBy!: MasterKeyId;
}
