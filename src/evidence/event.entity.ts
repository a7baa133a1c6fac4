import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, Unique } from 'typeorm';
import { inListCheck } from '../common/sql-literal';
import { SourceEntity } from '../sources/source.entity';
import { EVENT_TYPE_NAMES } from './event-types';

/**
 * The types the definitions declare. A migration writes the live constraint; test/database/type-constraints.spec.ts
 * fails when it and the definitions differ (a new type needs a migration).
 */
export const EVENT_TYPE_CHECK = inListCheck('type', EVENT_TYPE_NAMES);

/**
 * Evidence: one accepted event, exactly once per (source, event id). Append-only, enforced by a trigger.
 * The expression indexes (declared here, created by the migration) serve the lookups by call id, side-effect
 * reference and request_uri, and the findings' search for a request-object jti reused by one client.
 */
@Entity('events')
@Unique('uq_events_source_event_id', ['sourceId', 'eventId'])
@Check('chk_events_type', EVENT_TYPE_CHECK)
@Index('idx_events_call_id', { synchronize: false })
@Index('idx_events_side_effect_reference', { synchronize: false })
@Index('idx_events_request_uri', { synchronize: false })
@Index('idx_events_request_object_jti', { synchronize: false })
export class EventEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS', primaryKeyConstraintName: 'pk_events' })
  seq!: string;

  @Column('uuid', { name: 'source_id' })
  sourceId!: string;

  @ManyToOne(() => SourceEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'source_id', foreignKeyConstraintName: 'fk_events_source' })
  source?: SourceEntity;

  @Column('text', { name: 'event_id' })
  eventId!: string;

  @Column('text')
  type!: string;

  /** The envelope's `timestamp`: when the sender says it emitted the event. */
  @Column('timestamptz', { name: 'emitted_at' })
  emittedAt!: Date;

  /** When the recorded thing happened (a token's iat, a tool call's start, ...): the timeline's order. */
  @Column('timestamptz', { name: 'occurred_at' })
  occurredAt!: Date;

  @Column('timestamptz', { name: 'recorded_at', default: () => 'now()' })
  recordedAt!: Date;

  /** Keyed hash of the canonical envelope as received: tells a redelivery from a changed body. */
  @Column('bytea')
  fingerprint!: Buffer;

  /** The event's `data` after minimisation (pseudonymous subject, request object only when kept). */
  /** NULL once purged by retention (jartrail_purge_payloads); the ledger still commits to its salted hash. */
  @Column('jsonb', { nullable: true })
  data!: Record<string, unknown> | null;
}
