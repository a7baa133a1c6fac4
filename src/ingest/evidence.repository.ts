import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { PreparedStatements } from '../database/prepared-statements';
import { withTransactionRetry } from '../database/transaction-retry';
import type { ValidatedEvent } from '../evidence/event-validator';

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

/** The outcome of recording one delivery. */
export interface Recording {
  readonly events: readonly RecordedEvent[];
  /** Events newly recorded: the linker has work. */
  readonly inserted: number;
  /** Request objects queued for independent verification. */
  readonly queuedForVerification: number;
}

/**
 * A delivery in one statement, so in one transaction of its own (autocommit) and one round trip: the new events
 * (with their places in the ledger and link queues, written by the triggers on events), the bodies that conflict
 * with a stored event under the same id (kept as evidence), and the verification queue. The first occurrence of an
 * id in the delivery is its candidate; later ones compare against whatever is stored under the id, the candidate
 * included. Every CTE reads the snapshot of the statement's start, so an event that a concurrent delivery commits
 * meanwhile is neither inserted (the unique constraint waits, then skips it) nor seen: the statement then aborts
 * itself as a serialization failure and runs again.
 *
 * A named prepared statement: each connection plans it once, not at every delivery.
 */
const RECORD_DELIVERY = {
  name: 'jartrail_record_delivery',
  text: `WITH input AS (
    SELECT * FROM ROWS FROM (jsonb_to_recordset($2::jsonb)
      AS (event_id text, type text, emitted_at timestamptz, occurred_at timestamptz, fingerprint text, data jsonb, verify boolean, request_object text))
      WITH ORDINALITY AS r(event_id, type, emitted_at, occurred_at, fingerprint, data, verify, request_object, position)
  ), candidates AS (
    SELECT DISTINCT ON (event_id) * FROM input ORDER BY event_id, position
  ), existing AS (
    SELECT e.seq, e.event_id, e.fingerprint FROM events e
    WHERE e.source_id = $1::uuid AND e.event_id IN (SELECT event_id FROM candidates)
  ), inserted AS (
    INSERT INTO events (source_id, event_id, type, emitted_at, occurred_at, fingerprint, data)
    SELECT $1::uuid, c.event_id, c.type, c.emitted_at, c.occurred_at, decode(c.fingerprint, 'base64'), c.data
    FROM candidates c
    WHERE NOT EXISTS (SELECT 1 FROM existing x WHERE x.event_id = c.event_id)
    ORDER BY c.position
    ON CONFLICT ON CONSTRAINT uq_events_source_event_id DO NOTHING
    RETURNING seq, event_id, fingerprint
  ), stored AS (
    SELECT seq, event_id, fingerprint, true AS is_new FROM inserted
    UNION ALL
    SELECT seq, event_id, fingerprint, false AS is_new FROM existing
  ), conflicts AS (
    INSERT INTO event_conflicts (source_id, event_id, original_seq, type, emitted_at, fingerprint, data)
    SELECT $1::uuid, i.event_id, s.seq, i.type, i.emitted_at, decode(i.fingerprint, 'base64'), i.data
    FROM input i JOIN stored s ON s.event_id = i.event_id
    WHERE s.fingerprint <> decode(i.fingerprint, 'base64')
    ORDER BY i.position
    ON CONFLICT ON CONSTRAINT uq_event_conflicts_delivery DO NOTHING
  ), queued AS (
    INSERT INTO verification_queue (event_seq, request_object, attempts)
    SELECT s.seq, c.request_object, 0 FROM inserted s JOIN candidates c ON c.event_id = s.event_id
    WHERE c.verify
    ON CONFLICT ON CONSTRAINT pk_verification_queue DO NOTHING
    RETURNING event_seq
  )
  SELECT s.seq::text, s.event_id, encode(s.fingerprint, 'base64') AS fingerprint, s.is_new, (SELECT count(*) FROM queued)::int AS queued
  FROM stored s
  UNION ALL
  SELECT jartrail_retry_statement()::text, NULL, NULL, NULL, NULL
  WHERE (SELECT count(*) FROM candidates) > (SELECT count(*) FROM stored)`,
};

