import { type BeforeApplicationShutdown, Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { BatchLoop } from '../common/background/batch-loop';
import { withTransactionRetry } from '../database/transaction-retry';
import { EVENT_TYPES } from '../evidence/event-types';
import { linksOf } from '../evidence/record-links';
import { FindingsRepository } from '../findings/findings.repository';
import { FindingsWorker } from '../findings/findings.worker';
import { ChainLinker, type RecordToLink } from './chain-linker';
import { type LinkingProgress, LinkQueueRepository, type StoredLinkFacts } from './link-queue.repository';

/** The lag is checked this often, and at least twice within the warning threshold. */
const LAG_CHECK_INTERVAL_MS = 10_000;
/** While linking lags, the warning is repeated at most this often. */
const LAG_WARNING_INTERVAL_MS = 60_000;

/**
 * Links committed events into chains after their ingest transaction, in batches: every replica runs one, and they
 * take turns (one linker transaction at a time, cluster-wide), so the work moves to whichever replica is free and
 * a replica killed mid-batch leaves its rows queued for the next. A batch's membership, token references, facets
 * and the removal of its queue rows commit together: a reader sees a record either linked or queued, never half.
 */
@Injectable()
export class LinkerWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Linker');
  private readonly loop: BatchLoop;
  private lagCheck: NodeJS.Timeout | undefined;
  private lastLagWarning = 0;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly queue: LinkQueueRepository,
    private readonly linker: ChainLinker,
    private readonly findings: FindingsRepository,
    private readonly findingsWorker: FindingsWorker,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.loop = new BatchLoop({
      runBatch: () => this.linkBatch(),
      pollIntervalMs: () => this.config.linker.pollIntervalMs,
      logger: this.logger,
      failureMessage: 'a linker batch failed; its events stay queued',
    });
  }

  onApplicationBootstrap(): void {
    if (!this.config.linker.enabled) return;
    this.loop.start();
    // Apart from the batches: a linker that fails every batch, or whose replica does no linking, still warns.
    this.lagCheck = setInterval(() => {
      this.warnIfLagging().catch((error: unknown) => this.logger.error({ err: error }, 'the linking lag could not be read'));
    }, Math.min(LAG_CHECK_INTERVAL_MS, (this.config.linker.lagWarningSeconds * 1000) / 2));
    this.lagCheck.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.lagCheck);
    await this.loop.stop();
  }

  /**
   * New events were committed in this process: link now rather than at the next poll. Wakes that arrive while a
   * batch runs make one more batch afterwards, so a burst of single events is linked in a few large batches.
   */
  wake(): void {
    if (this.config.linker.enabled) this.loop.wake();
  }

  /** Links everything queued now, batch after batch (waiting its turn behind other replicas); returns how many events. */
  drain(): Promise<number> {
    return this.loop.drain();
  }

  progress(): Promise<LinkingProgress> {
    return this.queue.progress();
  }

  /**
   * One batch in one transaction; -1 when another replica holds the linker's turn. The chains it changed are queued
   * for the finding rules in the same transaction, so a committed membership is never left unevaluated.
   */
  private async linkBatch(): Promise<number> {
    const linked = await withTransactionRetry(() =>
      this.dataSource.transaction(async (manager) => {
        if (!(await this.queue.takeTurn(manager))) return -1;
        const work = await this.queue.claim(manager, this.config.linker.batchStatements);
        if (work.queueIds.length === 0) return 0;
        const made = await this.linker.link(manager, work.events.map(recordToLink));
        await this.findings.enqueueAfterLinking(
          manager,
          work.events.map((event) => event.seq),
          made,
          this.config.findings.orphanGraceSeconds,
          this.config.findings.delayMs,
        );
        await this.queue.remove(manager, work.queueIds);
        return work.events.length;
      }),
    );
    if (linked > 0) this.findingsWorker.wake();
    return linked;
  }

  private async warnIfLagging(): Promise<void> {
    if (Date.now() - this.lastLagWarning < LAG_WARNING_INTERVAL_MS) return;
    const progress = await this.queue.progress();
    if (progress.oldestPendingSeconds <= this.config.linker.lagWarningSeconds) return;
    this.lastLagWarning = Date.now();
    this.logger.warn(
      { pendingRecords: progress.pendingRecords, oldestPendingSeconds: progress.oldestPendingSeconds, linkedBelow: progress.linkedBelow },
      `linking lags: the oldest unlinked record has waited ${progress.oldestPendingSeconds} s (warning above ${this.config.linker.lagWarningSeconds} s)`,
    );
  }
}

/** The links a stored event brings, derived by its type's own definition; a purged payload links nothing. */
function recordToLink(event: StoredLinkFacts): RecordToLink {
  const definition = EVENT_TYPES.get(event.type);
  return { seq: event.seq, links: definition && event.data ? linksOf(definition.links, event.data) : {} };
}
