import { randomUUID } from 'node:crypto';
import { type BatchOutcome, deliverBatch, type SourceCredentials } from './delivery';
import type { Envelope, EventDataByType, EventType } from './events';
import type { Outbox, OutboxEntry, SetAsideEntry } from './outbox';

export interface RetryPolicy {
  /** The first wait after a failed delivery (default 500 ms); each next wait doubles, with jitter. */
  readonly initialDelayMs?: number;
  /** The longest wait between two attempts (default 60 s). */
  readonly maxDelayMs?: number;
}

/** What the dispatcher tells its owner: it never throws into the code that records events. */
export type DispatcherNotice =
  | { readonly kind: 'retrying'; readonly reason: string; readonly attempt: number; readonly delayMs: number; readonly waiting: number }
  | { readonly kind: 'set_aside'; readonly entries: readonly SetAsideEntry[] }
  | { readonly kind: 'error'; readonly error: unknown };

export interface DispatcherOptions {
  /** jartrail's base URL. */
  readonly url: string;
  /** The sources events are sent as, by the key each event names (e.g. one for the AS, one for its token service). */
  readonly sources: Readonly<Record<string, SourceCredentials>>;
  readonly outbox: Outbox;
  /** Events per request (default 100; jartrail takes up to 1,000). */
  readonly batchSize?: number;
  readonly retry?: RetryPolicy;
  readonly fetch?: typeof fetch;
  readonly timeoutMs?: number;
  readonly onNotice?: (notice: DispatcherNotice) => void;
}

export class FlushTimeoutError extends Error {
  constructor(
    readonly waiting: number,
    readonly lastFailure: string | undefined,
  ) {
    super(`${waiting} events still wait for jartrail${lastFailure ? ` (last failure: ${lastFailure})` : ''}`);
    this.name = 'FlushTimeoutError';
  }
}

/**
 * Takes events into an outbox and delivers them to jartrail's batch endpoint in the background: in batches, signed
 * as their source, in order, again and again with exponential back-off (full jitter) until jartrail has answered for
 * each. An event jartrail refuses for good (rejected, conflict) is set aside in the outbox, never retried forever.
 * Nothing here waits for jartrail on the caller's path: `enqueue` returns once the event is in the outbox.
 */
export class Dispatcher {
  private readonly batchSize: number;
  private readonly initialDelayMs: number;
  private readonly maxDelayMs: number;
  private closed = false;
  private attempt = 0;
  private lastFailure: string | undefined;
  private wakeIdle: (() => void) | undefined;
  private wakeBackoff: (() => void) | undefined;
  private readonly appends = new Set<Promise<void>>();
  private readonly drainedWaiters = new Set<() => void>();
  private readonly running: Promise<void>;

  constructor(private readonly options: DispatcherOptions) {
    this.batchSize = Math.min(Math.max(options.batchSize ?? 100, 1), 1000);
    this.initialDelayMs = options.retry?.initialDelayMs ?? 500;
    this.maxDelayMs = options.retry?.maxDelayMs ?? 60_000;
    this.running = this.loop();
  }

  /** Puts one event into the outbox; resolves with its id once it is kept there (never waits for jartrail). */
  async enqueue<T extends EventType>(source: string, type: T, data: EventDataByType[T], options: { id?: string; timestamp?: Date } = {}): Promise<string> {
    const envelope: Envelope<T> = { id: options.id ?? randomUUID(), type, timestamp: (options.timestamp ?? new Date()).toISOString(), data };
    const appended = this.options.outbox.append([{ source, envelope }]);
    this.appends.add(appended);
    try {
      await appended;
    } finally {
      this.appends.delete(appended);
    }
    this.wakeIdle?.();
    return envelope.id;
  }

  /** How many events wait for jartrail. */
  get waiting(): number {
    return this.options.outbox.size;
  }

