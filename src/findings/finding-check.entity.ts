import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import type { CheckCause } from './check-cause';

/**
 * The queue of subjects to evaluate: a chain digest, or `record:<seq>` for a record that joined no chain. Appended
 * by the linker (records joined a chain, or a replay key they share), the verification worker (a verdict) and the
 * evaluator itself (a grace period ends at `due_at`), each saying why (`cause`); one subject may be queued many times. The evaluator deletes
 * the rows it evaluated, in the transaction that writes their findings.
 */
@Entity('finding_checks')
@Index('idx_finding_checks_due', ['dueAt'])
@Index('idx_finding_checks_subject', ['subject'])
export class FindingCheckEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS', primaryKeyConstraintName: 'pk_finding_checks' })
  id!: string;

  @Column('text')
  subject!: string;

  @Column('timestamptz', { name: 'due_at', default: () => 'clock_timestamp()' })
  dueAt!: Date;

  /** What queued it, for the reason of a finding its evaluation resolves; null on rows queued before causes were kept. */
  @Column('jsonb', { nullable: true })
  cause!: CheckCause | null;
}
