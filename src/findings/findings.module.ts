import { Module } from '@nestjs/common';
import { LedgerModule } from '../ledger/ledger.module';
import { FindingsController } from './findings.controller';
import { FindingsRepository } from './findings.repository';
import { FindingsService } from './findings.service';
import { FindingsWorker } from './findings.worker';
import { NotificationsModule } from './notifications/notifications.module';

@Module({
  imports: [LedgerModule, NotificationsModule],
  controllers: [FindingsController],
  providers: [FindingsRepository, FindingsService, FindingsWorker],
  exports: [FindingsRepository, FindingsService, FindingsWorker],
})
export class FindingsModule {}
