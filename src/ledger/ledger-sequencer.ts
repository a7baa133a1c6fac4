import { randomBytes } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import type { AppConfig } from '../config/app-config';
import { signCheckpoint, exactNow } from './checkpoint-signer';
import { leafHashOf, leafInputOf, payloadHashOf, SALT_BYTES } from './ledger-leaf';
import type { LedgerRepository, NewEntry, StoredCheckpoint } from './ledger.repository';
import { CompactRange, completeSubtrees, type Hash, type NodeId } from './merkle/merkle-tree';
import type { SigningKeysService } from './signing-keys.service';

/** The settings the sequencer reads: all the worker thread is given. */
export type LedgerSettings = AppConfig['ledger'];

export interface SequencerRunOptions {
  /** Wait for the lock instead of giving up (on-demand checkpoints). */
  readonly wait: boolean;
  readonly checkpoint: 'when_due' | 'now';
  /** Sequence no queue row after this one: an on-demand checkpoint stops at the queue as it was when asked. */
  readonly upToPendingId?: string;
}

export interface SequencerRun {
  /** false: another process held the sequencer lock, nothing was done here. */
  readonly ran: boolean;
  readonly sequenced: number;
  readonly treeSize: number;
  /** The checkpoint made in this run, if any. */
  readonly checkpoint: StoredCheckpoint | undefined;
}

/**
 * Gives committed records their gapless ledger sequence numbers, appends their leaves to the node store and makes
 * checkpoints. Ingest only queues (a trigger, in its own transaction); sequencing happens here, after commit, so
 * ingest transactions never wait on a counter. Every replica runs it (see LedgerSequencerService); a
 * transaction-scoped advisory lock lets one of them work at a time, and everything a run does (entries, nodes,
 * queue removal, checkpoint) commits together or not at all, so a crash leaves neither a hole nor a half-built tree.
 * Plain class, no Nest: the periodic loop runs it in a worker thread.
 */
export class LedgerSequencer {
  constructor(
    private readonly ledger: LedgerRepository,
    private readonly keys: SigningKeysService,
    private readonly settings: LedgerSettings,
  ) {}

  /**
   * One run: sequences up to one batch of queued records, then checkpoints when due (or now).
   */
  async run(options: SequencerRunOptions): Promise<SequencerRun> {
    return this.ledger.transaction(async (manager) => {
      if (options.wait) await this.ledger.lockSequencer(manager);
      else if (!(await this.ledger.tryLockSequencer(manager))) return { ran: false, sequenced: 0, treeSize: -1, checkpoint: undefined };

      const range = await this.loadRange(manager);
      const pending = await this.ledger.pendingRecords(manager, this.settings.sequencerBatch, options.upToPendingId);
      const entries: NewEntry[] = [];
      const nodes: (NodeId & { hash: Hash })[] = [];
      for (const record of pending) {
        const salt = randomBytes(SALT_BYTES);
        const payloadHash = payloadHashOf(salt, record.payload);
        const seq = range.size;
        const leafHash = leafHashOf(leafInputOf(seq, record.fields, payloadHash));
        nodes.push(...range.append(leafHash).filter((node) => node.level > 0));
        entries.push({ seq, kind: record.fields.kind, recordSeq: record.fields.recordSeq, salt, payloadHash, leafHash });
      }
      await this.ledger.appendEntries(manager, entries);
      await this.ledger.appendNodes(manager, nodes);
      await this.ledger.deletePending(manager, pending.map((record) => record.pendingId));

      const checkpoint = await this.checkpointIfDue(manager, range, options.checkpoint === 'now');
      return { ran: true, sequenced: entries.length, treeSize: range.size, checkpoint };
    });
  }

  /** The right edge of the tree as stored: O(log n) nodes. */
  private async loadRange(manager: EntityManager): Promise<CompactRange> {
    const size = await this.ledger.treeSize(manager);
    const ids = completeSubtrees({ start: 0, end: size });
    const stored = await this.ledger.nodes(ids, manager);
    return CompactRange.of(
      size,
      ids.map((id) => {
        const hash = stored.get(`${id.level}/${id.index}`);
        if (!hash) throw new Error(`the node store lacks node ${id.level}/${id.index} of a tree of ${size}`);
        return hash;
      }),
    );
  }

  private async checkpointIfDue(manager: EntityManager, range: CompactRange, now: boolean): Promise<StoredCheckpoint | undefined> {
    const latest = await this.ledger.latestCheckpoint(manager);
    const grown = range.size - (latest?.treeSize ?? 0);
    if (latest && grown === 0) return undefined;
    const due =
      now ||
      grown >= this.settings.checkpointRecords ||
      (grown > 0 && (!latest || Date.now() - Date.parse(latest.issuedAt) >= this.settings.checkpointIntervalSeconds * 1000));
    if (!due) return undefined;
    const checkpoint = await signCheckpoint(await this.keys.current(), range.size, range.root(), exactNow());
    await this.ledger.insertCheckpoint(manager, checkpoint);
    return checkpoint;
  }
}

/**
 * The periodic loop: a run every LEDGER_SEQUENCER_INTERVAL_MS, at once again after a full batch, a pause after a
 * failure.
 */
export class SequencerLoop {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;

  constructor(
    private readonly sequencer: LedgerSequencer,
    private readonly settings: LedgerSettings,
    private readonly onError: (error: unknown) => void,
  ) {}

  start(): void {
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      const run = this.sequencer.run({ wait: false, checkpoint: 'when_due' });
      this.running = run;
      run.then(
        // A full batch means more is waiting: go on at once.
        (result) => this.schedule(result.sequenced >= this.settings.sequencerBatch ? 0 : this.settings.sequencerIntervalMs),
        (error: unknown) => {
          this.onError(error);
          this.schedule(this.settings.sequencerIntervalMs * 5);
        },
      );
    }, delayMs);
  }
}
