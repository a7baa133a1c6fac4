import { mkdir, open, readFile, rename, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Envelope } from './events';

/** One event waiting in an outbox: its place (seq), the key of the source that sends it, and the envelope. */
export interface OutboxEntry {
  readonly seq: number;
  readonly source: string;
  readonly envelope: Envelope;
}

/** An event set aside for good: jartrail refused it (rejected, conflict), so sending it again cannot help. */
export interface SetAsideEntry extends OutboxEntry {
  readonly status: string;
  readonly problem?: unknown;
}

/**
 * Where events wait until jartrail has answered for them. `append` resolves once the events are kept (for a file
 * outbox: written and fsync'ed); `acknowledge` drops everything up to a seq once jartrail has answered for it.
 */
export interface Outbox {
  append(items: readonly { readonly source: string; readonly envelope: Envelope }[]): Promise<void>;
  /** The oldest waiting events, at most `max`, in seq order. */
  pending(max: number): readonly OutboxEntry[];
  acknowledge(upToSeq: number): Promise<void>;
  setAside(entries: readonly SetAsideEntry[]): Promise<void>;
  /** How many events wait. */
  readonly size: number;
  close(): Promise<void>;
}

/** An outbox in memory: retries survive an outage of jartrail, not a restart of this process. */
export class MemoryOutbox implements Outbox {
  private readonly waiting: OutboxEntry[] = [];
  readonly setAsideEntries: SetAsideEntry[] = [];
  private nextSeq = 1;

  append(items: readonly { source: string; envelope: Envelope }[]): Promise<void> {
    for (const item of items) this.waiting.push({ seq: this.nextSeq++, ...item });
    return Promise.resolve();
  }

  pending(max: number): readonly OutboxEntry[] {
    return this.waiting.slice(0, max);
  }

  acknowledge(upToSeq: number): Promise<void> {
    while (this.waiting.length > 0 && this.waiting[0]!.seq <= upToSeq) this.waiting.shift();
    return Promise.resolve();
  }

  setAside(entries: readonly SetAsideEntry[]): Promise<void> {
    this.setAsideEntries.push(...entries);
    return Promise.resolve();
  }

