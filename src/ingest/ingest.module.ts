import { Module } from '@nestjs/common';
import { ChainsModule } from '../chains/chains.module';
import { RequestObjectsModule } from '../request-objects/request-objects.module';
import { SourcesModule } from '../sources/sources.module';
import { EvidenceRepository } from './evidence.repository';
import { IngestController } from './ingest.controller';
import { IngestService } from './ingest.service';
import { SenderAuthentication } from './sender-authentication';
import { SetsController } from './sets.controller';

@Module({
  imports: [SourcesModule, ChainsModule, RequestObjectsModule],
  controllers: [IngestController, SetsController],
  providers: [SenderAuthentication, EvidenceRepository, IngestService],
})
export class IngestModule {}
