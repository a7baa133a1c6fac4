import { randomBytes, randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { Keyring, type SealedValue } from '../../common/crypto/keyring';
import { decodeIdCursor, encodeIdCursor } from '../../common/id-cursor';
import { fieldError, ProblemException } from '../../common/problem/problem';
import { APP_CONFIG, type AppConfig } from '../../config/app-config';
import { SECRET_PREFIX } from '../../common/crypto/webhook-secret';
import {
  type CreateSubscriptionRequest,
  type DeliveriesPage,
  type DeliveriesQuery,
  type SubscriptionsQuery,
  toDeliveryView,
  toSubscriptionDetail,
  toSubscriptionResponse,
} from './dto/subscription.dto';
import { messageIdOf } from './notification-payload';
import { type StoredSubscription, SubscriptionsRepository } from './subscriptions.repository';
import { webhookUrlProblem } from './webhook-url';

/** What a subscription's sealed secret is bound to (a master-key rotation re-seals it under the same). */
export function subscriptionSecretSealingContext(secretId: string): string {
  return `subscription-secret:${secretId}`;
}

/** The secret bytes: 32, more than Standard Webhooks' minimum of 24. */
const SECRET_BYTES = 32;

export interface SubscriptionWithSecret {
  readonly subscription: StoredSubscription;
  /** The new whsec_ secret: returned once, stored only sealed. */
  readonly secret: string;
}

/** Subscriptions to finding notifications: created with a secret shown once, disabled (never deleted), and their deliveries. */
@Injectable()
export class SubscriptionsService {
  constructor(
    private readonly subscriptions: SubscriptionsRepository,
    private readonly keyring: Keyring,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async create(request: CreateSubscriptionRequest) {
    const problem = webhookUrlProblem(request.url, this.config.notifications);
    if (problem) throw new ProblemException('invalid-request', { detail: `url ${problem.detail}`, errors: [fieldError(['url'], problem.code, problem.detail)] });
    const { secret, secretId, sealed, sealedBy } = this.newSecret();
    const subscription = await this.subscriptions.create({
      url: request.url,
      rules: request.rules ?? null,
      minSeverity: request.min_severity,
      description: request.description ?? null,
      secretId,
      sealed,
      sealedBy,
    });
    return { ...toSubscriptionResponse(subscription), secret };
  }

  async list(query: SubscriptionsQuery) {
    // One row more than asked tells whether another page exists.
    const found = await this.subscriptions.list({ beforeId: query.cursor === undefined ? undefined : decodeIdCursor(query.cursor), limit: query.limit + 1 });
    const page = found.slice(0, query.limit);
    return { items: page.map(toSubscriptionResponse), next_cursor: found.length > query.limit ? encodeIdCursor(page.at(-1)!.id) : null };
  }

  async get(id: string) {
    const subscription = await this.subscriptions.find(id);
    if (!subscription) throw notFound(id);
    return toSubscriptionDetail(subscription, await this.subscriptions.deliveryCounts(id));
  }

  async disable(id: string) {
    const subscription = await this.subscriptions.disable(id);
    if (!subscription) throw notFound(id);
    return toSubscriptionResponse(subscription);
  }

  /** A new secret, at once: deliveries from now on are signed with it only (receivers switch when they get it). */
  async rotateSecret(id: string) {
    const { secret, secretId, sealed, sealedBy } = this.newSecret();
    const subscription = await this.subscriptions.replaceSecret(id, { secretId, sealed, sealedBy });
    if (!subscription) {
      if (await this.subscriptions.find(id)) throw new ProblemException('conflict', { detail: `subscription ${id} is disabled: it has no secret to rotate` });
      throw notFound(id);
    }
    return { ...toSubscriptionResponse(subscription), secret };
  }

  async deliveries(id: string, query: DeliveriesQuery): Promise<DeliveriesPage> {
    const beforeId = query.cursor === undefined ? undefined : decodeIdCursor(query.cursor);
    if (!(await this.subscriptions.find(id))) throw notFound(id);
    const found = await this.subscriptions.deliveries(id, { status: query.status, beforeId, limit: query.limit + 1 });
    const page = found.slice(0, query.limit);
    return {
      items: page.map((delivery) => toDeliveryView(delivery, messageIdOf(delivery.findingChangeId))),
      next_cursor: found.length > query.limit ? encodeIdCursor(page.at(-1)!.id) : null,
    };
  }

  private newSecret(): { secret: string; secretId: string } & SealedValue {
    const secretId = randomUUID();
    const secret = `${SECRET_PREFIX}${randomBytes(SECRET_BYTES).toString('base64')}`;
    return { secret, secretId, ...this.keyring.sealing.seal('secret', Buffer.from(secret, 'utf8'), subscriptionSecretSealingContext(secretId)) };
  }
}

const notFound = (id: string) => new ProblemException('not-found', { detail: `no subscription ${id}` });
