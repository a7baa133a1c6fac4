import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { ChainLinker } from '../chains/chain-linker';
import { Keyring } from '../common/crypto/keyring';
import { fieldError, ProblemException, type ProblemDocument } from '../common/problem/problem';
import { duplicateMembersError, JsonInputError, parseJsonKeepingDuplicates, parseStrictJson } from '../common/strict-json';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { withTransactionRetry } from '../database/transaction-retry';
import { VerificationRepository } from '../request-objects/verification.repository';
import { VerificationWorker } from '../request-objects/verification.worker';
import { JwksFetchError, RemoteJwksCache } from '../common/jose/remote-jwks';
import { type SenderCredentials, SourcesService } from '../sources/sources.service';
import { EVENT_TYPE_NAMES } from './event-types';
import { SetRejection, setEventUrnOf, verifySecurityEventToken } from './security-event-token';
import type { MinimizationPolicy } from './event-type-definition';
import { type EventOutcome, validateEvent, type ValidatedEvent, type ValidationContext } from './event-validator';
import { EvidenceRepository } from './evidence.repository';
import { verifyWebhookSignature } from './webhook-signature';

/** One HTTP delivery as the controller received it: nothing in it is trusted yet. */
export interface Delivery {
  readonly sourceId: string | undefined;
  readonly contentType: string | undefined;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
}

export type RecordedStatus = 'accepted' | 'duplicate' | 'conflict';

export interface ItemResult {
  readonly index: number;
  readonly event_id?: string;
  readonly status: RecordedStatus | 'rejected';
  readonly problem?: ProblemDocument;
}

export interface BatchResult {
  readonly accepted: number;
  readonly duplicates: number;
  readonly conflicts: number;
  readonly rejected: number;
  readonly results: readonly ItemResult[];
}

