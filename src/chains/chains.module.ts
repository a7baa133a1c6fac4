import { Module } from '@nestjs/common';
import { FindingsModule } from '../findings/findings.module';
import { LedgerModule } from '../ledger/ledger.module';
import { ChainLinker } from './chain-linker';
import { ChainLinksRepository } from './chain-links.repository';
import { ChainsController } from './chains.controller';
import { ChainsRepository } from './chains.repository';
import { ChainsService } from './chains.service';
import { LinkQueueRepository } from './link-queue.repository';
import { LinkerWorker } from './linker.worker';
import { ReadYourWrites } from './read-your-writes';

@Module({
  imports: [LedgerModule, FindingsModule],
  controllers: [ChainsController],
  providers: [ChainLinksRepository, ChainLinker, LinkQueueRepository, LinkerWorker, ReadYourWrites, ChainsRepository, ChainsService],
  exports: [LinkerWorker, LinkQueueRepository, ChainsService],
})
export class ChainsModule {}
