import { type BeforeApplicationShutdown, Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { type ExportedChainDocument, ChainsService } from '../chains/chains.service';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { RECORD_KINDS, type RecordKind } from '../ledger/ledger-leaf';
import { LedgerService } from '../ledger/ledger.service';
import { SigningKeysService } from '../ledger/signing-keys.service';
import type { CheckpointDocument } from '../ledger/verification/documents';
import { safeDatabaseMessage } from '../logging/safe-error';
import { ExportFile, FileWriteStopped } from './export-file';
import { BinaryCopyReader } from './binary-copy';
import { CSV_HEADER, type ExportRecord, isRecordFormat, type RecordProof } from './export-formats';
import { SeqSet, signManifest } from './export-manifest';
import { type ExportJob, type ExportSnapshot, ExportsRepository, isUnfiltered, type RecordSelection, seqRangeOf } from './exports.repository';
import { ocsfLine } from './ocsf';
import { LINE_FIELD_COUNT, LINE_FIELDS, type LineFormat } from './record-lines';
import { REPORT_DETAIL_CHAINS, renderReport } from './pdf-report';

/** A job attempted this often and still not finished (its worker died each time) fails rather than loop for ever. */
export const MAX_ATTEMPTS = 3;

/** Records read (and, with proofs, proved) at a time: large enough to amortise the proof statements. */
const FORMAT_BATCH = 500;
/** The end of every NDJSON line PostgreSQL writes: a proof goes in before it. */
const LINE_END = Buffer.from('}\n');
/** Records formatted into one piece of text: kept well under V8's 128 KB large-object size (ExportFile.append). */
const FORMAT_SLICE = 50;

/** Chain documents built at once (each is one statement of the chains module, on the pool the API shares). */
const CHAIN_BATCH = 4;

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
    private readonly chains: ChainsService,
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
    const { ttlHours } = this.config.exports;
    if (job.attempts > MAX_ATTEMPTS) {
      await this.exports.fail(job.id, runToken, `the export was started ${MAX_ATTEMPTS} times and never finished (its worker stopped each time)`, ttlHours);
      return;
    }
    try {
      // Cut at a checkpoint signed now: every record committed before the job started is in it, and each
      // exported record can be proved against it.
      const checkpoint = await this.ledger.checkpointNow();
      const selection: RecordSelection = { scope: job.scope, treeSize: checkpoint.tree_size };
      const file = new JobFile(job, runToken, this.exports, this.config.exports.leaseSeconds, checkpoint.tree_size, () => this.stopped);
      const written = await this.exports.inSnapshot((snapshot) => this.produce(job, file, snapshot, selection, checkpoint), { temporaryTables: job.format === 'pdf' });
      const { sha256, bytes } = await file.finish();
      // The signed purges of the purged payloads the file shows: few (one per retention batch), read once.
      const purges = written.purgedSeqs.size === 0 ? [] : (await this.ledger.purgeDocuments()).filter((purge) => anyIn(written.purgedSeqs, purge.from_ledger_seq, purge.to_ledger_seq));
      const range = seqRangeOf(selection);
      const ledgerSeqs = written.seqs.ranges();
      const manifest = await signManifest(await this.keys.current(), {
        log: 'jartrail',
        kind: 'export_manifest',
        format: 'jartrail-export-manifest/v1',
        export_id: job.id,
        file_format: job.format,
        query: job.scope,
        proofs: job.proofs,
        records: written.seqs.size,
        ...(written.chains !== undefined && { chains: written.chains }),
        bytes,
        sha256: sha256.toString('hex'),
        ledger_seqs: ledgerSeqs,
        // Only a record format of an unfiltered scope holds every record of its range: the others show chains (whose
        // records are events) or a report.
        completeness: isRecordFormat(job.format) && isUnfiltered(job.scope) ? { from_seq: range.from, to_seq: range.to, records: written.seqs.size, kinds: [...RECORD_KINDS] } : null,
        purges,
        checkpoint,
        created_at: new Date().toISOString(),
      });
      if (!(await this.exports.complete(job.id, runToken, { recordsDone: file.recordsDone, bytes, sha256, manifest }, ttlHours))) throw new RunStopped();
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

  /** Writes the job's file from its snapshot; returns the ledger seqs it holds. */
  private async produce(job: ExportJob, file: JobFile, snapshot: ExportSnapshot, selection: RecordSelection, checkpoint: CheckpointDocument): Promise<Written> {
    const written: Written = { seqs: new SeqSet(), purgedSeqs: new SeqSet() };
    if (job.format === 'ndjson-chains') return this.writeChains(file, snapshot, selection, checkpoint, written);
    if (job.format === 'pdf') {
      // The report counts the records of the scope: their seqs go in the manifest.
      for (const [first, last] of await snapshot.seqRuns(selection)) for (let seq = first; seq <= last; seq++) written.seqs.add(seq);
      const aggregates = await snapshot.aggregates(selection);
      if (!(await file.start(aggregates.records))) throw new RunStopped();
      // The counting is the work over the records; the report is drawn from the aggregates (progress in records).
      file.progress(aggregates.records);
      const signer = await this.keys.current();
      await file.appendStream(
        renderReport({
          exportId: job.id,
          scope: job.scope,
          aggregates,
          chains: snapshot.highSeverityChains(REPORT_DETAIL_CHAINS),
          detailLimit: REPORT_DETAIL_CHAINS,
          checkpoint,
          signingKid: signer.kid,
          ledgerSeqs: written.seqs.ranges(),
        }),
      );
      return written;
    }
    if (job.format === 'ndjson' || job.format === 'csv') return this.writeLines(job, job.format, file, snapshot, selection, written);
    // OCSF: each record mapped to its OCSF class here, from the records statement.
    const { total, records } = await snapshot.records(selection);
    if (!(await file.start(total))) throw new RunStopped();
    let batch: ExportRecord[] = [];
    const format = async () => {
      file.progress(batch.length);
      // A slice at a time, so that no piece of text is large (ExportFile.append).
      for (let start = 0; start < batch.length; start += FORMAT_SLICE) await file.append(batch.slice(start, start + FORMAT_SLICE).map(ocsfLine).join(''));
      batch = [];
    };
    for await (const record of records) {
      written.seqs.add(record.ledgerSeq);
      if (record.data === null) written.purgedSeqs.add(record.ledgerSeq);
      batch.push(record);
      if (batch.length === FORMAT_BATCH) await format();
    }
    await format();
    checkCount(written.seqs.size, total);
    return written;
  }

  /**
   * NDJSON and CSV: PostgreSQL writes each record's line (record-lines.ts) and the job copies its bytes into the file.
   * With proofs, a batch of lines waits for its proofs, each written into its line (before the closing brace).
   */
  private async writeLines(job: ExportJob, format: LineFormat, file: JobFile, snapshot: ExportSnapshot, selection: RecordSelection, written: Written): Promise<Written> {
    const { total, chunks } = await snapshot.recordLines(selection, format);
    if (!(await file.start(total))) throw new RunStopped();
    if (format === 'csv') await file.append(CSV_HEADER);
    const reader = new BinaryCopyReader(LINE_FIELD_COUNT);
    let proving: ProvableLine[] = [];
    const prove = async () => {
      const proofs = await this.proofsOf(proving, selection.treeSize);
      for (const { ledgerSeq, line } of proving) {
        const proof = proofs.get(ledgerSeq);
        if (!proof) {
          await file.write(line, 0, line.length);
          continue;
        }
        await file.write(line, 0, line.length - LINE_END.length);
        await file.append(`,"proof":${JSON.stringify(proof)}}\n`);
      }
      proving = [];
    };
    for await (const chunk of chunks) {
      for (const tuple of reader.tuples(chunk)) {
        const ledgerSeq = tuple.int8(LINE_FIELDS.ledgerSeq);
        written.seqs.add(ledgerSeq);
        if (tuple.bool(LINE_FIELDS.purged)) written.purgedSeqs.add(ledgerSeq);
        file.progress(1);
        if (!job.proofs) {
          const wait = file.write(tuple.data, tuple.start(LINE_FIELDS.line), tuple.end(LINE_FIELDS.line));
          if (wait) await wait;
          continue;
        }
        proving.push({
          ledgerSeq,
          kind: tuple.text(LINE_FIELDS.kind) as RecordKind,
          recordSeq: String(tuple.int8(LINE_FIELDS.recordSeq)),
          line: Buffer.from(tuple.data.subarray(tuple.start(LINE_FIELDS.line), tuple.end(LINE_FIELDS.line))),
        });
        if (proving.length === FORMAT_BATCH) await prove();
      }
    }
    reader.end();
    if (proving.length > 0) await prove();
    checkCount(reader.rows, total);
    return written;
  }

  private async proofsOf(batch: readonly Pick<ExportRecord, 'kind' | 'recordSeq'>[], treeSize: number): Promise<Map<number, RecordProof>> {
    const proofs = new Map<number, RecordProof>();
    for (const kind of RECORD_KINDS) {
      const seqs = batch.filter((record) => record.kind === kind).map((record) => record.recordSeq);
      if (seqs.length > 0) for (const [seq, proof] of await this.ledger.proofsAt(kind, seqs, treeSize)) proofs.set(seq, proof);
    }
    return proofs;
  }

  /**
   * One chain document a line, in digest order: the digests stream from the snapshot, each document is built by the
   * chains module (the code of GET /v1/chains/{digest}) cut at the checkpoint, a few at a time.
   */
  private async writeChains(file: JobFile, snapshot: ExportSnapshot, selection: RecordSelection, checkpoint: CheckpointDocument, written: Written): Promise<Written> {
    const cut = { treeSize: checkpoint.tree_size, rootHash: Buffer.from(checkpoint.root_hash, 'base64url'), issuedAt: checkpoint.issued_at };
    let started = false;
    let expected = 0;
    let read = 0;
    let chains = 0;
    let batch: string[] = [];
    const flush = async () => {
      const documents = await Promise.all(batch.map((digest) => this.chains.exportDocument(digest, cut)));
      const lines: string[] = [];
      for (const document of documents) {
        if (!document) continue;
        chains += 1;
        for (const view of chainRecordViews(document)) {
          if (view.ledger?.seq === null || view.ledger?.seq === undefined) continue;
          written.seqs.add(view.ledger.seq);
          if (view.data === null) written.purgedSeqs.add(view.ledger.seq);
        }
        lines.push(`${JSON.stringify(document)}\n`);
      }
      file.progress(batch.length);
      // A document a piece: a batch of them would be a large string (ExportFile.append).
      for (const line of lines) await file.append(line);
      batch = [];
    };
    for await (const { digest, total } of snapshot.chainDigests(selection)) {
      if (!started) {
        if (!(await file.start(total))) throw new RunStopped();
        started = true;
        expected = total;
      }
      read += 1;
      batch.push(digest);
      if (batch.length === CHAIN_BATCH) await flush();
    }
    if (!started && !(await file.start(0))) throw new RunStopped();
    await flush();
    if (read !== expected) throw new Error(`the export read ${read} of the ${expected} chains it counted`);
    return { ...written, chains };
  }
}

/**
 * The count and the rows come from one snapshot: fewer rows means the read stopped early, and a file that silently
 * lacks records must not be signed as complete.
 */
function checkCount(read: number, counted: number): void {
  if (read !== counted) throw new Error(`the export read ${read} of the ${counted} records it counted`);
}

/** A line held until its proof is read. */
interface ProvableLine {
  readonly ledgerSeq: number;
  readonly kind: RecordKind;
  readonly recordSeq: string;
  readonly line: Buffer;
}

/** The record views of a chain document, every section and the kept conflicts. */
function chainRecordViews(document: ExportedChainDocument): readonly { ledger?: { seq: number | null }; data: unknown }[] {
  return [...document.request_object.verifications, ...document.consents, ...document.tokens, ...document.revocations, ...document.tool_calls, ...document.conflicts];
}

function anyIn(seqs: SeqSet, from: number, to: number): boolean {
  for (let seq = from; seq <= to; seq++) if (seqs.has(seq)) return true;
  return false;
}

interface Written {
  readonly seqs: SeqSet;
  readonly purgedSeqs: SeqSet;
  readonly chains?: number;
}

/**
 * The file of a job as it is written (ExportFile: hashed, cut into chunks at exact multiples of the job's chunk size,
 * one stored while the next fills), each stored chunk extending the lease and carrying the progress. Stops the run
 * (FileWriteStopped) once the job is no longer this run's (cancelled, taken over) or the process stops.
 */
class JobFile {
  private readonly file: ExportFile;
  recordsDone = 0;

  constructor(
    private readonly job: ExportJob,
    private readonly runToken: string,
    private readonly exports: ExportsRepository,
    leaseSeconds: number,
    private readonly treeSize: number,
    stopping: () => boolean,
  ) {
    this.file = new ExportFile(job.chunkBytes, async (chunk, progress) => {
      if (stopping()) return false;
      return exports.writeChunk(job.id, runToken, chunk, { recordsDone: this.recordsDone, bytes: progress.bytes }, leaseSeconds);
    });
  }

  /** Records the cut and the total; false when the run no longer holds the job. */
  start(total: number): Promise<boolean> {
    return this.exports.started(this.job.id, this.runToken, this.treeSize, total);
  }

  progress(done: number): void {
    this.recordsDone += done;
  }

  /** Text in pieces well under 128 KB (ExportFile.append), or bytes. */
  append(content: string | Buffer): Promise<void> {
    return typeof content === 'string' ? this.file.append(content) : this.file.appendBytes(content);
  }

  /** Bytes [start, end) of `data`; a promise to await only when the file must wait for a stored chunk. */
  write(data: Buffer, start: number, end: number): Promise<void> | undefined {
    return this.file.write(data, start, end);
  }

  /** Appends what a stream produces, as it produces it (the PDF). */
  async appendStream(stream: AsyncIterable<Buffer>): Promise<void> {
    for await (const chunk of stream) await this.file.appendBytes(chunk);
  }

  /** Stores the last chunk (an empty file is one empty chunk); the file's size and hash. */
  finish(): Promise<{ sha256: Buffer; bytes: number }> {
    return this.file.finish();
  }
}

/** What a failed job says: the error's message, without values a database error quotes from its input. */
function failureMessage(error: unknown): string {
  if (!(error instanceof Error)) return 'the export failed';
  return safeDatabaseMessage(error.message, (error as { code?: string }).code);
}
