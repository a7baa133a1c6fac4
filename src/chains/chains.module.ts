import { Module } from '@nestjs/common';
import { LedgerModule } from '../ledger/ledger.module';
import { ChainLinker } from './chain-linker';
import { ChainLinksRepository } from './chain-links.repository';
import { ChainsController } from './chains.controller';
import { ChainsRepository } from './chains.repository';
import { ChainsService } from './chains.service';

@Module({
  imports: [LedgerModule],
  controllers: [ChainsController],
  providers: [ChainLinksRepository, ChainLinker, ChainsRepository, ChainsService],
  exports: [ChainLinker],
})
export class ChainsModule {}
