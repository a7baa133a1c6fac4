import { Module } from '@nestjs/common';
import { SourcesModule } from '../sources/sources.module';
import { EvidenceRepository } from './evidence.repository';
import { IngestController } from './ingest.controller';
import { IngestService } from './ingest.service';

@Module({
  imports: [SourcesModule],
  controllers: [IngestController],
  providers: [EvidenceRepository, IngestService],
})
export class IngestModule {}
