import { Module } from '@nestjs/common';
import { ChainsModule } from '../chains/chains.module';
import { LedgerModule } from '../ledger/ledger.module';
import { ExportsController } from './exports.controller';
import { ExportsRepository } from './exports.repository';
import { ExportsService } from './exports.service';
import { ExportsWorker } from './exports.worker';

@Module({
  imports: [LedgerModule, ChainsModule],
  controllers: [ExportsController],
  providers: [ExportsRepository, ExportsService, ExportsWorker],
  exports: [ExportsWorker],
})
export class ExportsModule {}
