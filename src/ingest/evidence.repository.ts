import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { withTransactionRetry } from '../database/transaction-retry';
import { VerificationRepository } from '../request-objects/verification.repository';
import type { ValidatedEvent } from './event-validator';

export type RecordedStatus = 'accepted' | 'duplicate' | 'conflict';

/** What became of one event of a delivery. */
export interface RecordedEvent {
  readonly status: RecordedStatus;
  /**
   * The position of the record (its seq): the event's own when accepted or a duplicate, the original's for a
   * conflict. A reader that passes it as `min_position` sees the record linked.
   */
  readonly position: string;
}

/** The outcome of one recording transaction. */
export interface Recording {
  readonly events: readonly RecordedEvent[];
  /** Events newly recorded: the linker has work. */
  readonly inserted: number;
  /** Request objects queued for independent verification. */
  readonly queuedForVerification: number;
}

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

/**
 * The append-only evidence tables: accepted events and conflicting redeliveries, and the one transaction that
 * records a delivery.
 */
@Injectable()
export class EvidenceRepository {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly verification: VerificationRepository,
  ) {}

  /**
   * Records a delivery's valid events, returning each one's status in input order. One transaction for the whole
   * delivery: the events, the conflicts, their places in the ledger and link queues (triggers on the tables) and in
   * the verification queue commit together or not at all. Chain links are derived after commit (LinkerWorker).
   */
  async record(sourceId: string, events: readonly ValidatedEvent[]): Promise<Recording> {
    if (events.length === 0) return { events: [], inserted: 0, queuedForVerification: 0 };
    return withTransactionRetry(() =>
      this.dataSource.transaction(async (manager) => {
        // Within one delivery the first occurrence of an id is the candidate record; repeats compare against it.
        const candidates = new Map<string, ValidatedEvent>();
        for (const event of events) if (!candidates.has(event.eventId)) candidates.set(event.eventId, event);

        const inserted = await this.insertNew(manager, sourceId, [...candidates.values()]);
        const insertedIds = new Set(inserted.map(({ eventId }) => eventId));
        const stored = new Map<string, { seq: string; fingerprint: Buffer; isNew: boolean }>();
        for (const { seq, eventId } of inserted) stored.set(eventId, { seq, fingerprint: candidates.get(eventId)!.fingerprint, isNew: true });
        const earlier = await this.findExisting(manager, sourceId, [...candidates.keys()].filter((id) => !insertedIds.has(id)));
        for (const { seq, eventId, fingerprint } of earlier) stored.set(eventId, { seq, fingerprint, isNew: false });

        const seenNew = new Set<string>();
        const recorded = events.map((event): RecordedEvent => {
          const record = stored.get(event.eventId)!;
          if (record.isNew && !seenNew.has(event.eventId)) {
            seenNew.add(event.eventId);
            return { status: 'accepted', position: record.seq };
          }
          return { status: record.fingerprint.equals(event.fingerprint) ? 'duplicate' : 'conflict', position: record.seq };
        });
        await this.insertConflicts(
          manager,
          sourceId,
          events.flatMap((event, index) => (recorded[index]!.status === 'conflict' ? [{ originalSeq: stored.get(event.eventId)!.seq, event }] : [])),
        );
        // Verification is queued, not done here: a slow key fetch or a failing object never holds up or undoes ingest.
        const toVerify = inserted.flatMap(({ seq, eventId }) => {
          const work = candidates.get(eventId)!.independentVerification;
          return work ? [{ eventSeq: seq, requestObject: work.requestObject }] : [];
        });
        await this.verification.enqueue(manager, toVerify);
        return { events: recorded, inserted: inserted.length, queuedForVerification: toVerify.length };
      }),
    );
  }

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
