import { Check, Column, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { EventEntity } from '../evidence/event.entity';
import type { Reason } from './verification/reasons';

/**
 * jartrail's own verdict on the request object of one verification event, inserted once when final. Evidence:
 * append-only, enforced by a trigger. Until it exists the verification is pending (a row in the queue).
 */
@Entity('independent_verdicts')
@Check('chk_independent_verdicts_verdict', `"verdict" IN ('verified', 'rejected', 'unverifiable', 'not_verifiable')`)
@Check('chk_independent_verdicts_as_verdict', `"as_verdict" IN ('accepted', 'rejected')`)
export class IndependentVerdictEntity {
  @PrimaryColumn('bigint', { name: 'event_seq', primaryKeyConstraintName: 'pk_independent_verdicts' })
  eventSeq!: string;

  @ManyToOne(() => EventEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'event_seq', foreignKeyConstraintName: 'fk_independent_verdicts_event' })
  event?: EventEntity;

  @Column('text')
  verdict!: string;

  /**
   * The AS's verdict, copied so that a mismatch is visible without reading the event; null when retention purged the
   * event while its verification was queued (the verdict is then `unverifiable`, `payload_purged`).
   */
  @Column('text', { name: 'as_verdict', nullable: true })
  asVerdict!: string | null;

  /** The AS accepted what jartrail rejects, or rejected what jartrail verified. */
  @Column('boolean')
  mismatch!: boolean;

  @Column('jsonb')
  reasons!: Reason[];

  @Column('text', { nullable: true })
  alg!: string | null;

  @Column('text', { nullable: true })
  kid!: string | null;

  /** The digest of the inner JWS, computed by jartrail after decrypting (null when it could not decrypt). */
  @Column('text', { name: 'inner_digest', nullable: true })
  innerDigest!: string | null;

  /** Encrypted and not decrypted: only the AS's word about what is inside. */
  @Column('boolean')
  opaque!: boolean;

  @Column('timestamptz', { name: 'verified_at', default: () => 'now()' })
  verifiedAt!: Date;
}
