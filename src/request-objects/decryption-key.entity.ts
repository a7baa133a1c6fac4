import type { JWK } from 'jose';
import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import type { MasterKeyId } from '../common/crypto/keyring';

/**
 * A private key an authorization server decrypts request objects with, given to jartrail so that it can verify
 * the JWS inside. Sealed with AES-256-GCM under the keyring's sealing key, bound to its row; only the public part
 * is ever shown.
 */
@Entity('decryption_keys')
@Index('idx_decryption_keys_issuer', ['issuer'])
export class DecryptionKeyEntity {
  @PrimaryColumn('uuid', { primaryKeyConstraintName: 'pk_decryption_keys' })
  id!: string;

  /** The AS (its issuer identifier) whose request objects this key decrypts. */
  @Column('text')
  issuer!: string;

  @Column('text', { nullable: true })
  kid!: string | null;

  /** The JWE key management algorithm, e.g. RSA-OAEP-256 or ECDH-ES+A256KW. */
  @Column('text')
  alg!: string;

  @Column('jsonb', { name: 'public_jwk' })
  publicJwk!: JWK;

  @Column('bytea')
  sealed!: Buffer;

  /** The id of the master key it is sealed under. */
  @Column('text', { name: 'sealed_by' })
  sealedBy!: MasterKeyId;

  @Column('timestamptz', { name: 'created_at', default: () => 'now()' })
  createdAt!: Date;

  /** Set once the key is disabled: kept (verdicts refer to it), never opened or used to decrypt again. */
  @Column('timestamptz', { name: 'disabled_at', nullable: true })
  disabledAt!: Date | null;
}
