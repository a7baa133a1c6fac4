import { type BeforeApplicationShutdown, Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { BatchLoop } from '../common/background/batch-loop';
import { withTransactionRetry } from '../database/transaction-retry';
import { resolutionReasonOf } from './check-cause';
import { evaluateSubject } from './evaluate-subject';
import { reconcile } from './finding-reconciler';
import { FindingsRepository } from './findings.repository';
import { NotificationOutboxRepository } from './notifications/notification-outbox.repository';
import type { FindingDraft } from './rule';

/**
 * Evaluates the finding rules over the chains the linker, the verification worker and the client registry queue
 * (finding_checks), after their commits and never in an ingest transaction. Every replica runs one; they take turns
 * (one evaluation transaction at a time, cluster-wide), so a chain's findings have one writer and a replica killed
 * mid-batch leaves its checks queued for the next. A batch's findings, their history, the notifications they owe
 * subscribers and the removal of its checks commit together.
 */
@Injectable()
export class FindingsWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Findings');
  private readonly loop: BatchLoop;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly findings: FindingsRepository,
    private readonly notifications: NotificationOutboxRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.loop = new BatchLoop({
      runBatch: () => this.evaluateBatch(),
      pollIntervalMs: () => this.config.findings.pollIntervalMs,
      logger: this.logger,
      failureMessage: 'a findings batch failed; its chains stay queued',
    });
  }

  onApplicationBootstrap(): void {
    if (this.config.findings.enabled) this.loop.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.loop.stop();
  }

  /** Checks were queued in this process (a linker batch committed): evaluate now rather than at the next poll. */
  wake(): void {
    if (this.config.findings.enabled) this.loop.wake();
  }

  /** Evaluates every due subject now, batch after batch (waiting its turn behind other replicas); returns how many. */
  drain(): Promise<number> {
    return this.loop.drain();
  }

  /** One batch of subjects in one transaction; -1 when another replica holds the evaluator's turn. */
  private async evaluateBatch(): Promise<number> {
    return withTransactionRetry(() =>
      this.dataSource.transaction(async (manager) => {
        if (!(await this.findings.takeTurn(manager))) return -1;
        const claimed = await this.findings.claimDue(manager, this.config.findings.batchSubjects);
        if (claimed.subjects.length === 0) return 0;
        const evidence = await this.findings.loadEvidence(manager, claimed.subjects);
        const stored = await this.findings.storedFindings(manager, claimed.subjects);
        const now = new Date();
        const context = { now, orphanGraceMs: this.config.findings.orphanGraceSeconds * 1000 };

        const opened = [];
        const updated = [];
        const resolved = [];
        const rechecks = [];
        for (const subject of claimed.subjects) {
          const chain = evidence.bySubject.get(subject)!;
          const evaluation = evaluateSubject(chain, context);
          for (const failure of evaluation.failedRules) {
            this.logger.error({ err: failure.error, rule: failure.rule, subject }, 'a finding rule failed; its findings of this subject are left as they were');
          }
          const changes = reconcile(stored.get(subject) ?? [], evaluation.findings, {
            purgedEventSeqs: evidence.purgedEventSeqs,
            unevaluatedRules: new Set(evaluation.failedRules.map((failure) => failure.rule)),
            // What queued this evaluation is what ended the finding: the records that arrived, a verdict, a client.
            resolutionReason: resolutionReasonOf(claimed.causes.get(subject) ?? [], chain),
          });
          const occurredAtOf = (draft: FindingDraft) => evaluation.occurredAtOf(draft.evidence);
          opened.push(...changes.opened.map((draft) => ({ ...draft, subject, facts_of_subject: evaluation.subjectFacts, occurredAt: occurredAtOf(draft) })));
          updated.push(...changes.updated.map((update) => ({ ...update, occurredAt: occurredAtOf(update.draft) })));
          resolved.push(...changes.resolved);
          if (evaluation.recheckAt) rechecks.push({ subject, dueAt: evaluation.recheckAt });
        }
        const changeIds = [...(await this.findings.open(manager, opened)), ...(await this.findings.update(manager, updated))];
        await this.findings.resolve(manager, resolved);
        // What subscribers are owed commits with the changes that owe it: nothing lost to a restart in between.
        await this.notifications.enqueue(manager, changeIds);
        await this.findings.removeChecks(manager, claimed.checkIds);
        await this.findings.scheduleChecks(manager, rechecks);
        return claimed.subjects.length;
      }),
    );
  }
}
