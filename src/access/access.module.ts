import { Inject, Module, type OnApplicationBootstrap } from '@nestjs/common';
import { APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { AccessGuard } from './access.guard';
import { AccessRecordInterceptor } from './access-record.interceptor';
import { AccessRecorder } from './access-recorder';
import { AccessRecordsController } from './access-records.controller';
import { AccessRecordsRepository } from './access-records.repository';
import { AccessRecordsService } from './access-records.service';
import { AccessTokensService } from './access-tokens.service';
import { ApiKeysController } from './api-keys.controller';
import { ApiKeysRepository } from './api-keys.repository';
import { ApiKeysService } from './api-keys.service';
import { AccessController } from './access.controller';
import { SignInOptionsService } from './sign-in-options.service';

@Module({
  controllers: [ApiKeysController, AccessRecordsController, AccessController],
  providers: [
    ApiKeysRepository,
    ApiKeysService,
    AccessTokensService,
    SignInOptionsService,
    AccessRecordsRepository,
    AccessRecordsService,
    AccessRecorder,
    AccessGuard,
    { provide: APP_GUARD, useExisting: AccessGuard },
    { provide: APP_INTERCEPTOR, useClass: AccessRecordInterceptor },
  ],
  exports: [ApiKeysService, AccessTokensService, SignInOptionsService, AccessGuard],
})
export class AccessModule implements OnApplicationBootstrap {
  constructor(
    private readonly apiKeys: ApiKeysService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Runs after the database module's migrations (onModuleInit), before the server listens. */
  async onApplicationBootstrap(): Promise<void> {
    if (this.config.bootstrapAdminKey) await this.apiKeys.ensureBootstrapAdminKey(this.config.bootstrapAdminKey);
  }
}