  /**
   * Resolves once every event enqueued so far has been answered for by jartrail; retries at once rather than after
   * the current back-off. Rejects with FlushTimeoutError after `timeoutMs` (default 30 s).
   */
  async flush(timeoutMs = 30_000): Promise<void> {
    await Promise.allSettled([...this.appends]);
    if (this.options.outbox.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    let waiter: (() => void) | undefined;
    try {
      await new Promise<void>((done, failed) => {
        waiter = done;
        this.drainedWaiters.add(done);
        timer = setTimeout(() => failed(new FlushTimeoutError(this.options.outbox.size, this.lastFailure)), timeoutMs);
        this.wakeBackoff?.();
        this.wakeIdle?.();
      });
    } finally {
      clearTimeout(timer);
      if (waiter) this.drainedWaiters.delete(waiter);
    }
  }

  /** Stops delivering (what waits stays in a durable outbox for the next start) and closes the outbox. */
  async close(): Promise<void> {
    if (this.closed) return;
    await Promise.allSettled([...this.appends]);
    this.closed = true;
    this.wakeIdle?.();
    this.wakeBackoff?.();
    await this.running;
    await this.options.outbox.close();
  }

  /** Tells the owner's observer (`onNotice`), which may not throw into delivery. */
  notify(notice: DispatcherNotice): void {
    try {
      this.options.onNotice?.(notice);
    } catch {
      // A failing observer must not stop delivery.
    }
  }

  private async loop(): Promise<void> {
    while (!this.closed) {
      try {
        const entries = this.options.outbox.pending(this.batchSize);
        if (entries.length === 0) {
          for (const done of this.drainedWaiters) done();
          await new Promise<void>((done) => (this.wakeIdle = done));
          this.wakeIdle = undefined;
          continue;
        }
        const failure = await this.deliver(entries);
        if (failure === undefined) {
          this.attempt = 0;
          this.lastFailure = undefined;
          continue;
        }
        this.attempt += 1;
        this.lastFailure = failure.reason;
        const ceiling = Math.min(this.maxDelayMs, this.initialDelayMs * 2 ** Math.min(this.attempt - 1, 30));
        const delayMs = Math.max(failure.retryAfterMs ?? 0, Math.round(Math.random() * ceiling));
        this.notify({ kind: 'retrying', reason: failure.reason, attempt: this.attempt, delayMs, waiting: this.options.outbox.size });
        await this.pause(delayMs);
      } catch (error) {
        // The outbox's disk failing, say: keep going after a pause rather than stop for good.
        this.notify({ kind: 'error', error });
        await this.pause(this.maxDelayMs);
      }
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise<void>((done) => {
      const timer = setTimeout(finish, ms);
      // The dispatcher must not keep a process alive on its own.
      timer.unref();
      function finish() {
        clearTimeout(timer);
        done();
      }
      this.wakeBackoff = finish;
    }).finally(() => (this.wakeBackoff = undefined));
  }

  /**
   * Delivers these entries, grouped by source (one request each). Acknowledges them all once every group is
   * answered; if one group must be retried, none is acknowledged and all go again: jartrail answers `duplicate` for
   * those it already recorded, so a redelivery changes nothing.
   */
  private async deliver(entries: readonly OutboxEntry[]): Promise<{ reason: string; retryAfterMs?: number } | undefined> {
    const bySource = new Map<string, OutboxEntry[]>();
    for (const entry of entries) bySource.set(entry.source, [...(bySource.get(entry.source) ?? []), entry]);
    const setAside: SetAsideEntry[] = [];
    for (const [source, group] of bySource) {
      const credentials = this.options.sources[source];
      if (credentials === undefined) {
        setAside.push(...group.map((entry) => ({ ...entry, status: 'unknown_source' })));
        continue;
      }
      const outcome: BatchOutcome = await deliverBatch(
        { url: this.options.url, source: credentials, fetch: this.options.fetch, timeoutMs: this.options.timeoutMs },
        group.map((entry) => entry.envelope),
      );
      if (outcome.kind === 'retry') return outcome;
      if (outcome.kind === 'refused') {
        setAside.push(...group.map((entry) => ({ ...entry, status: `refused_${outcome.status}`, problem: outcome.problem })));
        continue;
      }
      outcome.items.forEach((item, index) => {
        if (item.status === 'rejected' || item.status === 'conflict') setAside.push({ ...group[index]!, status: item.status, problem: item.problem });
      });
    }
    if (setAside.length > 0) {
      await this.options.outbox.setAside(setAside);
      this.notify({ kind: 'set_aside', entries: setAside });
    }
    await this.options.outbox.acknowledge(entries.at(-1)!.seq);
    return undefined;
  }
}
