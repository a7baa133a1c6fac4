import { Module } from '@nestjs/common';
import { NotificationOutboxRepository } from './notification-outbox.repository';
import { NotificationsWorker } from './notifications.worker';
import { SubscriptionsController } from './subscriptions.controller';
import { SubscriptionsRepository } from './subscriptions.repository';
import { SubscriptionsService } from './subscriptions.service';

/** Outbound notifications of findings: subscriptions, the outbox the evaluator writes, and the delivery worker. */
@Module({
  controllers: [SubscriptionsController],
  providers: [SubscriptionsRepository, SubscriptionsService, NotificationOutboxRepository, NotificationsWorker],
  exports: [NotificationOutboxRepository, NotificationsWorker],
})
export class NotificationsModule {}
