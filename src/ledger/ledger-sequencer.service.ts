import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Keyring } from '../common/crypto/keyring';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { dataSourceOptions, sequencerTimeouts } from '../database/data-source-options';
import { closeConnectionsOnQueryTimeout } from '../database/query-timeout';
import { LedgerRepository } from './ledger.repository';
import { LedgerSequencer, type SequencerRun, type SequencerRunOptions, SequencerLoop } from './ledger-sequencer';
import type { SequencerWorkerData, SequencerWorkerMessage } from './sequencer.worker';
import { SigningKeysService } from './signing-keys.service';

/** The compiled worker; absent when the service runs from TypeScript sources (the tests), which loop in-thread. */
const WORKER_FILE = join(__dirname, 'sequencer.worker.js');

/**
 * What the worker thread gets, and all it gets: an explicit object, so that a new setting (or secret) in AppConfig
 * never reaches the thread by accident. Not the master key, not the bootstrap admin key, no other derived key.
 */
export function sequencerWorkerData(config: AppConfig, keyring: Keyring, databaseUrl: string): SequencerWorkerData {
  return {
    databaseUrl,
    ledgerKeySealingKeys: keyring.sealing.only('ledger key'),
    ledger: config.ledger,
    database: { connectTimeoutMs: config.database.connectTimeoutMs, statementTimeoutMs: config.database.statementTimeoutMs },
  };
}

/**
 * The sequencer in the service. The periodic loop runs in a worker thread with its own two connections, so that
 * hashing and signing never take time from the event loop that answers ingest; on-demand runs (POST
 * /v1/ledger/checkpoints) run here, waiting for the same advisory lock.
 */
@Injectable()
export class LedgerSequencerService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('LedgerSequencer');
  private sequencer: LedgerSequencer | undefined;
  private sequencerDataSource: DataSource | undefined;
  private worker: Worker | undefined;
  private loop: SequencerLoop | undefined;

  constructor(
    private readonly keys: SigningKeysService,
    private readonly keyring: Keyring,
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.keys.ensureKey();
    // Connections of its own, whose statement timeout fits a batch of LEDGER_SEQUENCER_BATCH records rather than a
    // request: the service's pool would cut a long batch, and the batch would then fail on every retry.
    this.sequencerDataSource = new DataSource(dataSourceOptions(this.databaseUrl, 2, sequencerTimeouts(this.config)));
    await this.sequencerDataSource.initialize();
    closeConnectionsOnQueryTimeout(this.sequencerDataSource);
    this.sequencer = new LedgerSequencer(new LedgerRepository(this.sequencerDataSource), this.keys, this.config.ledger);
    if (!this.config.ledger.enabled) return;
    if (existsSync(WORKER_FILE)) this.startWorker();
    else {
      this.loop = new SequencerLoop(this.sequencer, this.config.ledger, (error) => this.logger.error({ err: error }, 'the ledger sequencer failed; retrying'));
      this.loop.start();
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.loop?.stop();
    const worker = this.worker;
    if (worker) {
      this.worker = undefined;
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      worker.postMessage('stop' satisfies SequencerWorkerMessage);
      await exited;
    }
    await this.sequencerDataSource?.destroy();
  }

  run(options: SequencerRunOptions): Promise<SequencerRun> {
    return this.sequencer!.run(options);
  }

  private get databaseUrl(): string {
    return (this.dataSource.options as { url: string }).url;
  }

  private startWorker(): void {
    const workerData = sequencerWorkerData(this.config, this.keyring, this.databaseUrl);
    const worker = new Worker(WORKER_FILE, { workerData });
    worker.on('message', (message: { error?: string }) => {
      if (message.error) this.logger.error({ err: message.error }, 'the ledger sequencer failed; retrying');
    });
    worker.on('error', (error) => this.logger.error({ err: error }, 'the ledger sequencer worker stopped'));
    worker.on('exit', (code) => {
      if (this.worker === worker) {
        // Unexpected: the worker died. Start another after a pause; the database holds all the state.
        this.logger.error({ code }, 'the ledger sequencer worker exited; restarting it');
        this.worker = undefined;
        setTimeout(() => {
          if (!this.worker) this.startWorker();
        }, 1000).unref();
      }
    });
    worker.unref();
    this.worker = worker;
  }
}
