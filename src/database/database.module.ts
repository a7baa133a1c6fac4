import { Inject, Injectable, Logger, Module, type OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { Keyring } from '../common/crypto/keyring';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { adoptServiceKeys, runMigrationsUnderLock } from './database-bootstrap';

/** Before anything else touches the database: migrations (under an advisory lock), then the service keys (which the master key must open). */
@Injectable()
export class DatabaseBootstrap implements OnModuleInit {
  private readonly logger = new Logger('Database');

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly keyring: Keyring,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    if (this.config.database.runMigrations) {
      const applied = await runMigrationsUnderLock(this.dataSource);
      if (applied.length > 0) this.logger.log({ applied }, 'migrations applied');
    }
    await adoptServiceKeys(this.dataSource, this.keyring);
  }
}

@Module({ providers: [DatabaseBootstrap] })
export class DatabaseModule {}
