import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { LINKED_BELOW_SQL } from '../evidence/linking-watermark';

/** How far linking has got, as one snapshot sees it. */
export interface LinkingProgress {
  /** Every committed event with a seq below this is linked (positions are event seqs). */
  readonly linkedBelow: string;
  /** Committed events not yet linked. */
  readonly pendingRecords: number;
  /** How long the oldest of them has waited, in seconds (0 when none). */
  readonly oldestPendingSeconds: number;
}

export interface ClaimedLinkWork {
  readonly queueIds: readonly string[];
  readonly events: readonly StoredLinkFacts[];
}

/** What the linker needs of an event: its type and the members of `data` that links are derived from. */
export interface StoredLinkFacts {
  readonly seq: string;
  readonly type: string;
  /** null when retention purged the payload before it was linked. */
  readonly data: Record<string, unknown> | null;
}

/** The one linker transaction at a time, cluster-wide: an advisory lock key of its own ("jartrail linker"). */
const LINKER_LOCK_KEY = `hashtextextended('jartrail:linker', 0)`;


/** The SQL of the link queue (link_pending): claiming work, and the watermark readers are told. */
@Injectable()
export class LinkQueueRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Takes the linker's turn for this transaction, or answers false when another replica's linker has it. One
   * linker transaction at a time keeps linking a sequence of whole batches, each seeing every batch before it, so
   * the order-independence argument of ChainLinker holds without per-key locks.
   */
  async takeTurn(manager: EntityManager): Promise<boolean> {
    const [row]: { taken: boolean }[] = await manager.query(`SELECT pg_try_advisory_xact_lock(${LINKER_LOCK_KEY}) AS taken`);
    return row!.taken;
  }

  /** The oldest queue rows and the link facts of their events. */
  async claim(manager: EntityManager, statements: number): Promise<ClaimedLinkWork> {
    const rows: { id: string; event_seqs: string[] }[] = await manager.query(
      `SELECT id, event_seqs FROM link_pending ORDER BY id LIMIT $1 FOR UPDATE`,
      [statements],
    );
    if (rows.length === 0) return { queueIds: [], events: [] };
    const events: { seq: string; type: string; data: Record<string, unknown> | null }[] = await manager.query(
      `SELECT e.seq, e.type,
              CASE WHEN e.data IS NOT NULL THEN jsonb_strip_nulls(jsonb_build_object(
                'digest', e.data -> 'digest', 'inner_digest', e.data -> 'inner_digest',
                'jti', e.data -> 'jti', 'token_hash', e.data -> 'token_hash',
                'parent', e.data -> 'parent', 'token', e.data -> 'token')) END AS data
       FROM events e WHERE e.seq = ANY($1::bigint[])
       ORDER BY e.seq`,
      [rows.flatMap((row) => row.event_seqs)],
    );
    return {
      queueIds: rows.map((row) => String(row.id)),
      events: events.map((event) => ({ seq: String(event.seq), type: event.type, data: event.data })),
    };
  }

  async remove(manager: EntityManager, queueIds: readonly string[]): Promise<void> {
    await manager.query(`DELETE FROM link_pending WHERE id = ANY($1::bigint[])`, [queueIds]);
  }

  /** The watermark and the queue's size, in one statement (one snapshot). */
  async progress(): Promise<LinkingProgress> {
    const [row]: { linked_below: string; pending_records: string; oldest_pending_seconds: number | null }[] = await this.dataSource.query(PROGRESS_SQL);
    return toProgress(row!);
  }
}

const PROGRESS_SQL = `SELECT ${LINKED_BELOW_SQL} AS linked_below,
  (SELECT COALESCE(sum(cardinality(event_seqs)), 0) FROM link_pending) AS pending_records,
  (SELECT extract(epoch FROM clock_timestamp() - min(queued_at))::float8 FROM link_pending) AS oldest_pending_seconds`;

export function toProgress(row: { linked_below: string; pending_records: string | number; oldest_pending_seconds: number | null }): LinkingProgress {
  return {
    linkedBelow: String(row.linked_below),
    pendingRecords: Number(row.pending_records),
    oldestPendingSeconds: Math.max(0, Math.round((row.oldest_pending_seconds ?? 0) * 1000) / 1000),
  };
}