const JSON_TYPES = new Set(['application/json']);
const BATCH_TYPES = new Set(['application/json', 'application/x-ndjson', 'application/jsonl']);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function header(headers: Delivery['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The media type without parameters; only UTF-8 (the default for JSON) is accepted as a charset. */
function mediaTypeOf(contentType: string | undefined): string | undefined {
  if (!contentType) return undefined;
  const [type, ...parameters] = contentType.split(';').map((part) => part.trim().toLowerCase());
  const charset = parameters.find((parameter) => parameter.startsWith('charset='));
  if (charset && !/^charset="?utf-8"?$/.test(charset)) return undefined;
  return type;
}

function malformedJson(error: unknown): ProblemException {
  if (!(error instanceof JsonInputError)) throw error;
  return new ProblemException('malformed-json', { detail: error.message, errors: error.errors });
}

/**
 * The ingest path: authenticate the sender, parse and validate every event, and record the valid ones with their
 * chain links in one transaction. A 2xx leaves here only after that transaction committed.
 */
@Injectable()
export class IngestService {
  private readonly minimization: MinimizationPolicy;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly sources: SourcesService,
    private readonly evidence: EvidenceRepository,
    private readonly linker: ChainLinker,
    private readonly verification: VerificationRepository,
    private readonly verificationWorker: VerificationWorker,
    private readonly remoteJwks: RemoteJwksCache,
    private readonly keyring: Keyring,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.minimization = {
      subjectOf: (subject) => (config.privacy.pseudonymizeSubjects ? keyring.pseudonymOf(subject) : subject),
      keepRequestObjects: config.privacy.keepRequestObjects,
    };
  }

  /** POST /v1/events: one envelope, its id in `webhook-id`. */
  async ingestOne(delivery: Delivery): Promise<ItemResult> {
    if (!JSON_TYPES.has(mediaTypeOf(delivery.contentType) ?? '')) {
      throw new ProblemException('unsupported-media-type', { detail: 'send one event as application/json' });
    }
    const context = await this.authenticate(delivery);
    const outcome = validateEvent(this.parseBody(delivery.body), context, { deliveryId: header(delivery.headers, 'webhook-id') });
    if (!outcome.ok) throw outcome.problem;
    const [status] = await this.record(context.sourceId, [outcome.event]);
    if (status === 'conflict') throw conflictProblem(outcome.event.eventId);
    return { index: 0, event_id: outcome.event.eventId, status: status! };
  }

  /** POST /v1/events/batch: a JSON array or NDJSON of envelopes, each with its `id`; one result per item. */
  async ingestBatch(delivery: Delivery): Promise<BatchResult> {
    const mediaType = mediaTypeOf(delivery.contentType);
    if (!BATCH_TYPES.has(mediaType ?? '')) {
      throw new ProblemException('unsupported-media-type', { detail: 'send a batch as application/json (an array) or application/x-ndjson' });
    }
    const context = await this.authenticate(delivery);
    const items = mediaType === 'application/json' ? this.splitJsonArray(delivery.body) : this.splitNdjson(delivery.body);
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
      return validateEvent(item.value, context, { pathPrefix: [index] });
    });
    const valid = outcomes.flatMap((outcome, index) => (outcome.ok ? [{ index, event: outcome.event }] : []));
    const statuses = await this.record(context.sourceId, valid.map(({ event }) => event));

    const results: ItemResult[] = outcomes.map((outcome, index) =>
      outcome.ok ? { index, event_id: outcome.event.eventId, status: 'accepted' } : { index, status: 'rejected', problem: outcome.problem.toDocument() },
    );
    valid.forEach(({ index, event }, position) => {
      const status = statuses[position]!;
      results[index] = status === 'conflict' ? { index, event_id: event.eventId, status, problem: conflictProblem(event.eventId).toDocument() } : { index, event_id: event.eventId, status };
    });
    const count = (status: ItemResult['status']) => results.filter((result) => result.status === status).length;
    return { accepted: count('accepted'), duplicates: count('duplicate'), conflicts: count('conflict'), rejected: count('rejected'), results };
  }

  private async authenticate(delivery: Delivery): Promise<ValidationContext & { sourceId: string }> {
    if (!delivery.sourceId || !UUID.test(delivery.sourceId)) {
      throw new ProblemException('unauthenticated', { detail: 'name the sending source in the URL: ?source=<source id>' });
    }
    const credentials = await this.sources.credentialsFor(delivery.sourceId);
    if (!credentials) throw new ProblemException('unauthenticated', { detail: 'no such source' });
    const failure = verifyWebhookSignature(
      {
        id: header(delivery.headers, 'webhook-id'),
        timestamp: header(delivery.headers, 'webhook-timestamp'),
        signature: header(delivery.headers, 'webhook-signature'),
        body: delivery.body,
      },
      credentials.keys,
      new Date(),
      this.config.ingest.webhookToleranceSeconds,
    );
    switch (failure?.reason) {
      case undefined:
        break;
      case 'missing_header':
        throw new ProblemException('unauthenticated', { detail: `the ${failure.header} header is missing`, errors: [fieldError(['headers', failure.header], 'missing', 'this header is required')] });
      case 'malformed_id':
        throw new ProblemException('unauthenticated', { detail: 'webhook-id must be 1 to 256 printable characters without dots', errors: [fieldError(['headers', 'webhook-id'], 'malformed', 'is not a valid event id')] });
      case 'malformed_timestamp':
        throw new ProblemException('timestamp-out-of-tolerance', { detail: 'webhook-timestamp must be Unix seconds', errors: [fieldError(['headers', 'webhook-timestamp'], 'malformed', 'must be Unix seconds')] });
      case 'timestamp_out_of_tolerance':
        throw new ProblemException('timestamp-out-of-tolerance', {
          detail: `webhook-timestamp is ${Math.abs(failure.skewSeconds)} s in the ${failure.skewSeconds > 0 ? 'past' : 'future'}; at most ${this.config.ingest.webhookToleranceSeconds} s are accepted`,
          errors: [fieldError(['headers', 'webhook-timestamp'], 'out_of_tolerance', 'is too far from the current time')],
        });
      case 'no_matching_signature':
        throw new ProblemException('invalid-signature', { detail: 'no v1 signature matches a valid secret of this source', errors: [fieldError(['headers', 'webhook-signature'], 'no_match', 'does not verify')] });
    }
    if (!credentials.enabled) throw new ProblemException('forbidden', { detail: 'the source is disabled' });
    return this.contextOf(credentials);
  }

  private contextOf(credentials: SenderCredentials): ValidationContext & { sourceId: string } {
    return { sourceId: credentials.source.id, sourceKind: credentials.source.kind, minimization: this.minimization, keyring: this.keyring };
  }

  /**
   * POST /v1/sets: one Security Event Token (RFC 8417) pushed per RFC 8935. The SET's signature under the source's
   * registered key authenticates it; then it is the same event as on the webhook path (`jti` the event id, `iat` the
   * timestamp, the one event's URN its type), validated and recorded by the same code, with the same idempotency.
   * Every refusal is a SetRejection with an RFC 8935 error code, and writes nothing (a conflict is kept as evidence).
   */
  async ingestSecurityEventToken(delivery: Pick<Delivery, 'contentType' | 'body'>): Promise<RecordedStatus> {
    if (mediaTypeOf(delivery.contentType) !== 'application/secevent+jwt') {
      throw new SetRejection('invalid_request', 'send the SET as application/secevent+jwt (RFC 8935 section 2)');
    }
    let credentials: SenderCredentials | undefined;
    const set = await verifySecurityEventToken(delivery.body.toString('latin1').trim(), {
      audience: this.config.sets.audience,
      knownTypes: EVENT_TYPE_NAMES,
      transmitter: async (iss) => {
        credentials = UUID.test(iss) ? await this.sources.credentialsFor(iss) : undefined;
        if (!credentials) return undefined;
        const keys = credentials.setKeys;
        if (!keys) return { keys: undefined };
        return { keys: 'jwks' in keys ? () => Promise.resolve(keys.jwks) : (kid) => this.remoteJwks.get(keys.jwksUri, kid) };
      },
    }).catch((error: unknown) => {
      // A key set that cannot be fetched now: the transmitter should retry, which RFC 8935 leaves to a 5xx.
      if (error instanceof JwksFetchError) throw new ProblemException('unavailable', { detail: `the source's set_jwks_uri cannot be fetched now: ${error.message}` });
      throw error;
    });
    if (!credentials!.enabled) throw new SetRejection('access_denied', 'the source is disabled');

    const envelope = { type: set.type, timestamp: new Date(set.iat * 1000).toISOString(), data: set.data };
    const outcome = validateEvent(envelope, this.contextOf(credentials!), { deliveryId: set.jti });
    if (!outcome.ok) {
      const { problem } = outcome;
      const fields = (problem.options.errors ?? []).map((error) => `${error.field.replace(/^data\b/, `events.${setEventUrnOf(set.type)}`)}: ${error.code}`);
      throw new SetRejection(problem.code === 'event-type-not-allowed' ? 'access_denied' : 'invalid_request', [problem.message, ...fields].join('; '));
    }
    const [status] = await this.record(credentials!.source.id, [outcome.event]);
    if (status === 'conflict') {
      throw new SetRejection('invalid_request', `jti ${set.jti} was received before with a different SET; the first stays the record and this one is kept as evidence of the conflict`);
    }
    return status!;
  }

  private parseBody(body: Buffer): unknown {
    try {
      return parseStrictJson(body);
    } catch (error) {
      throw malformedJson(error);
    }
  }

  /** A member name twice in one event rejects that event only, as in NDJSON. */
  private splitJsonArray(body: Buffer): ({ value: unknown; bytes: number } | { problem: ProblemException })[] {
    let parsed: ReturnType<typeof parseJsonKeepingDuplicates>;
    try {
      parsed = parseJsonKeepingDuplicates(body);
    } catch (error) {
      throw malformedJson(error);
    }
    const { value, duplicates } = parsed;
    if (!Array.isArray(value)) throw new ProblemException('invalid-request', { detail: 'an application/json batch is an array of envelopes' });
    return value.map((item, index) => {
      const own = duplicates.filter((duplicate) => duplicate[0] === index);
      if (own.length > 0) return { problem: malformedJson(duplicateMembersError(own)) };
      return { value: item, bytes: Buffer.byteLength(JSON.stringify(item) ?? '') };
    });
  }

  /**
   * NDJSON lines are independent: one malformed line (or one that is not UTF-8) rejects that item only. Split on
   * the newline byte, which UTF-8 never uses inside a multi-byte character, and decode each line on its own.
   */
  private splitNdjson(body: Buffer): ({ value: unknown; bytes: number } | { problem: ProblemException })[] {
    const lines: Buffer[] = [];
    for (let start = 0; start <= body.length; ) {
      const newline = body.indexOf(0x0a, start);
      const end = newline === -1 ? body.length : newline;
      let line = body.subarray(start, end);
      if (line.at(-1) === 0x0d) line = line.subarray(0, -1);
      if (line.some((byte) => byte !== 0x20 && byte !== 0x09 && byte !== 0x0d)) lines.push(line);
      start = end + 1;
    }
    return lines.map((line, index) => {
      try {
        return { value: parseStrictJson(line, [index]), bytes: line.length };
      } catch (error) {
        return { problem: malformedJson(error) };
      }
    });
  }

  /**
   * Records valid events, returning each one's status in input order. One transaction for the whole delivery:
   * the events, the conflicts and the chain links commit together or not at all, so a failure leaves no half chain.
   */
  private async record(sourceId: string, events: readonly ValidatedEvent[]): Promise<RecordedStatus[]> {
    if (events.length === 0) return [];
    let queued = false;
    const statuses = await withTransactionRetry(() =>
      this.dataSource.transaction(async (manager) => {
        // Within one delivery the first occurrence of an id is the candidate record; repeats compare against it.
        const candidates = new Map<string, ValidatedEvent>();
        for (const event of events) if (!candidates.has(event.eventId)) candidates.set(event.eventId, event);

        const inserted = await this.evidence.insertNew(manager, sourceId, [...candidates.values()]);
        const insertedIds = new Set(inserted.map(({ eventId }) => eventId));
        const stored = new Map<string, { seq: string; fingerprint: Buffer; isNew: boolean }>();
        for (const { seq, eventId } of inserted) stored.set(eventId, { seq, fingerprint: candidates.get(eventId)!.fingerprint, isNew: true });
        const earlier = await this.evidence.findExisting(manager, sourceId, [...candidates.keys()].filter((id) => !insertedIds.has(id)));
        for (const { seq, eventId, fingerprint } of earlier) stored.set(eventId, { seq, fingerprint, isNew: false });

        const seenNew = new Set<string>();
        const statuses = events.map((event): RecordedStatus => {
          const record = stored.get(event.eventId)!;
          if (record.isNew && !seenNew.has(event.eventId)) {
            seenNew.add(event.eventId);
            return 'accepted';
          }
          return record.fingerprint.equals(event.fingerprint) ? 'duplicate' : 'conflict';
        });
        await this.evidence.insertConflicts(
          manager,
          sourceId,
          events.flatMap((event, index) => (statuses[index] === 'conflict' ? [{ originalSeq: stored.get(event.eventId)!.seq, event }] : [])),
        );
        await this.linker.link(
          manager,
          inserted.map(({ seq, eventId }) => ({ seq, links: candidates.get(eventId)!.links })),
        );
        // Verification is queued, not done here: a slow key fetch or a failing object never holds up or undoes ingest.
        const toVerify = inserted.flatMap(({ seq, eventId }) => {
          const work = candidates.get(eventId)!.independentVerification;
          return work ? [{ eventSeq: seq, requestObject: work.requestObject }] : [];
        });
        await this.verification.enqueue(manager, toVerify);
        queued = toVerify.length > 0;
        return statuses;
      }),
    );
    if (queued) this.verificationWorker.wake();
    return statuses;
  }
}

function conflictProblem(eventId: string): ProblemException {
  return new ProblemException('event-id-conflict', {
    detail: `event ${eventId} was received before with a different body; the first body stays the record and this one is kept as evidence of the conflict`,
    extensions: { event_id: eventId },
  });
}
