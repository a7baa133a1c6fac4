import { Check, Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * A checkpoint signing key. The newest key with a private part is the current one; older keys are retired but
 * stay published in the JWKS, so old checkpoints keep verifying. The private part is in ledger_signing_key_secrets
 * (a key given as a file has none).
 * Append-only: rotation adds a key.
 */
@Entity('ledger_signing_keys')
@Check('chk_ledger_signing_keys_alg', `"alg" IN ('EdDSA', 'ES256')`)
export class LedgerSigningKeyEntity {
  /** The RFC 7638 thumbprint of the public key. */
  @PrimaryColumn('text', { primaryKeyConstraintName: 'pk_ledger_signing_keys' })
  kid!: string;

  @Column('text')
  alg!: string;

  @Column('jsonb', { name: 'public_jwk' })
  publicJwk!: Record<string, unknown>;

  @Column('timestamptz', { name: 'created_at', default: () => 'now()' })
  createdAt!: Date;
}
