import 'reflect-metadata';
import pino from 'pino';
import { createApp } from './app';
import { Keyring, loadOrCreateMasterKey } from './common/crypto/keyring';
import { ConfigurationError, loadConfig } from './config/app-config';
import { EmbeddedDatabase } from './database/embedded-postgres';

/**
 * `npm start`: validate the configuration, start the embedded PostgreSQL unless DATABASE_URL names one, load the
 * master key, then serve. On SIGTERM or SIGINT: stop taking requests, finish those in flight, close the pool,
 * and only then stop the embedded database.
 */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigurationError) {
      process.stderr.write(`jartrail: ${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  const log = pino({ level: config.logLevel, base: { context: 'main' } });

  let embedded: EmbeddedDatabase | undefined;
  if (!config.database.url) {
    log.info({ dataDir: config.dataDir, port: config.database.embeddedPort }, 'starting the embedded PostgreSQL');
    try {
      embedded = await EmbeddedDatabase.start({
        dataDir: config.dataDir,
        port: config.database.embeddedPort,
        onLog: (message) => log.debug({ postgres: message.trim() }, 'embedded postgres'),
      });
    } catch (error) {
      log.fatal({ err: error }, 'the embedded PostgreSQL could not start');
      process.exit(1);
    }
  }
  const stopEmbedded = async () => {
    await embedded?.stop().catch((error: unknown) => log.error({ err: error }, 'the embedded PostgreSQL did not stop cleanly'));
  };

  try {
    const previousKeys = config.previousMasterKeys.map((key) => Buffer.from(key, 'base64url'));
    const keyring = new Keyring(await loadOrCreateMasterKey(config.masterKey, config.dataDir), previousKeys);
    const app = await createApp({ config, keyring, databaseUrl: config.database.url ?? embedded!.url });
    await app.listen({ port: config.http.port, host: config.http.host });
    log.info({ url: await app.getUrl(), database: embedded ? 'embedded' : 'DATABASE_URL' }, 'jartrail is listening');

    let stopping = false;
    const shutdown = async (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'shutting down: finishing requests in flight');
      try {
        await app.close();
      } finally {
        await stopEmbedded();
        log.info('stopped');
        process.exit(0);
      }
    };
    process.on('SIGTERM', (signal) => void shutdown(signal));
    process.on('SIGINT', (signal) => void shutdown(signal));
  } catch (error) {
    log.fatal({ err: error }, 'jartrail could not start');
    await stopEmbedded();
    process.exit(1);
  }
}

void main();
