import { Module } from '@nestjs/common';
import { LedgerModule } from '../ledger/ledger.module';
import { FindingsController } from './findings.controller';
import { FindingsRepository } from './findings.repository';
import { FindingsService } from './findings.service';
import { FindingsWorker } from './findings.worker';

@Module({
  imports: [LedgerModule],
  controllers: [FindingsController],
  providers: [FindingsRepository, FindingsService, FindingsWorker],
  exports: [FindingsRepository, FindingsService, FindingsWorker],
})
export class FindingsModule {}
