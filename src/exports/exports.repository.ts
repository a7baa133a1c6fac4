import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Pool, PoolClient } from 'pg';
import QueryStream from 'pg-query-stream';
import type { DataSource } from 'typeorm';
import type { ExportScope, ExportStatus } from './dto/export.dto';
import type { ExportFormat, ExportRecord } from './export-formats';

export interface ExportJob {
  readonly id: string;
  readonly apiKeyId: string;
  readonly format: ExportFormat;
  readonly scope: ExportScope;
  /** The size of the file's stored chunks: chunk n holds bytes [n * chunkBytes, (n + 1) * chunkBytes). */
  readonly chunkBytes: number;
  /** NDJSON with each record's inclusion proof in the checkpoint's tree. */
  readonly proofs: boolean;
  readonly status: ExportStatus;
  readonly recordsTotal: number | null;
  readonly recordsDone: number;
  readonly bytes: number;
  readonly sha256: Buffer | null;
  readonly treeSize: number | null;
  readonly error: string | null;
  readonly attempts: number;
  readonly runToken: string | null;
  readonly createdAt: Date;
  /** created_at to the microsecond, for keyset cursors (a Date keeps milliseconds). */
  readonly createdAtExact: string;
  readonly startedAt: Date | null;
  readonly finishedAt: Date | null;
  readonly expiresAt: Date | null;
}

interface ExportRow {
  id: string;
  api_key_id: string;
  format: ExportFormat;
  query: ExportScope;
  chunk_bytes: number;
  proofs: boolean;
  status: ExportStatus;
  records_total: string | null;
  records_done: string;
  bytes: string;
  sha256: Buffer | null;
  tree_size: string | null;
  error: string | null;
  attempts: number;
  run_token: string | null;
  created_at: Date;
  created_at_exact: string;
  started_at: Date | null;
  finished_at: Date | null;
  expires_at: Date | null;
}

const COLUMNS = `to_char("created_at" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at_exact, "id", "api_key_id", "format", "query", "chunk_bytes", "proofs", "status", "records_total", "records_done", "bytes", "sha256", "tree_size", "error", "attempts", "run_token", "created_at", "started_at", "finished_at", "expires_at"`;

function toJob(row: ExportRow): ExportJob {
  return {
    id: row.id,
    apiKeyId: row.api_key_id,
    format: row.format,
    scope: row.query,
    chunkBytes: row.chunk_bytes,
    proofs: row.proofs,
    status: row.status,
    recordsTotal: row.records_total === null ? null : Number(row.records_total),
    recordsDone: Number(row.records_done),
    bytes: Number(row.bytes),
    sha256: row.sha256,
    treeSize: row.tree_size === null ? null : Number(row.tree_size),
    error: row.error,
    attempts: row.attempts,
    runToken: row.run_token,
    createdAt: row.created_at,
    createdAtExact: row.created_at_exact,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    expiresAt: row.expires_at,
  };
}

/** The UTC text of a timestamptz to the microsecond, as the ledger leaf commits to it. */
const exactTime = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

interface RecordRow {
  ledger_seq: string;
  record_seq: string;
  event_id: string;
  source: string;
  type: string;
  emitted_at: string;
  occurred_at: string;
  recorded_at: string;
  chain_digests: string[];
  data_text: string | null;
}

/**
 * A record as read for an export. The payload arrives as its stored JSON text, which NDJSON and CSV write as it is;
 * it is parsed only when a format reads its fields (`data`), once.
 */
class StoredRecord implements ExportRecord {
  readonly ledgerSeq: number;
  readonly recordSeq: string;
  readonly eventId: string;
  readonly source: string;
  readonly type: string;
  readonly emittedAt: string;
  readonly occurredAt: string;
  readonly recordedAt: string;
  readonly chainDigests: readonly string[];
  readonly dataText: string | null;
  private parsed: Record<string, unknown> | null | undefined;

  constructor(row: RecordRow) {
    this.ledgerSeq = Number(row.ledger_seq);
    this.recordSeq = row.record_seq;
    this.eventId = row.event_id;
    this.source = row.source;
    this.type = row.type;
    this.emittedAt = row.emitted_at;
    this.occurredAt = row.occurred_at;
    this.recordedAt = row.recorded_at;
    this.chainDigests = row.chain_digests;
    this.dataText = row.data_text;
  }

  get data(): Record<string, unknown> | null {
    if (this.parsed === undefined) this.parsed = this.dataText === null ? null : (JSON.parse(this.dataText) as Record<string, unknown>);
    return this.parsed;
  }
}

/** Bytes of a chunk read in one row: 48 KiB, 96 KiB as hex, under V8's 128 KiB large-object size. */
const CHUNK_PIECE_BYTES = 48 * 1024;

