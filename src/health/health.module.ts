import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { ChainsModule } from '../chains/chains.module';
import { FindingsModule } from '../findings/findings.module';
import { NotificationsModule } from '../findings/notifications/notifications.module';
import { HealthController } from './health.controller';

@Module({
  imports: [TerminusModule.forRoot({ errorLogStyle: 'json' }), ChainsModule, FindingsModule, NotificationsModule],
  controllers: [HealthController],
})
export class HealthModule {}
