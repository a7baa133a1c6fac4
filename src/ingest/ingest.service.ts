import { Inject, Injectable } from '@nestjs/common';
import { LinkerWorker } from '../chains/linker.worker';
import { ProblemException, type ProblemDocument } from '../common/problem/problem';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { VerificationWorker } from '../request-objects/verification.worker';
import { BATCH_TYPES, mediaTypeOf, parseEventBody, SINGLE_EVENT_TYPES, splitBatch } from './delivery-body';
import { type EventOutcome, validateEvent, type ValidatedEvent } from '../evidence/event-validator';
import { EvidenceRepository, type RecordedEvent, type RecordedStatus } from './evidence.repository';
import { SetRejection, setEventUrnOf } from './security-event-token';
import { type Delivery, header, SenderAuthentication } from './sender-authentication';

export type { Delivery } from './sender-authentication';
export type { RecordedStatus } from './evidence.repository';

export interface ItemResult {
  readonly index: number;
  readonly event_id?: string;
  readonly status: RecordedStatus | 'rejected';
  /** The record's position (its seq) for accepted and duplicate events: pass it as `min_position` to read your write. */
  readonly position?: string;
  readonly problem?: ProblemDocument;
}

export interface BatchResult {
  readonly accepted: number;
  readonly duplicates: number;
  readonly conflicts: number;
  readonly rejected: number;
  /** The highest position of the batch's accepted and duplicate events. */
  readonly position?: string;
  readonly results: readonly ItemResult[];
}

/**
 * The ingest path: authenticate the sender, parse and validate every event, record the valid ones in one
 * transaction, then wake the background work (linking, verification) of this process. A 2xx leaves here only after
 * the transaction committed.
 */
