import { Module } from '@nestjs/common';
import { JwksController, LedgerController } from './ledger.controller';
import { LedgerRepository } from './ledger.repository';
import { LedgerSequencer } from './ledger-sequencer';
import { LedgerService } from './ledger.service';
import { RetentionService } from './retention.service';
import { SigningKeysService } from './signing-keys.service';

@Module({
  controllers: [LedgerController, JwksController],
  providers: [LedgerRepository, SigningKeysService, LedgerSequencer, LedgerService, RetentionService],
  exports: [LedgerService],
})
export class LedgerModule {}
