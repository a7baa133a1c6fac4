import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { signPurge } from './checkpoint-signer';
import { LedgerRepository } from './ledger.repository';
import { SigningKeysService } from './signing-keys.service';

const DAY_MS = 86_400_000;

/**
 * Retention: blanks the payloads of records older than the policy's period, through jartrail_purge_payloads,
 * in batches of RETENTION_BATCH_SIZE, each its own short transaction that locks only the rows it blanks (ingest
 * inserts new rows and never waits on it). Only records already in the ledger are purged; their leaves commit to
 * the salted payload hash, so every proof stays valid. Each batch is signed with the ledger key: the verifiers
 * accept a blanked payload only under a signed purge that covers it.
 */
@Injectable()
export class RetentionService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Retention');
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly ledger: LedgerRepository,
    private readonly keys: SigningKeysService,
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
      const batch = await this.purgeBatch(policy, recordedBefore, batchSize);
      if (!batch) break;
      total += batch.records;
      // A batch that walked fewer records than asked stopped at the cutoff (or the end of the ledger).
      if (batch.to - batch.from + 1 < batchSize) break;
    }
    if (total > 0) this.logger.log({ policy, records: total, recordedBefore: recordedBefore.toISOString() }, 'payloads purged');
    return total;
  }

  /**
   * One batch in one transaction: the purge lock, the range, its signature, the blanking and the purge's record
   * together, so that a signed range is always the one blanked and no other purge slips in between.
   */
  private purgeBatch(policy: string, recordedBefore: Date, batchSize: number): Promise<{ from: number; to: number; records: number } | undefined> {
    return this.ledger.transaction(async (manager) => {
      await this.ledger.lockPurges(manager);
      const range = await this.ledger.nextPurgeRange(manager, recordedBefore, batchSize);
      if (!range) return undefined;
      const signature = await signPurge(await this.keys.current(), {
        log: 'jartrail',
        policy,
        from_ledger_seq: range.from,
        to_ledger_seq: range.to,
        // As PostgreSQL gives it back, to the microsecond: the verifiers compare it with recorded_at as text.
        recorded_before: recordedBefore.toISOString().replace(/Z$/, '000Z'),
      });
      const records = await this.ledger.purgePayloads(manager, { policy, recordedBefore, ...range, ...signature });
      return { ...range, records };
    });
  }
}
