import { Check, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { EventEntity } from '../evidence/event.entity';

export type TokenRefRole = 'identity' | 'parent' | 'usage' | 'revocation';

/**
 * How records name tokens: a token's own keys (`identity`), and the keys other records use for it (a child
 * token's `parent`, a tool call's `usage`, a `revocation`). Links resolve by joining on the key, whatever the
 * order in which the records arrive.
 */
@Entity('token_refs')
@Check('chk_token_refs_role', `"role" IN ('identity', 'parent', 'usage', 'revocation')`)
@Index('idx_token_refs_event', ['eventSeq'])
export class TokenRefEntity {
  @PrimaryColumn('text', { name: 'token_key', primaryKeyConstraintName: 'pk_token_refs' })
  tokenKey!: string;

  @PrimaryColumn('text', { primaryKeyConstraintName: 'pk_token_refs' })
  role!: TokenRefRole;

  @PrimaryColumn('bigint', { name: 'event_seq', primaryKeyConstraintName: 'pk_token_refs' })
  eventSeq!: string;

  @ManyToOne(() => EventEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'event_seq', foreignKeyConstraintName: 'fk_token_refs_event' })
  event?: EventEntity;
}
