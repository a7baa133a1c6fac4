import { type BeforeApplicationShutdown, Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { JwksFetchError } from '../common/jose/remote-jwks';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { ClientsService } from './clients.service';
import { type QueuedVerification, VerificationRepository } from './verification.repository';
import { verifyRequestObject } from './verification/request-object-verifier';
import { isMismatch, type Reason } from './verification/reasons';

/** How long a claimed row stays with its worker before another may take it (a worker that died). */
const LEASE_MS = 60_000;

/**
 * Verifies queued request objects in the background, off the ingest path: each service process runs one, and the
 * queue's SKIP LOCKED claims share the work between replicas. A failed attempt is tried again with exponential
 * backoff; after VERIFY_MAX_ATTEMPTS the verdict is `unverifiable` (`jwks_unavailable` when the client's key set
 * could not be fetched, `verification_error` for any other failure). A report purged while queued is
 * `unverifiable` (`payload_purged`) at once.
 */
@Injectable()
export class VerificationWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('VerificationWorker');
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;
  private stopped = false;

  constructor(
    private readonly queue: VerificationRepository,
    private readonly clients: ClientsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.verification.workerEnabled) this.schedule(0);
  }

  /** Before the database connections close (they close on application shutdown): the batch in hand finishes. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** New work was committed in this process: look now rather than at the next poll. */
  wake(): void {
    if (this.config.verification.workerEnabled && !this.stopped && !this.running) this.schedule(0);
  }

  /** Verifies everything due now, batch after batch, and returns how many verifications it finished or deferred. */
  async drain(): Promise<number> {
    // One drain at a time per process: a second caller waits for the running one, then drains what is left.
    while (this.running) await this.running.catch(() => undefined);
    let total = 0;
    for (;;) {
      this.running = this.runBatch();
      try {
        const claimed = await this.running;
        total += claimed;
        if (claimed < this.config.verification.batchSize) return total;
      } finally {
        this.running = undefined;
      }
    }
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.drain()
        .catch((error: unknown) => this.logger.error({ err: error }, 'verification batch failed'))
        .finally(() => {
          if (!this.stopped) this.schedule(this.config.verification.pollIntervalMs);
        });
    }, delayMs);
    this.timer.unref();
  }

  private async runBatch(): Promise<number> {
    if (this.stopped) return 0;
    const claimed = await this.queue.claimDue(this.config.verification.batchSize, LEASE_MS);
    for (const item of claimed) {
      try {
        await this.process(item);
      } catch (error) {
        // Not even a retry or a verdict could be written (the database is failing): the lease runs out and the
        // item is claimed again, while the rest of the batch goes on.
        this.logger.error({ err: error, eventSeq: item.eventSeq }, 'a verification could not be rescheduled or recorded');
      }
    }
    return claimed.length;
  }

  private async process(item: QueuedVerification): Promise<void> {
    const { reported } = item;
    if (reported === null) {
      // Retention purged the report while it waited: nothing is left to judge the object against, and the queue
      // must not keep the object longer than the event kept it.
      const reasons: Reason[] = [{ code: 'payload_purged', detail: 'retention purged the verification event before jartrail judged it; the queued request object was dropped with it' }];
      await this.queue.recordVerdict({ eventSeq: item.eventSeq, verdict: 'unverifiable', asVerdict: null, mismatch: false, reasons, opaque: false });
      return;
    }
    try {
      const decryptionKeys = reported.encryption && item.requestObject ? await this.clients.decryptionKeysFor(reported.issuer) : { usable: [], disabled: [] };
      const outcome = await verifyRequestObject({
        requestObject: item.requestObject ?? undefined,
        reported,
        reportedAt: item.reportedAt,
        client: await this.clients.policyFor(reported.client_id),
        decryptionKeys: decryptionKeys.usable,
        disabledDecryptionKeys: decryptionKeys.disabled,
        clockSkewSeconds: this.config.verification.clockSkewSeconds,
      });
      await this.queue.recordVerdict({
        eventSeq: item.eventSeq,
        verdict: outcome.verdict,
        asVerdict: reported.verdict,
        mismatch: isMismatch(reported.verdict, outcome.verdict),
        reasons: outcome.reasons,
        alg: outcome.alg,
        kid: outcome.kid,
        innerDigest: outcome.innerDigest,
        opaque: outcome.opaque,
      });
    } catch (error) {
      // Every failure is tried again, a key set that cannot be fetched as much as anything else (a key that does
      // not open, a verdict that cannot be written); after VERIFY_MAX_ATTEMPTS the verification ends unverifiable.
      const message = error instanceof Error ? error.message : String(error);
      const unreachable = error instanceof JwksFetchError;
      const { maxAttempts } = this.config.verification;
      if (item.attempts < maxAttempts) {
        if (!unreachable) this.logger.error({ err: error, eventSeq: item.eventSeq, attempt: item.attempts }, 'verification failed unexpectedly; it will be tried again');
        const delay = this.config.verification.retryBaseMs * 2 ** Math.min(item.attempts - 1, 16);
        await this.queue.reschedule(item.eventSeq, delay, message);
        return;
      }
      const reasons: Reason[] = [
        unreachable
          ? { code: 'jwks_unavailable', detail: `the client's jwks_uri failed ${item.attempts} times; the last time: ${message}` }
          : { code: 'verification_error', detail: `verification failed on all ${item.attempts} attempts (VERIFY_MAX_ATTEMPTS); the last error: ${message}` },
      ];
      this.logger.error({ err: error, eventSeq: item.eventSeq, attempts: item.attempts }, 'verification gave up: the verdict is unverifiable');
      await this.queue.recordVerdict({ eventSeq: item.eventSeq, verdict: 'unverifiable', asVerdict: reported.verdict, mismatch: false, reasons, opaque: false });
    }
  }
}