/** The records of a scope, cut at a checkpoint (ledger seqs below its tree size), in ledger order. */
export interface RecordSelection {
  readonly scope: ExportScope;
  readonly treeSize: number;
}

/**
 * The SQL of a selection. Chain filters (client, issuer, subject, tool, verdicts, findings) keep a record when a
 * chain it is a member of matches: "every record of client X's authorizations", not only the records that name X.
 */
function selectionSql(selection: RecordSelection): { where: string; values: unknown[] } {
  const { scope } = selection;
  const values: unknown[] = [scope.from_seq ?? 0, Math.min(selection.treeSize, scope.to_seq ?? Number.MAX_SAFE_INTEGER)];
  const where = [`l."record_kind" = 'event'`, `l."seq" >= $1`, `l."seq" < $2`];
  const param = (value: unknown) => {
    values.push(value);
    return `$${values.length}`;
  };
  if (scope.from) where.push(`e."occurred_at" >= ${param(scope.from)}`);
  if (scope.to) where.push(`e."occurred_at" < ${param(scope.to)}`);
  if (scope.source) where.push(`s."name" = ${param(scope.source)}`);
  if (scope.types) where.push(`e."type" = ANY(${param(scope.types)}::text[])`);
  const facets: [string, string | undefined][] = [
    ['client_id', scope.client_id],
    ['issuer', scope.issuer],
    ['subject', scope.subject],
    ['tool', scope.tool],
    ['independent_verdict', scope.independent_verdict],
    ['verdict_mismatch', scope.verdict_mismatch ? 'true' : undefined],
  ];
  for (const [name, value] of facets) {
    if (value === undefined) continue;
    where.push(
      `EXISTS (SELECT 1 FROM "chain_members" m JOIN "chain_facets" f ON f."chain_digest" = m."chain_digest" WHERE m."event_seq" = e."seq" AND f."name" = ${param(name)} AND f."value" = ${param(value)})`,
    );
  }
  if (scope.finding_rule || scope.finding_severity) {
    const conditions = [
      ...(scope.finding_rule ? [`f."rule" = ${param(scope.finding_rule)}`] : []),
      ...(scope.finding_severity ? [`f."severity" = ${param(scope.finding_severity)}`] : []),
    ];
    where.push(`EXISTS (SELECT 1 FROM "chain_members" m JOIN "findings" f ON f."chain_digest" = m."chain_digest" WHERE m."event_seq" = e."seq" AND ${conditions.join(' AND ')})`);
  }
  return { where: where.join(' AND '), values };
}

const FROM = `"ledger_entries" l JOIN "events" e ON e."seq" = l."record_seq" JOIN "sources" s ON s."id" = e."source_id"`;

/**
 * The statement that reads a selection's records, in ledger order. bench:export runs it under COPY ... TO STDOUT as
 * the ceiling an export is measured against, so the two read exactly the same rows.
 */
export function recordRowsQuery(selection: RecordSelection): { text: string; values: unknown[] } {
  const { where, values } = selectionSql(selection);
  return {
    text: `SELECT l."seq" AS ledger_seq, l."record_seq", e."event_id", s."name" AS source, e."type",
             ${exactTime('e."emitted_at"')} AS emitted_at, ${exactTime('e."occurred_at"')} AS occurred_at, ${exactTime('e."recorded_at"')} AS recorded_at,
             ARRAY(SELECT m."chain_digest" FROM "chain_members" m WHERE m."event_seq" = e."seq" ORDER BY m."chain_digest") AS chain_digests,
             e."data"::text AS data_text
           FROM ${FROM} WHERE ${where} ORDER BY l."seq"`,
    values,
  };
}

/**
 * Statements that change rows and read them back are written `WITH changed AS (UPDATE ... RETURNING ...) SELECT`:
 * the driver answers a top-level UPDATE with its rows and a count, a SELECT with rows only.
 */
