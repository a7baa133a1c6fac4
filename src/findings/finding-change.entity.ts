import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { FindingEntity } from './finding.entity';
import { SEVERITIES } from './rule';

export const FINDING_CHANGES = ['opened', 'escalated', 'deescalated', 'resolved', 'reopened'] as const;
export type FindingChange = (typeof FINDING_CHANGES)[number];

/**
 * The history of a finding as the evaluator changed it: append-only (enforced by a trigger), so "when did this
 * become high, and why was it resolved" has an answer. New, escalated and reopened findings are what subscribers
 * are told about.
 */
@Entity('finding_changes')
@Check('chk_finding_changes_change', `"change" IN (${FINDING_CHANGES.map((change) => `'${change}'`).join(', ')})`)
@Check('chk_finding_changes_severity', `"severity" IN (${SEVERITIES.map((severity) => `'${severity}'`).join(', ')})`)
@Index('idx_finding_changes_finding', ['findingId', 'id'])
export class FindingChangeEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS', primaryKeyConstraintName: 'pk_finding_changes' })
  id!: string;

  @Column('bigint', { name: 'finding_id' })
  findingId!: string;

  @ManyToOne(() => FindingEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'finding_id', foreignKeyConstraintName: 'fk_finding_changes_finding' })
  finding?: FindingEntity;

  @Column('text')
  change!: string;

  /** The severity after the change. */
  @Column('text')
  severity!: string;

  /** Why, in words (for `resolved`: what no longer holds). */
  @Column('text')
  reason!: string;

  @Column('timestamptz', { default: () => 'now()' })
  at!: Date;
}
