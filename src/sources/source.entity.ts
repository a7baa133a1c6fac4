import type { JSONWebKeySet } from 'jose';
import { Check, Column, Entity, PrimaryColumn, Unique } from 'typeorm';
import type { SourceKind } from './source-kind';

/** A sender of webhooks: an authorization server, a token service or an agent. Configuration, not evidence. */
@Entity('sources')
@Unique('uq_sources_name', ['name'])
@Check('chk_sources_set_keys', `"set_jwks" IS NULL OR "set_jwks_uri" IS NULL`)
@Check('chk_sources_kind', `"kind" IN ('authorization_server', 'token_service', 'agent')`)
export class SourceEntity {
  @PrimaryColumn('uuid', { primaryKeyConstraintName: 'pk_sources' })
  id!: string;

  @Column('text')
  name!: string;

  @Column('text')
  kind!: SourceKind;

  @Column('timestamptz', { name: 'created_at', default: () => 'now()' })
  createdAt!: Date;

  /** Set while the source is disabled; its events are then refused. */
  @Column('timestamptz', { name: 'disabled_at', nullable: true })
  disabledAt!: Date | null;

  /** Public keys the source signs Security Event Tokens with (POST /v1/sets); at most one of these two is set. */
  @Column('jsonb', { name: 'set_jwks', nullable: true })
  setJwks!: JSONWebKeySet | null;

  @Column('text', { name: 'set_jwks_uri', nullable: true })
  setJwksUri!: string | null;
}
