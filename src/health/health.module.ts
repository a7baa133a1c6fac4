import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { ChainsModule } from '../chains/chains.module';
import { HealthController } from './health.controller';

@Module({
  imports: [TerminusModule.forRoot({ errorLogStyle: 'json' }), ChainsModule],
  controllers: [HealthController],
})
export class HealthModule {}
