import type { JSONWebKeySet } from 'jose';
import { Check, Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * A registered OAuth client: the keys its request objects are verified with and its policy. Configuration, not
 * evidence; every verdict records the algorithm and key it used. Global: a client_id names one client whichever
 * authorization server reports it (docs/verification.md, "Clients").
 */
@Entity('clients')
@Check('chk_clients_one_key_source', `("jwks" IS NULL) <> ("jwks_uri" IS NULL)`)
@Check('chk_clients_lifetime', `"max_request_object_lifetime" > 0`)
export class ClientEntity {
  @PrimaryColumn('text', { name: 'client_id', primaryKeyConstraintName: 'pk_clients' })
  clientId!: string;

  @Column('jsonb', { nullable: true })
  jwks!: JSONWebKeySet | null;

  @Column('text', { name: 'jwks_uri', nullable: true })
  jwksUri!: string | null;

  @Column('text', { name: 'request_object_signing_alg_values', array: true })
  requestObjectSigningAlgValues!: string[];

  @Column('boolean', { name: 'require_signed_request_object' })
  requireSignedRequestObject!: boolean;

  /**
   * The encryption counterpart of require_signed_request_object: this client's requests must travel as a JWE. Read
   * by the findings (`unsigned_high_impact`), not by the verifier.
   */
  @Column('boolean', { name: 'require_encrypted_request_object', default: false })
  requireEncryptedRequestObject!: boolean;

  @Column('text', { name: 'request_object_encryption_alg_values', array: true })
  requestObjectEncryptionAlgValues!: string[];

  @Column('text', { name: 'request_object_encryption_enc_values', array: true })
  requestObjectEncryptionEncValues!: string[];

  @Column('text', { name: 'high_impact_scopes', array: true })
  highImpactScopes!: string[];

  @Column('text', { name: 'high_impact_authorization_details_types', array: true })
  highImpactAuthorizationDetailsTypes!: string[];

  /** Scopes whose requests must travel encrypted (finding `unencrypted_sensitive`). */
  @Column('text', { name: 'sensitive_scopes', array: true, default: () => "'{}'" })
  sensitiveScopes!: string[];

  @Column('text', { name: 'sensitive_authorization_details_types', array: true, default: () => "'{}'" })
  sensitiveAuthorizationDetailsTypes!: string[];

  /** The registered redirect URIs; empty when none are registered (finding `redirect_uri_unregistered` cannot judge). */
  @Column('text', { name: 'redirect_uris', array: true, default: () => "'{}'" })
  redirectUris!: string[];

  /** Seconds a request object may be valid for: exp minus nbf (or iat). */
  @Column('integer', { name: 'max_request_object_lifetime' })
  maxRequestObjectLifetime!: number;

  @Column('timestamptz', { name: 'created_at', default: () => 'now()' })
  createdAt!: Date;

  @Column('timestamptz', { name: 'updated_at', default: () => 'now()' })
  updatedAt!: Date;

  /** Set while the client is disabled: its request objects are then not verified (verdict client_disabled). */
  @Column('timestamptz', { name: 'disabled_at', nullable: true })
  disabledAt!: Date | null;
}
