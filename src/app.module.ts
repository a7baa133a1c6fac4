import { type DynamicModule, Global, Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AccessModule } from './access/access.module';
import { ChainsModule } from './chains/chains.module';
import { Keyring } from './common/crypto/keyring';
import { ProblemFilter } from './common/problem/problem.filter';
import { ProblemValidationPipe } from './common/problem/problem-validation.pipe';
import { APP_CONFIG, type AppConfig } from './config/app-config';
import { dataSourceOptions } from './database/data-source-options';
import { DatabaseModule } from './database/database.module';
import { ExportsModule } from './exports/exports.module';
import { HealthModule } from './health/health.module';
import { IngestModule } from './ingest/ingest.module';
import { JwksModule } from './common/jose/jwks.module';
import { KeysModule } from './keys/keys.module';
import { LedgerModule } from './ledger/ledger.module';
import { LoggingModule } from './logging/logging.module';
import { RequestObjectsModule } from './request-objects/request-objects.module';
import { SourcesModule } from './sources/sources.module';

/** What the process resolved before Nest starts: the validated config, the keys, the database to use. */
export interface AppRuntime {
  readonly config: AppConfig;
  readonly keyring: Keyring;
  readonly databaseUrl: string;
}

@Global()
@Module({})
class RuntimeModule {
  static forRoot(runtime: AppRuntime): DynamicModule {
    return {
      module: RuntimeModule,
      providers: [
        { provide: APP_CONFIG, useValue: runtime.config },
        { provide: Keyring, useValue: runtime.keyring },
      ],
      exports: [APP_CONFIG, Keyring],
    };
  }
}

@Module({})
export class AppModule {
  static forRoot(runtime: AppRuntime): DynamicModule {
    return {
      module: AppModule,
      imports: [
        RuntimeModule.forRoot(runtime),
        LoggingModule,
        TypeOrmModule.forRoot(
          dataSourceOptions(runtime.databaseUrl, runtime.config.database.poolSize, {
            connectMs: runtime.config.database.connectTimeoutMs,
            statementMs: runtime.config.database.statementTimeoutMs,
          }),
        ),
        DatabaseModule,
        HealthModule,
        AccessModule,
        JwksModule,
        SourcesModule,
        ChainsModule,
        RequestObjectsModule,
        IngestModule,
        LedgerModule,
        KeysModule,
        ExportsModule,
      ],
      providers: [
        { provide: APP_FILTER, useClass: ProblemFilter },
        { provide: APP_PIPE, useClass: ProblemValidationPipe },
      ],
    };
  }
}
