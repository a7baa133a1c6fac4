import { Inject, Injectable, Logger, Module, type OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Keyring } from '../common/crypto/keyring';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { adoptServiceKeys, runMigrationsUnderLock } from './database-bootstrap';
import { dataSourceOptions } from './data-source-options';
import { closeConnectionsOnQueryTimeout } from './query-timeout';

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
    closeConnectionsOnQueryTimeout(this.dataSource);
    if (this.config.database.runMigrations) {
      // On connections of their own, without the service's statement timeout: building an index over a large
      // table may rightly take longer than any request should.
      const url = (this.dataSource.options as { url: string }).url;
      const migrator = new DataSource(dataSourceOptions(url, 2, { connectMs: this.config.database.connectTimeoutMs }));
      await migrator.initialize();
      try {
        const applied = await runMigrationsUnderLock(migrator);
        if (applied.length > 0) this.logger.log({ applied }, 'migrations applied');
      } finally {
        await migrator.destroy();
      }
    }
    await adoptServiceKeys(this.dataSource, this.keyring);
  }
}

@Module({ providers: [DatabaseBootstrap] })
export class DatabaseModule {}
