import { type BeforeApplicationShutdown, Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { LedgerService } from '../ledger/ledger.service';
import { SigningKeysService } from '../ledger/signing-keys.service';
import { addSeq, type SeqRanges, signManifest } from './export-manifest';
import { safeDatabaseMessage } from '../logging/safe-error';
import { ExportFile, FileWriteStopped } from './export-file';
import { CSV_HEADER, type ExportRecord, formatBatch } from './export-formats';
import { type ExportJob, ExportsRepository } from './exports.repository';

/** A job attempted this often and still not finished (its worker died each time) fails rather than loop for ever. */
export const MAX_ATTEMPTS = 3;

/** Records read (and, with proofs, proved) at a time: large enough to amortise the proof statements. */
const FORMAT_BATCH = 100;
/** Records formatted into one piece of text: kept well under V8's 128 KB large-object size (ExportFile.append). */
const FORMAT_SLICE = 50;

class RunStopped extends Error {}

/**
 * Runs export jobs: every replica runs up to EXPORTS_CONCURRENCY at once, and the cluster at most
 * EXPORTS_MAX_RUNNING (checked at each claim). A job is claimed under a lease that every stored chunk extends; a
 * replica that dies leaves it to be claimed again, from the start, once the lease runs out. Expired files are removed
 * on the same poll.
 */
@Injectable()
export class ExportsWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Exports');
  private readonly running = new Map<string, { runToken: string; done: Promise<void> }>();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly exports: ExportsRepository,
    private readonly ledger: LedgerService,
    private readonly keys: SigningKeysService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.exports.enabled) this.schedule(0);
  }

  /** Stops claiming; a job in hand stops at its next chunk and is released for another worker. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.polling?.catch(() => undefined);
    await Promise.all([...this.running.values()].map((run) => run.done));
  }

  /** A job was created in this process: claim it now rather than at the next poll. */
  wake(): void {
    if (this.config.exports.enabled && !this.stopped) this.schedule(0);
  }

  /** Claims and runs jobs until none is runnable or every slot is taken, and waits for them (tests, the CLI). */
  async runDue(): Promise<void> {
    await this.poll();
    await Promise.all([...this.running.values()].map((run) => run.done));
  }

  /** Removes the files of expired jobs; returns how many jobs expired. */
  expire(): Promise<number> {
    return this.exports.expire();
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.polling = this.poll()
        .catch((error: unknown) => this.logger.error({ err: error }, 'an export poll failed'))
        .finally(() => {
          this.polling = undefined;
          if (!this.stopped) this.schedule(this.config.exports.pollIntervalMs);
        });
    }, delayMs);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    await this.exports.expire();
    while (!this.stopped && this.running.size < this.config.exports.concurrency) {
      const job = await this.exports.claim(this.config.exports.leaseSeconds, this.config.exports.maxRunning);
      if (!job) return;
      const runToken = job.runToken!;
      const done = this.run(job, runToken).finally(() => {
        this.running.delete(job.id);
        // A slot is free: a queued job need not wait for the next poll.
        if (!this.stopped) this.schedule(0);
      });
      this.running.set(job.id, { runToken, done });
    }
  }

  private async run(job: ExportJob, runToken: string): Promise<void> {
    const { ttlHours, leaseSeconds } = this.config.exports;
    if (job.attempts > MAX_ATTEMPTS) {
      await this.exports.fail(job.id, runToken, `the export was started ${MAX_ATTEMPTS} times and never finished (its worker stopped each time)`, ttlHours);
      return;
    }
    try {
      // Cut at a checkpoint signed now: every record committed before the job started is in it, and each
      // exported record can be proved against it.
      const checkpoint = await this.ledger.checkpointNow();
      const treeSize = checkpoint.tree_size;
      await this.exports.readSelection({ scope: job.scope, treeSize }, async (total, records) => {
        if (!(await this.exports.started(job.id, runToken, treeSize, total))) throw new RunStopped();
        const result = await this.write(job, runToken, records, leaseSeconds, treeSize);
        const manifest = await signManifest(await this.keys.current(), {
          log: 'jartrail',
          kind: 'export_manifest',
          format: 'jartrail-export-manifest/v1',
          export_id: job.id,
          file_format: job.format,
          query: job.scope,
          proofs: job.proofs,
          records: result.recordsDone,
          bytes: result.bytes,
          sha256: result.sha256.toString('hex'),
          ledger_seqs: result.ledgerSeqs,
          checkpoint,
          created_at: new Date().toISOString(),
        });
        if (!(await this.exports.complete(job.id, runToken, { ...result, manifest }, ttlHours))) throw new RunStopped();
      });
    } catch (error) {
      if (error instanceof RunStopped || error instanceof FileWriteStopped) {
        // Cancelled, or taken over after a lost lease: the job is someone else's now. When this process is the one
        // stopping, the job is released for another worker.
        if (this.stopped) await this.exports.release(job.id, runToken).catch(() => undefined);
        return;
      }
      this.logger.error({ err: error, export: job.id }, 'an export failed');
      await this.exports.fail(job.id, runToken, failureMessage(error), ttlHours).catch(() => undefined);
    }
  }

  /** Formats the records and stores the file in chunks, hashing it on the way. */
  private async write(job: ExportJob, runToken: string, records: AsyncIterable<ExportRecord>, leaseSeconds: number, treeSize: number) {
    let recordsDone = 0;
    // Runs of consecutive seqs: a handful for an unfiltered export, one per gap for a filtered one.
    const ledgerSeqs: SeqRanges = [];
    const file = new ExportFile(job.chunkBytes, async (chunk, progress) => {
      if (this.stopped) return false;
      return this.exports.writeChunk(job.id, runToken, chunk, { recordsDone, bytes: progress.bytes }, leaseSeconds);
    });

    // With proofs, a batch's proofs are read in two statements while the cursor waits. The batch is formatted a
    // slice at a time, so that no formatted text is large (see ExportFile.append).
    const format = async (batch: readonly ExportRecord[]) => {
      const proofs = job.proofs && batch.length > 0 ? await this.ledger.eventProofsAt(batch.map((record) => record.recordSeq), treeSize) : undefined;
      for (let start = 0; start < batch.length; start += FORMAT_SLICE) await file.append(formatBatch(job.format, batch.slice(start, start + FORMAT_SLICE), proofs));
    };
    if (job.format === 'csv') await file.append(CSV_HEADER);
    let batch: ExportRecord[] = [];
    for await (const record of records) {
      addSeq(ledgerSeqs, record.ledgerSeq);
      batch.push(record);
      if (batch.length === FORMAT_BATCH) {
        recordsDone += batch.length;
        await format(batch);
        batch = [];
      }
    }
    recordsDone += batch.length;
    await format(batch);
    const { bytes, sha256 } = await file.finish();
    return { recordsDone, bytes, sha256, ledgerSeqs };
  }
}

/** What a failed job says: the error's message, without values a database error quotes from its input. */
function failureMessage(error: unknown): string {
  if (!(error instanceof Error)) return 'the export failed';
  return safeDatabaseMessage(error.message, (error as { code?: string }).code);
}
