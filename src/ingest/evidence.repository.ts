import { Injectable } from '@nestjs/common';
import type { DataSource, EntityManager } from 'typeorm';
import type { ValidatedEvent } from './event-validator';

/** What became of one delivered event: new, the same body again, or a different body under a known id. */
export type RecordedStatus = 'accepted' | 'duplicate' | 'conflict';

/** One parameter for a whole delivery, whatever its size: the rows and the links jartrail_record_delivery reads. */
function deliveryRows(events: readonly ValidatedEvent[]): string {
  return JSON.stringify(
    events.map(({ eventId, type, emittedAt, occurredAt, fingerprint, data, links }) => ({
      event_id: eventId,
      type,
      emitted_at: emittedAt.toISOString(),
      occurred_at: occurredAt.toISOString(),
      fingerprint: fingerprint.toString('base64'),
      data,
      digest: links.digest,
      inner_digest: links.innerDigest,
      token_identity: links.tokenIdentity,
      reference_role: links.tokenReference?.role,
      reference_keys: links.tokenReference?.keys,
    })),
  );
}

/**
 * The append-only evidence: accepted events, conflicting redeliveries, and the chain links they make. The work is
 * one SQL function (migrations/1795900000000-RecordDeliveryInOneStatement.ts), so a delivery costs one round trip.
 */
@Injectable()
export class EvidenceRepository {
  /**
   * Records a delivery and returns each event's status in input order. Run on the DataSource it is its own
   * transaction (one statement); run on a transaction's EntityManager it joins that transaction.
   */
  async recordDelivery(executor: DataSource | EntityManager, sourceId: string, events: readonly ValidatedEvent[]): Promise<RecordedStatus[]> {
    if (events.length === 0) return [];
    const rows: { position: number; status: RecordedStatus }[] = await executor.query(
      `SELECT position, status FROM jartrail_record_delivery($1::uuid, $2::jsonb)`,
      [sourceId, deliveryRows(events)],
    );
    if (rows.length !== events.length) throw new Error(`jartrail_record_delivery answered ${rows.length} statuses for ${events.length} events`);
    return rows.map((row) => row.status);
  }
}
