import { Check, Column, Entity, Index, PrimaryGeneratedColumn, Unique } from 'typeorm';
import { inListCheck } from '../common/sql-literal';
import { RULES, SEVERITIES } from './rule';

export const FINDING_STATUSES = ['open', 'resolved'] as const;
export type FindingStatus = (typeof FINDING_STATUSES)[number];

export const TRIAGE_STATUSES = ['acknowledged', 'false_positive', 'resolved'] as const;
export type TriageStatus = (typeof TRIAGE_STATUSES)[number];

/**
 * One thing a rule found in a chain (or in a loose record), derived from the evidence by the findings evaluator and
 * kept up to date as records arrive. Derived, not evidence: a finding that no longer holds is `resolved` (with when
 * and why), never deleted; every change is appended to finding_changes.
 */
@Entity('findings')
@Unique('uq_findings_subject_rule_key', ['subject', 'rule', 'findingKey'])
@Check('chk_findings_rule', inListCheck('rule', RULES))
@Check('chk_findings_severity', inListCheck('severity', SEVERITIES))
@Check('chk_findings_status', inListCheck('status', FINDING_STATUSES))
@Check('chk_findings_triage_status', inListCheck('triage_status', TRIAGE_STATUSES))
@Index('idx_findings_listing', ['firstSeenAt', 'id'])
@Index('idx_findings_chain', ['chainDigest'])
export class FindingEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS', primaryKeyConstraintName: 'pk_findings' })
  id!: string;

  /** What was evaluated: a chain digest, or `record:<seq>` for a record that joined no chain. */
  @Column('text')
  subject!: string;

  /** The chain, when the subject is one. */
  @Column('text', { name: 'chain_digest', nullable: true })
  chainDigest!: string | null;

  @Column('text')
  rule!: string;

  /** Names the finding within its subject and rule, stable across re-evaluations (rule.ts FindingDraft.key). */
  @Column('text', { name: 'finding_key' })
  findingKey!: string;

  @Column('text')
  severity!: string;

  @Column('text')
  status!: string;

  @Column('text')
  summary!: string;

  @Column('jsonb')
  facts!: Record<string, unknown>;

  /** [{kind: 'event' | 'conflict', seq}]: the records that prove it. */
  @Column('jsonb')
  evidence!: { kind: string; seq: string }[];

  /** From the chain's verification, for filtering; null for a loose record or a chain without one. */
  @Column('text', { name: 'client_id', nullable: true })
  clientId!: string | null;

  @Column('text', { nullable: true })
  issuer!: string | null;

  /** When the earliest of its evidence happened. */
  @Column('timestamptz', { name: 'occurred_at' })
  occurredAt!: Date;

  @Column('timestamptz', { name: 'first_seen_at' })
  firstSeenAt!: Date;

  @Column('timestamptz', { name: 'updated_at' })
  updatedAt!: Date;

  @Column('timestamptz', { name: 'resolved_at', nullable: true })
  resolvedAt!: Date | null;

  @Column('text', { nullable: true })
  resolution!: string | null;

  /** The latest triage (finding_triage), null until someone triages it. */
  @Column('text', { name: 'triage_status', nullable: true })
  triageStatus!: string | null;
}
