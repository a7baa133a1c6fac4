import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { ApiKeyEntity } from './api-key.entity';

/**
 * What an auditor request presented, as the access guard judged it: one of our API keys (valid, revoked or unknown),
 * an access token of a configured identity provider (`jwt`: verified; `refused_jwt`: not), nothing, or a header
 * that is no bearer credential.
 */
export const PRESENTED_CREDENTIALS = ['api_key', 'revoked_key', 'unknown_key', 'no_key', 'malformed', 'jwt', 'refused_jwt'] as const;
export type PresentedCredential = (typeof PRESENTED_CREDENTIALS)[number];

/**
 * One auditor request, answered or refused: who looked at what, and when (SPEC "Query API"). Append-only. A refused
 * attempt names the key when it is one of ours (revoked), else a keyed fingerprint of what was presented: never the
 * presented value itself.
 */
@Entity('access_records')
@Index('idx_access_records_api_key', ['apiKeyId', 'seq'])
@Index('idx_access_records_at', ['at'])
@Index('idx_access_records_subject', ['subject', 'seq'], { where: '"subject" IS NOT NULL' })
@Check('chk_access_records_credential', `"credential" IN ('api_key', 'revoked_key', 'unknown_key', 'no_key', 'malformed', 'jwt', 'refused_jwt')`)
@Check('chk_access_records_key', `("api_key_id" IS NOT NULL) = ("credential" IN ('api_key', 'revoked_key'))`)
@Check(
  'chk_access_records_token',
  `("subject" IS NULL) = ("issuer" IS NULL) AND ("subject" IS NULL OR "credential" IN ('jwt', 'refused_jwt')) AND ("credential" <> 'jwt' OR "subject" IS NOT NULL)`,
)
export class AccessRecordEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS', primaryKeyConstraintName: 'pk_access_records' })
  seq!: string;

  /** The key that was presented, when it is one of ours; null for an unknown key, none, or a malformed header. */
  @Column('uuid', { name: 'api_key_id', nullable: true })
  apiKeyId!: string | null;

  @ManyToOne(() => ApiKeyEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'api_key_id', foreignKeyConstraintName: 'fk_access_records_api_key' })
  apiKey?: ApiKeyEntity;

  @Column('text')
  credential!: PresentedCredential;

  /** For an unknown key: a keyed fingerprint of it (`kfp:...`), so that repeated tries with one key can be told apart. */
  @Column('text', { name: 'presented_key_fingerprint', nullable: true })
  presentedKeyFingerprint!: string | null;

  /** `sub` of the access token: set for a verified token, and for a refused one whose signature verified (expired). */
  @Column('text', { nullable: true })
  subject!: string | null;

  /** `iss` of the access token, with `subject`: which identity provider vouched for the subject. */
  @Column('text', { nullable: true })
  issuer!: string | null;

  @Column('text')
  method!: string;

  /** The route's pattern (`/v1/chains/:digest`); null in records made before routes were recorded. */
  @Column('text', { nullable: true })
  route!: string | null;

  /** The route's path with its parameters, and the query string, as requested. */
  @Column('text')
  target!: string;

  @Column('integer')
  status!: number;

  @Column('text', { name: 'correlation_id' })
  correlationId!: string;

  @Column('timestamptz', { default: () => 'now()' })
  at!: Date;

  /** What an admin action changed, when the route says (a master-key rotation: the key ids); for a refused token, why (`token_error`). */
  @Column('jsonb', { nullable: true })
  detail!: Record<string, unknown> | null;
}