@Injectable()
export class ExportsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async create(job: { apiKeyId: string; format: ExportFormat; scope: ExportScope; proofs: boolean; chunkBytes: number }): Promise<ExportJob> {
    const rows: ExportRow[] = await this.dataSource.query(
      `INSERT INTO "exports" ("api_key_id", "format", "query", "proofs", "chunk_bytes") VALUES ($1, $2, $3, $4, $5) RETURNING ${COLUMNS}`,
      [job.apiKeyId, job.format, JSON.stringify(job.scope), job.proofs, job.chunkBytes],
    );
    return toJob(rows[0]!);
  }

  async get(id: string): Promise<ExportJob | undefined> {
    const rows: ExportRow[] = await this.dataSource.query(`SELECT ${COLUMNS} FROM "exports" WHERE "id" = $1`, [id]);
    return rows[0] && toJob(rows[0]);
  }

  /** Newest first, keyset by (created_at, id). */
  async list(limit: number, after?: { createdAt: string; id: string }): Promise<ExportJob[]> {
    const rows: ExportRow[] = after
      ? await this.dataSource.query(
          `SELECT ${COLUMNS} FROM "exports" WHERE ("created_at", "id") < ($1::timestamptz, $2::uuid) ORDER BY "created_at" DESC, "id" DESC LIMIT $3`,
          [after.createdAt, after.id, limit],
        )
      : await this.dataSource.query(`SELECT ${COLUMNS} FROM "exports" ORDER BY "created_at" DESC, "id" DESC LIMIT $1`, [limit]);
    return rows.map(toJob);
  }

  /** Cancels a job that has not finished, and removes what it wrote; undefined when it had already finished. */
  async cancel(id: string, ttlHours: number): Promise<ExportJob | undefined> {
    return this.dataSource.transaction(async (manager) => {
      const rows: ExportRow[] = await manager.query(
        `WITH changed AS (UPDATE "exports" SET "status" = 'cancelled', "run_token" = NULL, "lease_until" = NULL, "finished_at" = now(), "expires_at" = now() + make_interval(hours => $2)
         WHERE "id" = $1 AND "status" IN ('queued', 'running') RETURNING *) SELECT ${COLUMNS} FROM changed`,
        [id, ttlHours],
      );
      if (rows.length === 0) return undefined;
      await manager.query(`DELETE FROM "export_chunks" WHERE "export_id" = $1`, [id]);
      return toJob(rows[0]!);
    });
  }

  /**
   * Claims the oldest runnable job: queued, or running under a lease that ran out (its worker died). Claims are taken
   * one at a time in the cluster (an advisory lock for the transaction), so the count of running jobs they are checked
   * against is exact. A claim starts the job afresh: a new run token, whatever an earlier run wrote removed.
   */
  async claim(leaseSeconds: number, maxRunning: number): Promise<ExportJob | undefined> {
    return this.dataSource.transaction(async (manager) => {
      await manager.query(`SELECT pg_advisory_xact_lock(hashtext('jartrail.exports.claim'))`);
      const rows: ExportRow[] = await manager.query(
        `WITH changed AS (UPDATE "exports" SET "status" = 'running', "run_token" = gen_random_uuid(), "lease_until" = now() + make_interval(secs => $1),
           "attempts" = "attempts" + 1, "started_at" = now(), "records_done" = 0, "records_total" = NULL, "bytes" = 0, "tree_size" = NULL
         WHERE "id" = (
           SELECT "id" FROM "exports"
           WHERE "status" = 'queued' OR ("status" = 'running' AND "lease_until" < now())
           ORDER BY "created_at" LIMIT 1 FOR UPDATE SKIP LOCKED
         ) AND (SELECT count(*) FROM "exports" WHERE "status" = 'running' AND "lease_until" >= now()) < $2
         RETURNING *) SELECT ${COLUMNS} FROM changed`,
        [leaseSeconds, maxRunning],
      );
      if (rows.length === 0) return undefined;
      await manager.query(`DELETE FROM "export_chunks" WHERE "export_id" = $1`, [rows[0]!.id]);
      return toJob(rows[0]!);
    });
  }

  /** The job's cut and total, if this run still holds it. */
  async started(id: string, runToken: string, treeSize: number, total: number): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query(
      `WITH changed AS (UPDATE "exports" SET "tree_size" = $3, "records_total" = $4 WHERE "id" = $1 AND "run_token" = $2 AND "status" = 'running' RETURNING "id") SELECT "id" FROM changed`,
      [id, runToken, treeSize, total],
    );
    return rows.length > 0;
  }

  /**
   * Stores one chunk and the progress after it, and extends the lease, in one statement, only while this run still
   * holds the job: a cancelled job or one whose lease another worker took writes nothing (false).
   */
  async writeChunk(id: string, runToken: string, chunk: { no: number; data: Buffer }, progress: { recordsDone: number; bytes: number }, leaseSeconds: number): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query(
      `WITH job AS (
         UPDATE "exports" SET "records_done" = $4, "bytes" = $5, "lease_until" = now() + make_interval(secs => $6)
         WHERE "id" = $1 AND "run_token" = $2 AND "status" = 'running' RETURNING "id"
       )
       INSERT INTO "export_chunks" ("export_id", "chunk_no", "data") SELECT "id", $3, $7 FROM job RETURNING "chunk_no"`,
      [id, runToken, chunk.no, progress.recordsDone, progress.bytes, leaseSeconds, chunk.data],
    );
    return rows.length > 0;
  }

  async complete(id: string, runToken: string, result: { recordsDone: number; bytes: number; sha256: Buffer; manifest: string }, ttlHours: number): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query(
      `WITH changed AS (UPDATE "exports" SET "status" = 'completed', "records_done" = $3, "bytes" = $4, "sha256" = $5, "manifest" = $7, "run_token" = NULL, "lease_until" = NULL,
         "finished_at" = now(), "expires_at" = now() + make_interval(hours => $6)
       WHERE "id" = $1 AND "run_token" = $2 AND "status" = 'running' RETURNING "id") SELECT "id" FROM changed`,
      [id, runToken, result.recordsDone, result.bytes, result.sha256, ttlHours, result.manifest],
    );
    return rows.length > 0;
  }

  async fail(id: string, runToken: string, error: string, ttlHours: number): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      const rows: unknown[] = await manager.query(
        `WITH changed AS (UPDATE "exports" SET "status" = 'failed', "error" = $3, "run_token" = NULL, "lease_until" = NULL, "finished_at" = now(), "expires_at" = now() + make_interval(hours => $4)
         WHERE "id" = $1 AND "run_token" = $2 AND "status" = 'running' RETURNING "id") SELECT "id" FROM changed`,
        [id, runToken, error, ttlHours],
      );
      if (rows.length > 0) await manager.query(`DELETE FROM "export_chunks" WHERE "export_id" = $1`, [id]);
    });
  }

  /** This process stops: its job is left for another worker at once, rather than when the lease runs out. */
  async release(id: string, runToken: string): Promise<void> {
    await this.dataSource.query(`UPDATE "exports" SET "lease_until" = now() - interval '1 second' WHERE "id" = $1 AND "run_token" = $2 AND "status" = 'running'`, [id, runToken]);
  }

  /** Jobs past their expiry lose their file; returns how many. */
  async expire(): Promise<number> {
    const rows: unknown[] = await this.dataSource.query(
      `WITH gone AS (
         UPDATE "exports" SET "status" = 'expired' WHERE "expires_at" <= now() AND "status" IN ('completed', 'failed', 'cancelled') RETURNING "id"
       ), removed AS (
         DELETE FROM "export_chunks" WHERE "export_id" IN (SELECT "id" FROM gone)
       )
       SELECT "id" FROM gone`,
    );
    return rows.length;
  }

  /** The signed manifest (compact JWS) of a completed export. */
  async manifest(id: string): Promise<string | undefined> {
    const rows: { manifest: string | null }[] = await this.dataSource.query(`SELECT "manifest" FROM "exports" WHERE "id" = $1 AND "status" = 'completed'`, [id]);
    return rows[0]?.manifest ?? undefined;
  }

  /**
   * One stored chunk of a completed export's file, in pieces of CHUNK_PIECE_BYTES: a bytea comes over the wire as
   * hex text twice its size, and a string over 128 KB lives in V8's large-object space until a full collection, so
   * reading whole megabyte chunks made a download's memory climb (bench:export). Undefined when the chunk is gone.
   */
  async chunk(id: string, no: number): Promise<Buffer[] | undefined> {
    const rows: { piece: Buffer }[] = await this.dataSource.query(
      `SELECT substring(c."data" FROM o FOR ${CHUNK_PIECE_BYTES}) AS "piece"
       FROM "export_chunks" c, generate_series(1, greatest(octet_length(c."data"), 1), ${CHUNK_PIECE_BYTES}) AS o
       WHERE c."export_id" = $1 AND c."chunk_no" = $2 ORDER BY o`,
      [id, no],
    );
    return rows.length === 0 ? undefined : rows.map((row) => row.piece);
  }

  /**
   * Reads a selection in one REPEATABLE READ snapshot on a connection of its own: the count and the rows agree, and
   * the rows come through a server-side cursor in batches, so memory stays flat whatever the size.
   */
  async readSelection<T>(selection: RecordSelection, consume: (total: number, records: AsyncIterable<ExportRecord>) => Promise<T>): Promise<T> {
    const pool = (this.dataSource.driver as unknown as { master: Pool }).master;
    const client: PoolClient = await pool.connect();
    let failed = false;
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      // An export may take longer than the statement timeout of the API's queries.
      await client.query(`SET LOCAL statement_timeout = 0`);
      const { where, values } = selectionSql(selection);
      const counted = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${FROM} WHERE ${where}`, values);
      const stream = client.query(new QueryStream(recordRowsQuery(selection).text, values, { batchSize: 100 }));
      const records = (async function* () {
        for await (const row of stream as AsyncIterable<RecordRow>) yield new StoredRecord(row);
      })();
      try {
        return await consume(Number(counted.rows[0]!.n), records);
      } finally {
        stream.destroy();
      }
    } catch (error) {
      failed = true;
      throw error;
    } finally {
      // A stream stopped half way leaves the connection mid-protocol: it is discarded rather than reused.
      await client.query('ROLLBACK').catch(() => {
        failed = true;
      });
      client.release(failed ? true : undefined);
    }
  }
}
