import { Module } from '@nestjs/common';
import { JwksController, LedgerController } from './ledger.controller';
import { LedgerRepository } from './ledger.repository';
import { LedgerSequencerService } from './ledger-sequencer.service';
import { LedgerService } from './ledger.service';
import { RetentionService } from './retention.service';
import { SigningKeysService } from './signing-keys.service';

@Module({
  controllers: [LedgerController, JwksController],
  providers: [LedgerRepository, SigningKeysService, LedgerSequencerService, LedgerService, RetentionService],
  exports: [LedgerService, SigningKeysService],
})
export class LedgerModule {}
