import { Check, Column, Entity, PrimaryColumn, Unique } from 'typeorm';
import type { Scope } from './scopes';

/** An auditor API key. Only its SHA-256 is stored: the key itself is shown once, when it is made. */
@Entity('api_keys')
@Unique('uq_api_keys_key_sha256', ['keySha256'])
@Check('chk_api_keys_scopes', `"scopes" <@ ARRAY['audit:read', 'audit:export', 'audit:admin', 'audit:triage']::text[] AND cardinality("scopes") > 0`)
export class ApiKeyEntity {
  @PrimaryColumn('uuid', { primaryKeyConstraintName: 'pk_api_keys' })
  id!: string;

  @Column('text')
  name!: string;

  @Column('bytea', { name: 'key_sha256' })
  keySha256!: Buffer;

  @Column('text', { array: true })
  scopes!: Scope[];

  @Column('timestamptz', { name: 'created_at', default: () => 'now()' })
  createdAt!: Date;

  @Column('timestamptz', { name: 'revoked_at', nullable: true })
  revokedAt!: Date | null;
}
