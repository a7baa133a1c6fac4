import type { Logger } from '@nestjs/common';

export interface BatchLoopOptions {
  /** One batch in a transaction of its own: how many items it handled, or -1 while another replica holds the turn. */
  readonly runBatch: () => Promise<number>;
  /** How often an idle loop looks for work that other replicas committed. */
  readonly pollIntervalMs: () => number;
  readonly logger: Logger;
  /** Logged with the error when a batch fails (its work stays queued for the next). */
  readonly failureMessage: string;
}

/**
 * The loop of a background worker that takes turns with the other replicas (the linker, the findings evaluator):
 * batch after batch until nothing is left, then a poll; a wake while a batch runs makes one more batch right after,
 * so a burst of work is done in a few large batches. One batch at a time per process.
 */
export class BatchLoop {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;
  private rerun = false;
  private stopped = false;

  constructor(private readonly options: BatchLoopOptions) {}

  start(): void {
    this.schedule(0);
  }

  /** Stops polling and waits for the batch in hand, so that it finishes before the database connections close. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** Work was committed in this process: do it now rather than at the next poll. */
  wake(): void {
    if (this.stopped) return;
    if (this.running) this.rerun = true;
    else this.schedule(0);
  }

  /** Does everything queued now, batch after batch (waiting its turn behind other replicas); returns how many items. */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      while (this.running) await this.running.catch(() => undefined);
      if (this.stopped) return total;
      this.running = this.options.runBatch();
      let handled: number;
      try {
        handled = await this.running;
      } finally {
        this.running = undefined;
      }
      if (handled < 0) {
        // Another replica holds the turn: wait for it rather than report an empty queue.
        await new Promise((resolve) => setTimeout(resolve, 20));
        continue;
      }
      total += handled;
      if (handled === 0) return total;
    }
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.rerun = false;
      this.drain()
        .catch((error: unknown) => this.options.logger.error({ err: error }, this.options.failureMessage))
        .finally(() => {
          if (!this.stopped) this.schedule(this.rerun ? 0 : this.options.pollIntervalMs());
        });
    }, delayMs);
    this.timer.unref();
  }
}
