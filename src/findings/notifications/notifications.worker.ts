import { randomUUID } from 'node:crypto';
import { type BeforeApplicationShutdown, Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { BatchLoop } from '../../common/background/batch-loop';
import { Keyring } from '../../common/crypto/keyring';
import { APP_CONFIG, type AppConfig } from '../../config/app-config';
import { type ClaimedDelivery, type DeliveryNext, NotificationOutboxRepository } from './notification-outbox.repository';
import { messageIdOf } from './notification-payload';
import { afterFailure, type RetryPolicy } from './retry-schedule';
import { subscriptionSecretSealingContext } from './subscriptions.service';
import { type AttemptResult, WebhookSender } from './webhook-sender';
import { webhookUrlProblem } from './webhook-url';

/** A claim outlives its attempt's timeout by this much, for recording the outcome; then another worker may take it. */
const LEASE_MARGIN_MS = 60_000;

/**
 * Delivers the outbox of finding notifications. Every replica runs one; they claim different deliveries (FOR UPDATE
 * SKIP LOCKED, then a lease), send each claimed batch concurrently, and record every attempt. A replica that stops
 * mid-attempt leaves its deliveries due again when their lease ends, so a notification is delivered at least once:
 * receivers dedupe on `webhook-id`.
 */
@Injectable()
export class NotificationsWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Notifications');
  private readonly loop: BatchLoop;
  private readonly sender: WebhookSender;
  private readonly retryPolicy: RetryPolicy;

  constructor(
    private readonly outbox: NotificationOutboxRepository,
    private readonly keyring: Keyring,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    const settings = config.notifications;
    this.sender = new WebhookSender({ timeoutMs: settings.timeoutMs, allowPrivateAddresses: settings.allowPrivateAddresses });
    this.retryPolicy = { baseMs: settings.retryBaseMs, capMs: settings.retryCapMs, maxAttempts: settings.maxAttempts, maxAgeMs: settings.maxAgeSeconds * 1000 };
    this.loop = new BatchLoop({
      runBatch: () => this.deliverBatch(),
      pollIntervalMs: () => settings.pollIntervalMs,
      logger: this.logger,
      failureMessage: 'a notification batch failed; its deliveries are due again when their lease ends',
    });
  }

  onApplicationBootstrap(): void {
    if (this.config.notifications.enabled) this.loop.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.loop.stop();
    await this.sender.close();
  }

  /** Delivers everything due now, batch after batch; returns how many attempts were made. */
  drain(): Promise<number> {
    return this.loop.drain();
  }

  private async deliverBatch(): Promise<number> {
    const leaseToken = randomUUID();
    const claimed = await this.outbox.claimDue(this.config.notifications.batchSize, this.config.notifications.timeoutMs + LEASE_MARGIN_MS, leaseToken);
    const settled = await Promise.allSettled(claimed.map((delivery) => this.deliver(delivery, leaseToken)));
    for (const [index, outcome] of settled.entries()) {
      if (outcome.status === 'rejected') {
        this.logger.error({ err: outcome.reason, deliveryId: claimed[index]!.id }, 'a notification could not be attempted; it is due again when its lease ends');
      }
    }
    return claimed.length;
  }

  private async deliver(delivery: ClaimedDelivery, leaseToken: string): Promise<void> {
    const { subscription } = delivery;
    // Opening the secret fails only for a key this replica lacks (a deployment fault): thrown, logged, retried later.
    const secret = this.keyring.sealing.open('secret', subscription, subscriptionSecretSealingContext(subscription.secretId)).toString('utf8');
    // The URL was allowed when the subscription was created; the settings may have changed since.
    const refused = webhookUrlProblem(subscription.url, this.config.notifications);
    const result: AttemptResult = refused
      ? { at: new Date(), durationMs: 0, outcome: refused.code === 'non_public_address' ? 'address_refused' : 'connection_error', statusCode: null, error: `url ${refused.detail}`, responseExcerpt: null }
      : await this.sender.send({ url: subscription.url, secret, messageId: messageIdOf(delivery.findingChangeId), body: JSON.stringify(delivery.payload) });
    const next = this.nextAfter(delivery, result);
    const moved = await this.outbox.recordAttempt(delivery, leaseToken, result, next);
    if (moved && next.status === 'failed') {
      this.logger.warn({ deliveryId: delivery.id, subscriptionId: subscription.id, attempts: delivery.attempts + 1 }, 'a notification was given up after its last attempt');
    }
  }

  private nextAfter(delivery: ClaimedDelivery, result: AttemptResult): DeliveryNext {
    if (result.outcome === 'delivered') return { status: 'delivered' };
    const next = afterFailure({ failedAttempts: delivery.attempts + 1, queuedAt: delivery.queuedAt }, result.at, this.retryPolicy);
    return 'retryAt' in next ? { status: 'pending', nextAttemptAt: next.retryAt } : { status: 'failed' };
  }
}
