import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { PreparedStatements } from '../database/prepared-statements';
import { LINKED_BELOW_SQL } from '../evidence/linking-watermark';
import { LinkerWorker } from './linker.worker';

/** How far linking had got when an answer was read, as every answer that shows chains reports it. */
export interface LinkingView {
  readonly linked_below: string;
  readonly requested_position: string | null;
  readonly reached: boolean;
}

/** The view, and whether any committed record waited for the linker when it was read (not part of answers). */
export type SettledLinking = LinkingView & { readonly somethingWaits: boolean };

const POLL_MS = 5;

/**
 * The reader's side of linking after commit. Before an answer reads chains it reads the watermark: in READ
 * COMMITTED every later statement sees at least what that read saw, so every record committed below the watermark
 * at that moment is in the answer. With a requested position it first waits (bounded) for the watermark to pass it,
 * nudging this process's linker so that a reader of its own write does not wait for the next poll.
 */
@Injectable()
export class ReadYourWrites {
  private readonly statements: PreparedStatements;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly linker: LinkerWorker,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.statements = new PreparedStatements(dataSource);
  }

  async settle(minPosition: string | undefined): Promise<SettledLinking> {
    if (minPosition === undefined) {
      const { linkedBelow, highest } = await this.watermark();
      return { linked_below: linkedBelow, requested_position: null, reached: true, somethingWaits: BigInt(linkedBelow) <= highest };
    }
    const started = Date.now();
    const requested = minPosition === 'latest' ? await this.latestPosition() : BigInt(minPosition);
    for (;;) {
      const { linkedBelow, highest } = await this.watermark();
      const reached = BigInt(linkedBelow) > requested;
      if (reached || Date.now() - started >= this.config.linker.maxWaitMs) {
        return { linked_below: linkedBelow, requested_position: String(requested), reached, somethingWaits: BigInt(linkedBelow) <= highest };
      }
      this.linker.wake();
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  /** The watermark and the highest committed position, in one statement (one snapshot). */
  private async watermark(): Promise<{ linkedBelow: string; highest: bigint }> {
    const [row] = await this.statements.run<{ linked_below: string; highest: string }>(
      { name: 'jartrail_linking_watermark', text: `SELECT ${LINKED_BELOW_SQL} AS linked_below, (SELECT COALESCE(max(seq), 0) FROM events) AS highest` },
      [],
    );
    return { linkedBelow: String(row!.linked_below), highest: BigInt(row!.highest) };
  }

  /** The highest position committed now: `latest` asks for everything committed before the request. */
  private async latestPosition(): Promise<bigint> {
    const [row]: { latest: string }[] = await this.dataSource.query(`SELECT COALESCE(max(seq), 0) AS latest FROM events`);
    return BigInt(row!.latest);
  }
}
