import 'reflect-metadata';
import { parentPort, workerData } from 'node:worker_threads';
import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { type Keyring, SealingKeys } from '../common/crypto/keyring';
import type { AppConfig } from '../config/app-config';
import { dataSourceOptions, sequencerTimeouts } from '../database/data-source-options';
import { closeConnectionsOnQueryTimeout } from '../database/query-timeout';
import { LedgerRepository } from './ledger.repository';
import { LedgerSequencer, type LedgerSettings, SequencerLoop } from './ledger-sequencer';
import { SigningKeysService } from './signing-keys.service';

/** What the service hands the worker (see sequencerWorkerData): where the database is, the one key it needs, the ledger settings. */
export interface SequencerWorkerData {
  readonly databaseUrl: string;
  /** Only the keys that open the ledger signing keys (one per master key held), never a master key. */
  readonly ledgerKeySealingKeys: ReturnType<SealingKeys['only']>;
  readonly ledger: LedgerSettings;
  /** The timeouts only: the database URL above is the one connection setting the worker needs. */
  readonly database: Pick<AppConfig['database'], 'connectTimeoutMs' | 'statementTimeoutMs'>;
}

export type SequencerWorkerMessage = 'stop';

/**
 * The sequencer loop in a worker thread (started by LedgerSequencerService): the same LedgerSequencer, on its own
 * two connections. Errors go to the service's log through messages; 'stop' finishes the run in progress and exits.
 */
async function main(): Promise<void> {
  const data = workerData as SequencerWorkerData;
  Logger.overrideLogger(false);
  const dataSource = new DataSource(dataSourceOptions(data.databaseUrl, 2, sequencerTimeouts(data)));
  await dataSource.initialize();
  closeConnectionsOnQueryTimeout(dataSource);
  const ledger = new LedgerRepository(dataSource);
  const keyring = { sealing: SealingKeys.fromOnly('ledger key', data.ledgerKeySealingKeys) } as Keyring;
  const keys = new SigningKeysService(ledger, keyring, { ledger: data.ledger });
  await keys.ensureKey();
  const loop = new SequencerLoop(new LedgerSequencer(ledger, keys, data.ledger), data.ledger, (error) =>
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
