import { Global, Module } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../config/app-config';
import { RemoteJwksCache } from './remote-jwks';

/** One cache of fetched key sets per process, shared by client keys and source (SET) keys. */
@Global()
@Module({
  providers: [{ provide: RemoteJwksCache, inject: [APP_CONFIG], useFactory: (config: AppConfig) => new RemoteJwksCache(config.jwks) }],
  exports: [RemoteJwksCache],
})
export class JwksModule {}
