import { Module } from '@nestjs/common';
import { ClientsController } from './clients.controller';
import { ClientsRepository } from './clients.repository';
import { ClientsService } from './clients.service';
import { VerificationRepository } from './verification.repository';
import { VerificationWorker } from './verification.worker';

/** Request objects: the client registry, decryption keys, and independent verification in the background. */
@Module({
  controllers: [ClientsController],
  providers: [ClientsRepository, ClientsService, VerificationRepository, VerificationWorker],
  exports: [VerificationRepository, VerificationWorker],
})
export class RequestObjectsModule {}