@Injectable()
export class IngestService {
  constructor(
    private readonly senders: SenderAuthentication,
    private readonly evidence: EvidenceRepository,
    private readonly linker: LinkerWorker,
    private readonly verificationWorker: VerificationWorker,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** POST /v1/events: one envelope, its id in `webhook-id`. */
  async ingestOne(delivery: Delivery): Promise<ItemResult> {
    if (!SINGLE_EVENT_TYPES.has(mediaTypeOf(delivery.contentType) ?? '')) {
      throw new ProblemException('unsupported-media-type', { detail: 'send one event as application/json' });
    }
    const sender = await this.senders.webhookSender(delivery);
    const outcome = validateEvent(parseEventBody(delivery.body), sender, { deliveryId: header(delivery.headers, 'webhook-id') });
    if (!outcome.ok) throw outcome.problem;
    const [recorded] = await this.record(sender.sourceId, [outcome.event]);
    if (recorded!.status === 'conflict') throw conflictProblem(outcome.event.eventId);
    return { index: 0, event_id: outcome.event.eventId, status: recorded!.status, position: recorded!.position };
  }

  /** POST /v1/events/batch: a JSON array or NDJSON of envelopes, each with its `id`; one result per item. */
  async ingestBatch(delivery: Delivery): Promise<BatchResult> {
    const mediaType = mediaTypeOf(delivery.contentType);
    if (!mediaType || !BATCH_TYPES.has(mediaType)) {
      throw new ProblemException('unsupported-media-type', { detail: 'send a batch as application/json (an array) or application/x-ndjson' });
    }
    const sender = await this.senders.webhookSender(delivery);
    const items = splitBatch(mediaType, delivery.body);
    if (items.length === 0) throw new ProblemException('invalid-request', { detail: 'the batch holds no events' });
    if (items.length > this.config.ingest.maxBatchEvents) {
      throw new ProblemException('too-many-events', {
        detail: `a batch holds at most ${this.config.ingest.maxBatchEvents} events; this one holds ${items.length}`,
        extensions: { limit: this.config.ingest.maxBatchEvents },
      });
    }

    const outcomes: EventOutcome[] = items.map((item, index) => {
      if ('problem' in item) return { ok: false, problem: item.problem };
      if (item.bytes > this.config.ingest.maxEventBytes) {
        return { ok: false, problem: new ProblemException('payload-too-large', { detail: `an event is at most ${this.config.ingest.maxEventBytes} bytes` }) };
      }
      return validateEvent(item.value, sender, { pathPrefix: [index] });
    });
    const valid = outcomes.flatMap((outcome, index) => (outcome.ok ? [{ index, event: outcome.event }] : []));
    const recorded = await this.record(sender.sourceId, valid.map(({ event }) => event));

    const results: ItemResult[] = outcomes.map((outcome, index) =>
      outcome.ok ? { index, event_id: outcome.event.eventId, status: 'accepted' } : { index, status: 'rejected', problem: outcome.problem.toDocument() },
    );
    valid.forEach(({ index, event }, position) => {
      const { status, position: seq } = recorded[position]!;
      results[index] =
        status === 'conflict'
          ? { index, event_id: event.eventId, status, problem: conflictProblem(event.eventId).toDocument() }
          : { index, event_id: event.eventId, status, position: seq };
    });
    const count = (status: ItemResult['status']) => results.filter((result) => result.status === status).length;
    const positions = results.flatMap((result) => (result.position ? [BigInt(result.position)] : []));
    const highest = positions.reduce<bigint | undefined>((max, seq) => (max === undefined || seq > max ? seq : max), undefined);
    return {
      accepted: count('accepted'),
      duplicates: count('duplicate'),
      conflicts: count('conflict'),
      rejected: count('rejected'),
      ...(highest !== undefined && { position: String(highest) }),
      results,
    };
  }

  /**
   * POST /v1/sets: one Security Event Token (RFC 8417) pushed per RFC 8935. The SET's signature under the source's
   * registered key authenticates it; then it is the same event as on the webhook path (`jti` the event id, `iat` the
   * timestamp, the one event's URN its type), validated and recorded by the same code, with the same idempotency.
   * Every refusal is a SetRejection with an RFC 8935 error code, and writes nothing (a conflict is kept as evidence).
   */
  async ingestSecurityEventToken(delivery: Pick<Delivery, 'contentType' | 'body'>): Promise<RecordedEvent> {
    if (mediaTypeOf(delivery.contentType) !== 'application/secevent+jwt') {
      throw new SetRejection('invalid_request', 'send the SET as application/secevent+jwt (RFC 8935 section 2)');
    }
    const { set, sender } = await this.senders.setSender(delivery.body.toString('latin1').trim());
    const envelope = { type: set.type, timestamp: new Date(set.iat * 1000).toISOString(), data: set.data };
    const outcome = validateEvent(envelope, sender, { deliveryId: set.jti });
    if (!outcome.ok) {
      const { problem } = outcome;
      const fields = (problem.options.errors ?? []).map((error) => `${error.field.replace(/^data\b/, `events.${setEventUrnOf(set.type)}`)}: ${error.code}`);
      throw new SetRejection(problem.code === 'event-type-not-allowed' ? 'access_denied' : 'invalid_request', [problem.message, ...fields].join('; '));
    }
    const [recorded] = await this.record(sender.sourceId, [outcome.event]);
    if (recorded!.status === 'conflict') {
      throw new SetRejection('invalid_request', `jti ${set.jti} was received before with a different SET; the first stays the record and this one is kept as evidence of the conflict`);
    }
    return recorded!;
  }

  private async record(sourceId: string, events: readonly ValidatedEvent[]): Promise<readonly RecordedEvent[]> {
    const recording = await this.evidence.record(sourceId, events);
    if (recording.inserted > 0) this.linker.wake();
    if (recording.queuedForVerification > 0) this.verificationWorker.wake();
    return recording.events;
  }
}

function conflictProblem(eventId: string): ProblemException {
  return new ProblemException('event-id-conflict', {
    detail: `event ${eventId} was received before with a different body; the first body stays the record and this one is kept as evidence of the conflict`,
    extensions: { event_id: eventId },
  });
}
