import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { storableJson, storableText } from '../common/storable-text';
import type { VerificationData } from '../evidence/types/verification-event';
import type { IndependentVerdictValue, Reason } from './verification/reasons';

export interface QueuedVerification {
  readonly eventSeq: string;
  /** The compact serialization, kept in the queue even when minimisation drops it from the event. */
  readonly requestObject: string | null;
  /** Claims made so far, this one included. */
  readonly attempts: number;
  /** The AS's report; null when retention purged the event while it was queued. */
  readonly reported: VerificationData | null;
  readonly reportedAt: Date;
}

export interface VerdictRow {
  readonly eventSeq: string;
  readonly verdict: IndependentVerdictValue;
  /** null only when the report was purged before it was judged. */
  readonly asVerdict: 'accepted' | 'rejected' | null;
  readonly mismatch: boolean;
  readonly reasons: readonly Reason[];
  readonly alg?: string;
  readonly kid?: string;
  readonly innerDigest?: string;
  readonly opaque: boolean;
}

/** The queue of pending verifications (work: rows are deleted) and the verdicts (evidence: append-only). */
@Injectable()
export class VerificationRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** In the ingest transaction: a verification event is committed together with its pending verification. */
  async enqueue(manager: EntityManager, rows: readonly { eventSeq: string; requestObject: string | undefined }[]): Promise<void> {
    if (rows.length === 0) return;
    await manager.query(
      `INSERT INTO verification_queue (event_seq, request_object, attempts)
       SELECT r.event_seq, r.request_object, 0 FROM jsonb_to_recordset($1::jsonb) AS r(event_seq bigint, request_object text)
       ON CONFLICT ON CONSTRAINT pk_verification_queue DO NOTHING`,
      [JSON.stringify(rows.map((row) => ({ event_seq: row.eventSeq, request_object: row.requestObject ?? null })))],
    );
  }

  /**
   * Claims up to `limit` due rows for this worker: SKIP LOCKED lets several replicas claim at once without waiting
   * on each other, and moving next_attempt_at forward is the lease (a worker that dies lets it expire).
   */
  async claimDue(limit: number, leaseMs: number): Promise<QueuedVerification[]> {
    const rows: { event_seq: string; request_object: string | null; attempts: number; data: VerificationData | null; emitted_at: Date }[] = await this.dataSource.query(
      // A top-level SELECT over the UPDATE, so the driver answers with rows (an UPDATE answers with a count too).
      `WITH claimed AS (
         UPDATE verification_queue q
         SET next_attempt_at = now() + make_interval(secs => $2::double precision / 1000), attempts = q.attempts + 1
         FROM (SELECT event_seq FROM verification_queue WHERE next_attempt_at <= now() ORDER BY next_attempt_at, event_seq LIMIT $1 FOR NO KEY UPDATE SKIP LOCKED) due
         WHERE q.event_seq = due.event_seq
         RETURNING q.event_seq, q.request_object, q.attempts
       )
       SELECT c.event_seq, c.request_object, c.attempts, e.data, e.emitted_at FROM claimed c JOIN events e ON e.seq = c.event_seq ORDER BY c.event_seq`,
      [limit, leaseMs],
    );
    return rows.map((row) => ({
      eventSeq: String(row.event_seq),
      requestObject: row.request_object,
      attempts: row.attempts,
      reported: row.data,
      reportedAt: row.emitted_at,
    }));
  }

  /** The attempt failed: try again after `delayMs`. */
  async reschedule(eventSeq: string, delayMs: number, error: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE verification_queue SET next_attempt_at = now() + make_interval(secs => $2::double precision / 1000), last_error = $3 WHERE event_seq = $1`,
      [eventSeq, delayMs, storableText(error.slice(0, 1000))],
    );
  }

  /**
   * Records the final verdict, makes it searchable on the event's chains, and removes the work item: together, so
   * that a verdict never exists without its facets, nor a finished item stays queued. What the verdict quotes from
   * the object (reasons, kid, alg) is made storable first: NUL or a lone surrogate must not make it fail.
   */
  async recordVerdict(verdict: VerdictRow): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      // The queue row's lock orders this verdict with a linker linking the same record (ChainLinker takes it
      // FOR KEY SHARE before writing facets): whichever commits second sees the other, so the facets are written.
      await manager.query(`SELECT 1 FROM verification_queue WHERE event_seq = $1 FOR UPDATE`, [verdict.eventSeq]);
      const inserted: unknown[] = await manager.query(
        `INSERT INTO independent_verdicts (event_seq, verdict, as_verdict, mismatch, reasons, alg, kid, inner_digest, opaque)
         VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9)
         ON CONFLICT ON CONSTRAINT pk_independent_verdicts DO NOTHING
         RETURNING event_seq`,
        [
          verdict.eventSeq,
          verdict.verdict,
          verdict.asVerdict,
          verdict.mismatch,
          JSON.stringify(storableJson(verdict.reasons)),
          verdict.alg === undefined ? null : storableText(verdict.alg),
          verdict.kid === undefined ? null : storableText(verdict.kid),
          verdict.innerDigest ?? null,
          verdict.opaque,
        ],
      );
      if (inserted.length > 0) {
        const facets = [['independent_verdict', verdict.verdict], ...(verdict.mismatch ? [['verdict_mismatch', 'true']] : [])];
        await manager.query(
          `INSERT INTO chain_facets (name, value, chain_digest, chain_created_at)
           SELECT f.name, f.value, c.digest, c.created_at
           FROM chain_members m JOIN chains c ON c.digest = m.chain_digest, jsonb_to_recordset($2::jsonb) AS f(name text, value text)
           WHERE m.event_seq = $1
           ON CONFLICT ON CONSTRAINT pk_chain_facets DO NOTHING`,
          [verdict.eventSeq, JSON.stringify(facets.map(([name, value]) => ({ name, value })))],
        );
        // The verdict can change the chain's findings (verdict_mismatch, alg_policy): evaluate it again. Ordered with
        // the linker like the facets: a chain linked after this commit is queued by the linker itself.
        await manager.query(
          `INSERT INTO finding_checks (subject, cause) SELECT m.chain_digest, jsonb_build_object('kind', 'verdict', 'seq', $1::text) FROM chain_members m WHERE m.event_seq = $1::bigint`,
          [verdict.eventSeq],
        );
      }
      await manager.query(`DELETE FROM verification_queue WHERE event_seq = $1`, [verdict.eventSeq]);
    });
  }

  /** How many verifications wait (due or not). */
  async pendingCount(): Promise<number> {
    const [row]: { count: string }[] = await this.dataSource.query(`SELECT count(*) AS count FROM verification_queue`);
    return Number(row!.count);
  }
}
