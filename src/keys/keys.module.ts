import { Module } from '@nestjs/common';
import { MasterKeysController } from './master-keys.controller';
import { MasterKeysRepository } from './master-keys.repository';
import { MasterKeysService } from './master-keys.service';

@Module({
  controllers: [MasterKeysController],
  providers: [MasterKeysRepository, MasterKeysService],
})
export class KeysModule {}