/**
 * The common case of a single event, new: its insert (typed parameters, as one INSERT of the event would be) and its
 * place in the verification queue, in one statement. No row back means the id is stored already (or a concurrent
 * delivery holds it) and nothing was written: RECORD_DELIVERY then decides duplicate or conflict.
 */
const RECORD_NEW_EVENT = {
  name: 'jartrail_record_new_event',
  text: `WITH inserted AS (
    INSERT INTO events (source_id, event_id, type, emitted_at, occurred_at, fingerprint, data)
    VALUES ($1::uuid, $2, $3, $4, $5, $6, $7)
    ON CONFLICT ON CONSTRAINT uq_events_source_event_id DO NOTHING
    RETURNING seq
  ), queued AS (
    INSERT INTO verification_queue (event_seq, request_object, attempts)
    SELECT seq, $9, 0 FROM inserted WHERE $8::boolean
    RETURNING event_seq
  )
  SELECT seq::text, (SELECT count(*) FROM queued)::int AS queued FROM inserted`,
};

type StoredRow = { seq: string; event_id: string; fingerprint: string; is_new: boolean; queued: number };

/** Rows for jsonb_to_recordset: one parameter for a whole delivery, whatever its size. */
function deliveryRows(events: readonly ValidatedEvent[]): string {
  return JSON.stringify(
    events.map((event) => ({
      event_id: event.eventId,
      type: event.type,
      emitted_at: event.emittedAt.toISOString(),
      occurred_at: event.occurredAt.toISOString(),
      fingerprint: event.fingerprint.toString('base64'),
      data: event.data,
      verify: event.independentVerification !== undefined,
      request_object: event.independentVerification?.requestObject ?? null,
    })),
  );
}

/**
 * The append-only evidence tables: accepted events and conflicting redeliveries, recorded by named prepared
 * statements.
 */
@Injectable()
export class EvidenceRepository {
  private readonly statements: PreparedStatements;

  constructor(@InjectDataSource() dataSource: DataSource) {
    this.statements = new PreparedStatements(dataSource);
  }

  /**
   * Records a delivery's valid events, returning each one's status in input order; all of it commits or none.
   * The unique (source, event id) constraint decides between concurrent deliveries, so two replicas receiving the
   * same event at once store it exactly once.
   */
  async record(sourceId: string, events: readonly ValidatedEvent[]): Promise<Recording> {
    if (events.length === 0) return { events: [], inserted: 0, queuedForVerification: 0 };
    if (events.length === 1) {
      const [event] = events as [ValidatedEvent];
      const rows = await this.statements.run<{ seq: string; queued: number }>(RECORD_NEW_EVENT, [
        sourceId,
        event.eventId,
        event.type,
        event.emittedAt,
        event.occurredAt,
        event.fingerprint,
        event.data,
        event.independentVerification !== undefined,
        event.independentVerification?.requestObject ?? null,
      ]);
      if (rows.length === 1) return { events: [{ status: 'accepted', position: rows[0]!.seq }], inserted: 1, queuedForVerification: rows[0]!.queued };
    }
    const parameters = [sourceId, deliveryRows(events)];
    const rows = await withTransactionRetry(() => this.statements.run<StoredRow>(RECORD_DELIVERY, parameters));
    const stored = new Map(rows.map((row) => [row.event_id, { seq: row.seq, fingerprint: Buffer.from(row.fingerprint, 'base64'), isNew: row.is_new }]));

    const seenNew = new Set<string>();
    const recorded = events.map((event): RecordedEvent => {
      const record = stored.get(event.eventId)!;
      if (record.isNew && !seenNew.has(event.eventId)) {
        seenNew.add(event.eventId);
        return { status: 'accepted', position: record.seq };
      }
      return { status: record.fingerprint.equals(event.fingerprint) ? 'duplicate' : 'conflict', position: record.seq };
    });
    return { events: recorded, inserted: seenNew.size, queuedForVerification: rows[0]?.queued ?? 0 };
  }
}
