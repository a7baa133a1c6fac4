import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, Unique } from 'typeorm';
import { ApiKeyEntity } from '../access/api-key.entity';
import { FindingEntity, TRIAGE_STATUSES } from './finding.entity';

/**
 * A reviewer's triage of a finding: acknowledged, a false positive, or resolved, with a note. A record, not a state:
 * append-only (enforced by a trigger) and ledgered like the evidence (record kind `triage`), so a finding's history
 * of who decided what, and when, is tamper-evident. The finding's `triage_status` mirrors the latest one. Who decided:
 * an API key, or an access token's subject and issuer, exactly one (as export jobs).
 */
@Entity('finding_triage')
@Unique('uq_finding_triage_event_id', ['eventId'])
@Check('chk_finding_triage_status', `"status" IN (${TRIAGE_STATUSES.map((status) => `'${status}'`).join(', ')})`)
@Check(
  'chk_finding_triage_triaged_by',
  `("api_key_id" IS NOT NULL AND "triaged_by_subject" IS NULL AND "triaged_by_issuer" IS NULL) OR ("api_key_id" IS NULL AND "triaged_by_subject" IS NOT NULL AND "triaged_by_issuer" IS NOT NULL)`,
)
@Index('idx_finding_triage_finding', ['findingId', 'seq'])
export class FindingTriageEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS', primaryKeyConstraintName: 'pk_finding_triage' })
  seq!: string;

  @Column('bigint', { name: 'finding_id' })
  findingId!: string;

  @ManyToOne(() => FindingEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'finding_id', foreignKeyConstraintName: 'fk_finding_triage_finding' })
  finding?: FindingEntity;

  /** The record's id in the ledger's leaf (`triage-<uuid>`). */
  @Column('text', { name: 'event_id' })
  eventId!: string;

  /** Who triaged, when with an API key (its name is in `data`); null for an access token's holder. */
  @Column('uuid', { name: 'api_key_id', nullable: true })
  apiKeyId!: string | null;

  @ManyToOne(() => ApiKeyEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'api_key_id', foreignKeyConstraintName: 'fk_finding_triage_api_key' })
  apiKey?: ApiKeyEntity;

  /** Who triaged, when signed in with the identity provider: the access token's `sub`, with its issuer; else null. */
  @Column('text', { name: 'triaged_by_subject', nullable: true })
  triagedBySubject!: string | null;

  /** The access token's `iss`, with `triaged_by_subject`. */
  @Column('text', { name: 'triaged_by_issuer', nullable: true })
  triagedByIssuer!: string | null;

  @Column('text')
  status!: string;

  @Column('text')
  note!: string;

  @Column('timestamptz', { name: 'recorded_at', default: () => 'now()' })
  recordedAt!: Date;

  /** SHA-256 of the canonical JSON of `data`. */
  @Column('bytea')
  fingerprint!: Buffer;

  /** What was decided about what, by whom: the payload the ledger commits to. */
  @Column('jsonb')
  data!: Record<string, unknown>;
}
