import 'reflect-metadata';
import { parentPort, workerData } from 'node:worker_threads';
import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { Keyring } from '../common/crypto/keyring';
import type { AppConfig } from '../config/app-config';
import { dataSourceOptions, sequencerTimeouts } from '../database/data-source-options';
import { closeConnectionsOnQueryTimeout } from '../database/query-timeout';
import { LedgerRepository } from './ledger.repository';
import { LedgerSequencer, SequencerLoop } from './ledger-sequencer';
import { SigningKeysService } from './signing-keys.service';

/** What the service hands the worker: where the database is, the one key it needs, the settings. */
export interface SequencerWorkerData {
  readonly databaseUrl: string;
  /** base64url; only the key that opens the ledger signing keys, not the master key. */
  readonly ledgerKeySealingKey: string;
  readonly config: AppConfig;
}

export type SequencerWorkerMessage = 'stop';

/**
 * The sequencer loop in a worker thread (started by LedgerSequencerService): the same LedgerSequencer, on its own
 * two connections. Errors go to the service's log through messages; 'stop' finishes the run in progress and exits.
 */
async function main(): Promise<void> {
  const data = workerData as SequencerWorkerData;
  Logger.overrideLogger(false);
  const dataSource = new DataSource(dataSourceOptions(data.databaseUrl, 2, sequencerTimeouts(data.config)));
  await dataSource.initialize();
  closeConnectionsOnQueryTimeout(dataSource);
  const ledger = new LedgerRepository(dataSource);
  const keyring = { ledgerKeySealingKey: Buffer.from(data.ledgerKeySealingKey, 'base64url') } as Keyring;
  const keys = new SigningKeysService(ledger, keyring, data.config);
  await keys.ensureKey();
  const loop = new SequencerLoop(new LedgerSequencer(ledger, keys, data.config), data.config, (error) =>
    parentPort!.postMessage({ error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) }),
  );
  parentPort!.on('message', (message: SequencerWorkerMessage) => {
    if (message !== 'stop') return;
    void loop
      .stop()
      .then(() => dataSource.destroy())
      .finally(() => process.exit(0));
  });
  loop.start();
}

main().catch((error: unknown) => {
  parentPort!.postMessage({ error: `the sequencer worker could not start: ${(error as Error).message}` });
  process.exit(1);
});
