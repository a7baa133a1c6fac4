import 'reflect-metadata';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import pino from 'pino';
import { createApp } from './app';
import { Keyring, loadOrCreateMasterKey } from './common/crypto/keyring';
import { ConfigurationError, loadConfig } from './config/app-config';
import { EmbeddedDatabase, EmbeddedStartRefusedError } from './database/embedded-postgres';
import { safeErrorSerializer } from './logging/safe-error';

/**
 * `npm start`: validate the configuration, start the embedded PostgreSQL unless DATABASE_URL names one, load the
 * master key, then serve. On SIGTERM or SIGINT: stop taking requests, finish those in flight, close the pool,
 * and only then stop the embedded database. A signal during the start stops what has started so far (initdb or
 * PostgreSQL included), so no process is left behind.
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
  const log = pino({ level: config.logLevel, base: { context: 'main' }, serializers: { err: safeErrorSerializer } });

  let embedded: EmbeddedDatabase | undefined;
  let startingEmbedded: Promise<EmbeddedDatabase> | undefined;
  let app: NestFastifyApplication | undefined;
  let stopping = false;
  const stopEmbedded = async () => {
    await embedded?.stop().catch((error: unknown) => log.error({ err: error }, 'the embedded PostgreSQL did not stop cleanly'));
  };
  const shutdown = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, app ? 'shutting down: finishing requests in flight' : 'stopping during the start');
    try {
      await app?.close();
    } finally {
      if (startingEmbedded && !embedded) {
        EmbeddedDatabase.interruptStart();
        embedded ??= await startingEmbedded.catch(() => undefined);
      }
      await stopEmbedded();
      log.info('stopped');
      process.exit(0);
    }
  };
  process.on('SIGTERM', (signal) => void shutdown(signal));
  process.on('SIGINT', (signal) => void shutdown(signal));
  // A stop during the start tears the database away from whatever the start was doing (a migration, a worker's
  // first query): their failures on the way out are the stop, not a crash, and must not turn exit 0 into exit 1.
  // At any other time an unhandled failure ends the process with 1, as Node's default does.
  process.on('unhandledRejection', (reason) => {
    if (stopping) return log.warn({ err: reason }, 'failed while stopping');
    log.fatal({ err: reason }, 'unhandled rejection');
    process.exit(1);
  });
  process.on('uncaughtException', (error) => {
    if (stopping) return log.warn({ err: error }, 'failed while stopping');
    log.fatal({ err: error }, 'uncaught exception');
    process.exit(1);
  });

  if (!config.database.url) {
    log.info({ dataDir: config.dataDir, port: config.database.embeddedPort }, 'starting the embedded PostgreSQL');
    try {
      startingEmbedded = EmbeddedDatabase.start({
        dataDir: config.dataDir,
        port: config.database.embeddedPort,
        onLog: (message) => log.debug({ postgres: message.trim() }, 'embedded postgres'),
      });
      embedded = await startingEmbedded;
    } catch (error) {
      if (stopping) return;
      if (error instanceof EmbeddedStartRefusedError) log.fatal(error.message);
      else log.fatal({ err: error }, 'the embedded PostgreSQL could not start');
      process.exit(1);
    }
  }

  try {
    const previousKeys = config.previousMasterKeys.map((key) => Buffer.from(key, 'base64url'));
    const keyring = new Keyring(await loadOrCreateMasterKey(config.masterKey, config.dataDir), previousKeys);
    const created = await createApp({ config, keyring, databaseUrl: config.database.url ?? embedded!.url });
    if (stopping) {
      await created.close();
      return;
    }
    app = created;
    await app.listen({ port: config.http.port, host: config.http.host });
    log.info({ url: await app.getUrl(), database: embedded ? 'embedded' : 'DATABASE_URL' }, 'jartrail is listening');
  } catch (error) {
    // A stop signal during the start makes the start fail (its database goes away); shutdown() ends the process.
    if (stopping) return;
    log.fatal({ err: error }, 'jartrail could not start');
    await stopEmbedded();
    process.exit(1);
  }
}

void main();
