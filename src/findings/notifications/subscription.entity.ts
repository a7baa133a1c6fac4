import { Check, Column, Entity, PrimaryGeneratedColumn, Unique } from 'typeorm';
import type { MasterKeyId } from '../../common/crypto/keyring';
import { RULES, SEVERITIES } from '../rule';

const quoted = (values: readonly string[]) => values.map((value) => `'${value}'`).join(', ');

/**
 * Someone to tell about findings: a URL that receives Standard Webhooks, the rules and the lowest severity it wants,
 * and its `whsec_` signing secret, sealed like source secrets (AES-256-GCM under a key derived from the master key,
 * bound to `secret_id`). Disabled, never deleted: its deliveries and their attempts are history.
 */
@Entity('notification_subscriptions')
@Unique('uq_notification_subscriptions_secret_id', ['secretId'])
@Check('chk_notification_subscriptions_rules', `"rules" <@ ARRAY[${quoted(RULES)}]::text[] AND cardinality("rules") > 0`)
@Check('chk_notification_subscriptions_min_severity', `"min_severity" IN (${quoted(SEVERITIES)})`)
export class SubscriptionEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS', primaryKeyConstraintName: 'pk_notification_subscriptions' })
  id!: string;

  @Column('text')
  url!: string;

  /** The rules notified; null: every rule. */
  @Column('text', { array: true, nullable: true })
  rules!: string[] | null;

  /** Changes to a severity below this are not notified. */
  @Column('text', { name: 'min_severity' })
  minSeverity!: string;

  @Column('text', { nullable: true })
  description!: string | null;

  /** What the sealed secret is bound to; a new one with each rotation. */
  @Column('uuid', { name: 'secret_id' })
  secretId!: string;

  @Column('bytea')
  sealed!: Buffer;

  @Column('text', { name: 'sealed_by' })
  sealedBy!: MasterKeyId;

  @Column('timestamptz', { name: 'created_at', default: () => 'now()' })
  createdAt!: Date;

  @Column('timestamptz', { name: 'secret_rotated_at', nullable: true })
  secretRotatedAt!: Date | null;

  @Column('timestamptz', { name: 'disabled_at', nullable: true })
  disabledAt!: Date | null;
}
