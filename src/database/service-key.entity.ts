import { Check, Column, Entity, PrimaryColumn } from 'typeorm';
import type { MasterKeyId } from '../common/crypto/keyring';

export const SERVICE_KEY_PURPOSES = ['subject_pseudonym', 'event_fingerprint'] as const;
export type ServiceKeyPurpose = (typeof SERVICE_KEY_PURPOSES)[number];

/**
 * The HMAC keys that stored pseudonyms and fingerprints depend on, derived once from the first master key and kept
 * sealed under the current one, so that a master-key rotation changes none of them.
 */
@Entity('service_keys')
@Check('chk_service_keys_purpose', `"purpose" IN ('subject_pseudonym', 'event_fingerprint')`)
export class ServiceKeyEntity {
  @PrimaryColumn('text', { primaryKeyConstraintName: 'pk_service_keys' })
  purpose!: ServiceKeyPurpose;

  @Column('bytea')
  sealed!: Buffer;

  @Column('text', { name: 'sealed_by' })
  sealedBy!: MasterKeyId;
}
