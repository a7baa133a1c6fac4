import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { ValidatedEvent } from './event-validator';

export interface InsertedEvent {
  readonly seq: string;
  readonly eventId: string;
}

export interface ExistingEvent {
  readonly seq: string;
  readonly eventId: string;
  readonly fingerprint: Buffer;
}

export interface ConflictingDelivery {
  readonly originalSeq: string;
  readonly event: ValidatedEvent;
}

/** Rows for jsonb_to_recordset: one parameter for a whole batch, whatever its size. */
function eventRows(events: readonly ValidatedEvent[]) {
  return JSON.stringify(
    events.map((event) => ({
      event_id: event.eventId,
      type: event.type,
      emitted_at: event.emittedAt.toISOString(),
      occurred_at: event.occurredAt.toISOString(),
      fingerprint: event.fingerprint.toString('base64'),
      data: event.data,
    })),
  );
}

/** The append-only evidence tables: accepted events and conflicting redeliveries. All SQL runs in the caller's transaction. */
@Injectable()
export class EvidenceRepository {
  /**
   * Inserts the events that are new for this source. The unique (source, event id) constraint decides, so two
   * replicas receiving the same event at once store it exactly once: the second insert waits for the first
   * transaction and then does nothing.
   */
  async insertNew(manager: EntityManager, sourceId: string, events: readonly ValidatedEvent[]): Promise<InsertedEvent[]> {
    if (events.length === 0) return [];
    const rows: { seq: string; event_id: string }[] = await manager.query(
      `INSERT INTO events (source_id, event_id, type, emitted_at, occurred_at, fingerprint, data)
       SELECT $1::uuid, r.event_id, r.type, r.emitted_at, r.occurred_at, decode(r.fingerprint, 'base64'), r.data
       FROM jsonb_to_recordset($2::jsonb)
         AS r(event_id text, type text, emitted_at timestamptz, occurred_at timestamptz, fingerprint text, data jsonb)
       ON CONFLICT ON CONSTRAINT uq_events_source_event_id DO NOTHING
       RETURNING seq, event_id`,
      [sourceId, eventRows(events)],
    );
    return rows.map((row) => ({ seq: String(row.seq), eventId: row.event_id }));
  }

  async findExisting(manager: EntityManager, sourceId: string, eventIds: readonly string[]): Promise<ExistingEvent[]> {
    if (eventIds.length === 0) return [];
    const rows: { seq: string; event_id: string; fingerprint: Buffer }[] = await manager.query(
      `SELECT seq, event_id, fingerprint FROM events WHERE source_id = $1 AND event_id = ANY($2::text[])`,
      [sourceId, eventIds],
    );
    return rows.map((row) => ({ seq: String(row.seq), eventId: row.event_id, fingerprint: row.fingerprint }));
  }

  /** Keeps each distinct conflicting body once, as evidence. */
  async insertConflicts(manager: EntityManager, sourceId: string, conflicts: readonly ConflictingDelivery[]): Promise<void> {
    if (conflicts.length === 0) return;
    await manager.query(
      `INSERT INTO event_conflicts (source_id, event_id, original_seq, type, emitted_at, fingerprint, data)
       SELECT $1::uuid, r.event_id, r.original_seq, r.type, r.emitted_at, decode(r.fingerprint, 'base64'), r.data
       FROM jsonb_to_recordset($2::jsonb)
         AS r(event_id text, original_seq bigint, type text, emitted_at timestamptz, fingerprint text, data jsonb)
       ON CONFLICT ON CONSTRAINT uq_event_conflicts_delivery DO NOTHING`,
      [
        sourceId,
        JSON.stringify(
          conflicts.map(({ originalSeq, event }) => ({
            event_id: event.eventId,
            original_seq: originalSeq,
            type: event.type,
            emitted_at: event.emittedAt.toISOString(),
            fingerprint: event.fingerprint.toString('base64'),
            data: event.data,
          })),
        ),
      ],
    );
  }
}