  get size(): number {
    return this.waiting.length;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

export interface FileOutboxOptions {
  /** Rewrite the journal without its acknowledged events once they take more than this (default 4 MiB). */
  readonly compactAfterBytes?: number;
  /** Told about lines of the journal that could not be read back (a torn last line after a crash is expected). */
  readonly onCorruptLine?: (line: string) => void;
}

const JOURNAL = 'journal.ndjson';
const CURSOR = 'cursor.json';
const SET_ASIDE = 'set-aside.ndjson';

/**
 * A durable outbox in a folder of its own: an append-only NDJSON journal (one event a line, each append written
 * and fsync'ed before it counts), a cursor file (the highest seq jartrail has answered for, replaced atomically:
 * write, fsync, rename), and set-aside.ndjson (events jartrail refused for good, kept for an operator).
 *
 * Why this and not a database: the writer is one process appending small records and reading them back in order,
 * which is what an append-only file does best; it needs no native module inside the authorization server, and
 * after a crash the journal is read back whole except a torn last line (an append that never returned). Several
 * appends that arrive together share one write and one fsync (group commit), so a burst costs one disk flush.
 * Acknowledged events are dropped by rewriting the journal to its waiting tail (temporary file, fsync, rename)
 * once they take more than `compactAfterBytes`.
 *
 * One process per folder: the folder is this process's, as a database file would be.
 */
export class FileOutbox implements Outbox {
  private waiting: OutboxEntry[] = [];
  private buffered: { text: string; entries: OutboxEntry[]; done: () => void; failed: (error: unknown) => void }[] = [];
  private chain: Promise<void> = Promise.resolve();
  private flushScheduled = false;
  private acknowledgedBytes = 0;
  private closed = false;

  private constructor(
    readonly directory: string,
    private journal: FileHandle,
    private nextSeq: number,
    private acknowledged: number,
    private readonly compactAfterBytes: number,
  ) {}

  static async open(directory: string, options: FileOutboxOptions = {}): Promise<FileOutbox> {
    await mkdir(directory, { recursive: true });
    const acknowledged = await readCursor(join(directory, CURSOR));
    const journalPath = join(directory, JOURNAL);
    const text = await readFile(journalPath, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return '';
      throw error;
    });
    // A crash can leave a last line without its newline: that append never returned, so it is dropped.
    const complete = text.slice(0, text.lastIndexOf('\n') + 1);
    const journal = await open(journalPath, 'a+');
    if (complete.length !== text.length) await journal.truncate(Buffer.byteLength(complete));
    const entries: OutboxEntry[] = [];
    let acknowledgedBytes = 0;
    for (const line of complete.split('\n')) {
      if (line === '') continue;
      let entry: OutboxEntry;
      try {
        entry = JSON.parse(line) as OutboxEntry;
      } catch {
        options.onCorruptLine?.(line);
        continue;
      }
      if (entry.seq <= acknowledged) acknowledgedBytes += Buffer.byteLength(line) + 1;
      else entries.push(entry);
    }
    const lastSeq = Math.max(acknowledged, ...entries.map((entry) => entry.seq));
    const outbox = new FileOutbox(directory, journal, lastSeq + 1, acknowledged, options.compactAfterBytes ?? 4 * 1024 * 1024);
    outbox.waiting = entries;
    outbox.acknowledgedBytes = acknowledgedBytes;
    return outbox;
  }

  append(items: readonly { source: string; envelope: Envelope }[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the outbox is closed'));
    if (items.length === 0) return Promise.resolve();
    const entries = items.map((item) => ({ seq: this.nextSeq++, source: item.source, envelope: item.envelope }));
    const text = entries.map((entry) => `${JSON.stringify(entry)}\n`).join('');
    return new Promise<void>((done, failed) => {
      this.buffered.push({ text, entries, done, failed });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        // A failed write reaches each append through its own promise (writeBuffered rejects them), not through this one.
        void this.serially(() => this.writeBuffered());
      }
    });
  }

  /** One write and one fsync for everything appended since the last flush began (group commit). */
  private async writeBuffered(): Promise<void> {
    this.flushScheduled = false;
    const batch = this.buffered;
    this.buffered = [];
    try {
      await this.journal.appendFile(batch.map((item) => item.text).join(''));
      await this.journal.datasync();
    } catch (error) {
      for (const item of batch) item.failed(error);
      return;
    }
    for (const item of batch) {
      this.waiting.push(...item.entries);
      item.done();
    }
  }

  pending(max: number): readonly OutboxEntry[] {
    return this.waiting.slice(0, max);
  }

  acknowledge(upToSeq: number): Promise<void> {
    return this.serially(async () => {
      if (upToSeq <= this.acknowledged) return;
      let bytes = 0;
      while (this.waiting.length > 0 && this.waiting[0]!.seq <= upToSeq) bytes += Buffer.byteLength(JSON.stringify(this.waiting.shift())) + 1;
      await writeAtomically(join(this.directory, CURSOR), JSON.stringify({ acknowledged: upToSeq }));
      this.acknowledged = upToSeq;
      this.acknowledgedBytes += bytes;
      if (this.acknowledgedBytes > this.compactAfterBytes) await this.compact();
    });
  }

  /** The journal rewritten to the events still waiting: a new file fsync'ed, then renamed over the old one. */
  private async compact(): Promise<void> {
    const journalPath = join(this.directory, JOURNAL);
    await writeAtomically(journalPath, this.waiting.map((entry) => `${JSON.stringify(entry)}\n`).join(''));
    await this.journal.close();
    this.journal = await open(journalPath, 'a+');
    this.acknowledgedBytes = 0;
  }

  setAside(entries: readonly SetAsideEntry[]): Promise<void> {
    if (entries.length === 0) return Promise.resolve();
    return this.serially(async () => {
      const file = await open(join(this.directory, SET_ASIDE), 'a');
      try {
        await file.appendFile(entries.map((entry) => `${JSON.stringify(entry)}\n`).join(''));
        await file.datasync();
      } finally {
        await file.close();
      }
    });
  }

  get size(): number {
    return this.waiting.length;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.chain;
    await this.journal.close();
  }

  /** File operations one at a time, in the order asked: appends, cursor writes and compaction never interleave. */
  private serially(operation: () => Promise<void>): Promise<void> {
    const run = this.chain.then(operation);
    this.chain = run.catch(() => undefined);
    return run;
  }
}

async function readCursor(path: string): Promise<number> {
  try {
    const { acknowledged } = JSON.parse(await readFile(path, 'utf8')) as { acknowledged?: unknown };
    return typeof acknowledged === 'number' && Number.isSafeInteger(acknowledged) ? acknowledged : 0;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
}

async function writeAtomically(path: string, text: string): Promise<void> {
  const temporary = `${path}.tmp`;
  const file = await open(temporary, 'w');
  try {
    await file.writeFile(text);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temporary, path);
}
