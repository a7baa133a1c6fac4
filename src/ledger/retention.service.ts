import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { LedgerRepository } from './ledger.repository';

const DAY_MS = 86_400_000;

/**
 * Retention: blanks the payloads of records older than the policy's period, through jartrail_purge_payloads,
 * in batches of RETENTION_BATCH_SIZE, each its own short transaction that locks only the rows it blanks (ingest
 * inserts new rows and never waits on it). Only records already in the ledger are purged; their leaves commit to
 * the salted payload hash, so every proof stays valid.
 */
@Injectable()
export class RetentionService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Retention');
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly ledger: LedgerRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    const retention = this.config.retention;
    if (!retention) return;
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.purge(retention.policy, new Date(Date.now() - retention.payloadDays * DAY_MS))
        .catch((error: unknown) => this.logger.error({ err: error }, 'the retention purge failed; it runs again later'))
        .finally(() => (this.running = undefined));
    }, retention.intervalSeconds * 1000);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** Purges, batch after batch, every ledgered payload recorded before the cutoff; returns how many. */
  async purge(policy: string, recordedBefore: Date, batchSize = this.config.retention?.batchSize ?? 1000): Promise<number> {
    let total = 0;
    for (;;) {
      const batch = await this.ledger.purgePayloads(policy, recordedBefore, batchSize);
      total += batch.records;
      // A batch that walked fewer records than asked stopped at the cutoff (or the end of the ledger).
      if (batch.fromLedgerSeq === null || batch.toLedgerSeq! - batch.fromLedgerSeq + 1 < batchSize) break;
    }
    if (total > 0) this.logger.log({ policy, records: total, recordedBefore: recordedBefore.toISOString() }, 'payloads purged');
    return total;
  }
}
