import { Check, Column, Entity, PrimaryColumn, Unique } from 'typeorm';
import type { SourceKind } from './source-kind';

/** A sender of webhooks: an authorization server, a token service or an agent. Configuration, not evidence. */
@Entity('sources')
@Unique('uq_sources_name', ['name'])
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
}
