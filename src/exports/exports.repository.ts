import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Client, type ClientConfig, type Pool } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import QueryStream from 'pg-query-stream';
import type { DataSource } from 'typeorm';
import type { ExportScope, ExportStatus } from './dto/export.dto';
import type { RecordKind } from '../ledger/ledger-leaf';
import { type ExportFormat, type ExportRecord, PURGED_FIELDS } from './export-formats';
import { BinaryCopyReader } from './binary-copy';
import { type ChunkEncoding, decodeChunk, encodeChunk } from './chunk-encoding';
import { type LineFormat, recordLinesStatement } from './record-lines';

/** Who asked for an export: an API key, or an identity provider's subject (an access token). */
export type ExportRequester = { readonly apiKeyId: string } | { readonly subject: string; readonly issuer: string };

export interface ExportJob {
  readonly id: string;
  readonly requestedBy: ExportRequester;
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
  api_key_id: string | null;
  requested_by_subject: string | null;
  requested_by_issuer: string | null;
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

const COLUMNS = `to_char("created_at" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at_exact, "id", "api_key_id", "requested_by_subject", "requested_by_issuer", "format", "query", "chunk_bytes", "proofs", "status", "records_total", "records_done", "bytes", "sha256", "tree_size", "error", "attempts", "run_token", "created_at", "started_at", "finished_at", "expires_at"`;

function toJob(row: ExportRow): ExportJob {
  return {
    id: row.id,
    requestedBy: row.api_key_id !== null ? { apiKeyId: row.api_key_id } : { subject: row.requested_by_subject!, issuer: row.requested_by_issuer! },
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
  kind: RecordKind;
  record_seq: string;
  event_id: string;
  source: string | null;
  type: string;
  emitted_at: string;
  occurred_at: string | null;
  recorded_at: string;
  chain_digests: (string | null)[];
  conflicts_with: string | null;
  /** The payload (jsonb, parsed by the driver); null once retention purged it. */
  data: Record<string, unknown> | null;
  purge_id: string | null;
  purge_policy: string | null;
  purged_at: string | null;
  purge_from: string | null;
  purge_to: string | null;
}

/** Bytes of a chunk read in one piece: under V8's 128 KiB large-object size, and what a download writes at a time. */
const CHUNK_PIECE_BYTES = 48 * 1024;

/** The records of a scope, cut at a checkpoint (ledger seqs below its tree size), in ledger order. */
export interface RecordSelection {
  readonly scope: ExportScope;
  readonly treeSize: number;
}

/** Scope members that narrow by something else than the seq range. */
const NARROWING: readonly (keyof ExportScope)[] = [
  'from',
  'to',
  'source',
  'types',
  'client_id',
  'issuer',
  'subject',
  'tool',
  'independent_verdict',
  'verdict_mismatch',
  'finding_rule',
  'finding_severity',
];

/**
 * An unfiltered scope (nothing but a seq range) exports every ledger record of the range, whatever its kind (events,
 * kept conflicts, triage): that is what lets its manifest state that the range is complete (docs/exports.md).
 */
export function isUnfiltered(scope: ExportScope): boolean {
  return NARROWING.every((member) => scope[member] === undefined);
}

/** The seq range `[from, to)` of a selection: the scope's, cut at the checkpoint. */
export function seqRangeOf(selection: RecordSelection): { from: number; to: number } {
  const from = selection.scope.from_seq ?? 0;
  return { from, to: Math.max(from, Math.min(selection.treeSize, selection.scope.to_seq ?? Number.MAX_SAFE_INTEGER)) };
}

/**
 * The SQL of a filtered selection (events only). Chain filters (client, issuer, subject, tool, verdicts, findings)
 * keep a record when a chain it is a member of matches: "every record of client X's authorizations", not only the
 * records that name X.
 */
function selectionSql(selection: RecordSelection): { where: string; values: unknown[] } {
  const { scope } = selection;
  const range = seqRangeOf(selection);
  const values: unknown[] = [range.from, range.to];
  const where = [`l."record_kind" = 'event'`, `l."seq" >= $1`, `l."seq" < $2`];
  const param = (value: unknown) => {
    values.push(value);
    return `$${values.length}`;
  };
  if (scope.from) where.push(`e."occurred_at" >= ${param(scope.from)}`);
  if (scope.to) where.push(`e."occurred_at" < ${param(scope.to)}`);
  if (scope.source) where.push(`s."name" = ${param(scope.source)}`);
  // One parameter a type (not an array): an export's COPY writes each value into the statement (inlineParameters).
  if (scope.types) where.push(`e."type" IN (${scope.types.map(param).join(', ')})`);
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
 * The purge that blanked a record's payload, read only for a record without one (a one-time filter in the plan): the
 * purges' ranges follow each other without overlap, so at most one covers a seq.
 */
const PURGE_LATERAL = (payload: string) => `LEFT JOIN LATERAL (
    SELECT p."id" AS purge_id, p."policy" AS purge_policy, ${exactTime('p."purged_at"')} AS purged_at, p."from_ledger_seq" AS purge_from, p."to_ledger_seq" AS purge_to
    FROM "ledger_purges" p WHERE ${payload} IS NULL AND p."from_ledger_seq" <= l."seq" AND p."to_ledger_seq" >= l."seq" ORDER BY p."to_ledger_seq" LIMIT 1
  ) pg ON true`;

const PURGE_COLUMNS = `pg.purge_id, pg.purge_policy, pg.purged_at, pg.purge_from, pg.purge_to`;

/** The events of a filtered selection, in ledger order. */
const FILTERED_RECORDS = (where: string) => `SELECT l."seq" AS ledger_seq, 'event' AS kind, l."record_seq", e."event_id", s."name" AS source, e."type",
     ${exactTime('e."emitted_at"')} AS emitted_at, ${exactTime('e."occurred_at"')} AS occurred_at, ${exactTime('e."recorded_at"')} AS recorded_at,
     ARRAY(SELECT m."chain_digest" FROM "chain_members" m WHERE m."event_seq" = e."seq" ORDER BY m."chain_digest") AS chain_digests,
     NULL::bigint AS conflicts_with, e."data", ${PURGE_COLUMNS}
   FROM ${FROM} ${PURGE_LATERAL('e."data"')} WHERE ${where} ORDER BY l."seq"`;

/**
 * Every ledger record of a seq range, in ledger order: events, the conflicting bodies kept against them (in the chains
 * of the record they contradict) and reviewers' triage (in the chain of its finding). Outer joins by kind, which
 * PostgreSQL runs as hash or merge joins over the range rather than a lookup per row.
 */
const ALL_RECORDS = `SELECT l."seq" AS ledger_seq, l."record_kind" AS kind, l."record_seq",
     coalesce(e."event_id", x."event_id", t."event_id") AS event_id, s."name" AS source,
     CASE l."record_kind" WHEN 'triage' THEN 'finding.triage' ELSE coalesce(e."type", x."type") END AS type,
     ${exactTime('coalesce(e."emitted_at", x."emitted_at", t."recorded_at")')} AS emitted_at, ${exactTime('e."occurred_at"')} AS occurred_at,
     ${exactTime('coalesce(e."recorded_at", x."recorded_at", t."recorded_at")')} AS recorded_at,
     CASE l."record_kind"
       WHEN 'event' THEN ARRAY(SELECT m."chain_digest" FROM "chain_members" m WHERE m."event_seq" = e."seq" ORDER BY m."chain_digest")
       WHEN 'conflict' THEN ARRAY(SELECT m."chain_digest" FROM "chain_members" m WHERE m."event_seq" = x."original_seq" ORDER BY m."chain_digest")
       ELSE ARRAY[t."data" ->> 'chain_digest']
     END AS chain_digests,
     (SELECT o."seq" FROM "ledger_entries" o WHERE x."original_seq" IS NOT NULL AND o."record_kind" = 'event' AND o."record_seq" = x."original_seq") AS conflicts_with,
     coalesce(e."data", x."data", t."data") AS data, ${PURGE_COLUMNS}
   FROM "ledger_entries" l
     LEFT JOIN "events" e ON l."record_kind" = 'event' AND e."seq" = l."record_seq"
     LEFT JOIN "event_conflicts" x ON l."record_kind" = 'conflict' AND x."seq" = l."record_seq"
     LEFT JOIN "finding_triage" t ON l."record_kind" = 'triage' AND t."seq" = l."record_seq"
     LEFT JOIN "sources" s ON s."id" = coalesce(e."source_id", x."source_id")
     ${PURGE_LATERAL('coalesce(e."data", x."data", t."data")')}
   WHERE l."seq" >= $1 AND l."seq" < $2 ORDER BY l."seq"`;

/** A record as the records statement reads it (OCSF, which maps each record's fields). */
function toRecord(row: RecordRow): ExportRecord {
  return {
    ledgerSeq: Number(row.ledger_seq),
    kind: row.kind,
    recordSeq: String(row.record_seq),
    eventId: row.event_id,
    source: row.source,
    type: row.type,
    emittedAt: row.emitted_at,
    occurredAt: row.occurred_at,
    recordedAt: row.recorded_at,
    chainDigests: row.chain_digests.filter((digest): digest is string => digest !== null),
    conflictsWith: row.conflicts_with === null ? null : Number(row.conflicts_with),
    data: row.data,
    purge:
      row.purge_id === null
        ? null
        : { purge_id: String(row.purge_id), policy: row.purge_policy!, purged_at: row.purged_at!, from_ledger_seq: Number(row.purge_from), to_ledger_seq: Number(row.purge_to), fields: [...PURGED_FIELDS] },
  };
}

/**
 * A statement with its parameters written in as literals, for COPY (which takes none). Each value is quoted by the
 * driver's escapeLiteral (the scope's values are a sender's or a reviewer's text); one pass over the statement, so a
 * value that itself reads `$2` is never replaced again. Values are text or numbers (selectionSql binds no arrays).
 */
export function inlineParameters(client: Pick<Client, 'escapeLiteral'>, text: string, values: readonly unknown[]): string {
  return text.replace(/\$(\d+)/g, (_, index: string) => {
    const value = values[Number(index) - 1];
    if (typeof value !== 'string' && typeof value !== 'number') throw new Error(`parameter $${index} is not text or a number`);
    return client.escapeLiteral(String(value));
  });
}

/**
 * The statement that reads a selection's records, in ledger order (every ledger record of the range when the scope
 * is unfiltered). bench:export runs it under COPY ... TO STDOUT as the ceiling an export is measured against.
 */
export function recordRowsQuery(selection: RecordSelection): { text: string; values: unknown[]; total: number | { countText: string } } {
  if (isUnfiltered(selection.scope)) {
    // The ledger's seqs are gapless: the range's length is its number of records, with no count to run.
    const range = seqRangeOf(selection);
    return { text: ALL_RECORDS, values: [range.from, range.to], total: range.to - range.from };
  }
  const { where, values } = selectionSql(selection);
  return { text: FILTERED_RECORDS(where), values, total: { countText: `SELECT count(*) AS n FROM ${FROM} WHERE ${where}` } };
}

/** The chains of the selected records (never an inner-digest alias), ordered by digest. */
const CHAINS_OF = (where: string) => `SELECT d.chain_digest, count(*) OVER () AS total FROM (
     SELECT DISTINCT m."chain_digest" FROM ${FROM} JOIN "chain_members" m ON m."event_seq" = e."seq"
     WHERE ${where} AND NOT EXISTS (SELECT 1 FROM "digest_aliases" a WHERE a."alias" = m."chain_digest")
   ) d ORDER BY d.chain_digest`;

/** One row of an aggregate: a label (attacker text for sources and clients) and counts. */
export interface CountRow {
  readonly label: string;
  readonly count: number;
}

/** What the PDF report shows, aggregated in SQL over the selection. */
export interface ReportAggregates {
  readonly records: number;
  readonly chains: number;
  readonly firstOccurredAt: string | null;
  readonly lastOccurredAt: string | null;
  readonly bySource: readonly CountRow[];
  readonly byType: readonly CountRow[];
  /** Chains by client (the chain's client_id facet). */
  readonly byClient: readonly CountRow[];
  /** Verdicts: the AS's, jartrail's own, consent decisions and tool-call outcomes, as `what: value`. */
  readonly verdicts: readonly CountRow[];
  readonly perDay: readonly CountRow[];
  readonly findings: readonly { rule: string; severity: string; open: number; resolved: number }[];
  readonly highSeverityChains: number;
  readonly purgedPayloads: number;
}

/** A chain with a high or critical finding, for the report's detail section. */
export interface ReportChain {
  readonly digest: string;
  readonly createdAt: string;
  readonly facets: Readonly<Record<string, readonly string[]>>;
  readonly records: number;
  readonly findings: readonly { rule: string; severity: string; status: string; summary: string; first_seen_at: string }[];
}

/** Rows of a top-N list past which the report says "and N more". */
export const REPORT_TOP = 15;

/**
 * Statements that change rows and read them back are written `WITH changed AS (UPDATE ... RETURNING ...) SELECT`:
 * the driver answers a top-level UPDATE with its rows and a count, a SELECT with rows only.
 */
@Injectable()
export class ExportsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async create(job: { requestedBy: ExportRequester; format: ExportFormat; scope: ExportScope; proofs: boolean; chunkBytes: number }): Promise<ExportJob> {
    const by = job.requestedBy;
    const rows: ExportRow[] = await this.dataSource.query(
      `INSERT INTO "exports" ("api_key_id", "requested_by_subject", "requested_by_issuer", "format", "query", "proofs", "chunk_bytes")
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${COLUMNS}`,
      ['apiKeyId' in by ? by.apiKeyId : null, 'subject' in by ? by.subject : null, 'subject' in by ? by.issuer : null, job.format, JSON.stringify(job.scope), job.proofs, job.chunkBytes],
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
    const stored = await encodeChunk(chunk.data);
    const rows: unknown[] = await this.dataSource.query(
      `WITH job AS (
         UPDATE "exports" SET "records_done" = $4, "bytes" = $5, "lease_until" = now() + make_interval(secs => $6)
         WHERE "id" = $1 AND "run_token" = $2 AND "status" = 'running' RETURNING "id"
       )
       INSERT INTO "export_chunks" ("export_id", "chunk_no", "encoding", "data") SELECT "id", $3, $8, $7 FROM job RETURNING "chunk_no"`,
      [id, runToken, chunk.no, progress.recordsDone, progress.bytes, leaseSeconds, stored.data, stored.encoding],
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
   * Chunk `no` of an export's file as pieces (a download writes one at a time), checked to hold exactly
   * `expectedBytes` (DamagedChunk otherwise); undefined when the chunk is gone (the export expired meanwhile).
   */
  async chunk(id: string, no: number, expectedBytes: number): Promise<Buffer[] | undefined> {
    const client = await this.pool().connect();
    let failed = false;
    let released = false;
    try {
      // The stored bytes in pieces, read with COPY (a bytea as its bytes, not as hex text twice its size); the first
      // row carries the chunk's encoding.
      const statement = inlineParameters(
        client,
        `SELECT c."encoding", substring(c."data" FROM o FOR ${CHUNK_PIECE_BYTES}) AS "piece"
         FROM "export_chunks" c, generate_series(1, greatest(octet_length(c."data"), 1), ${CHUNK_PIECE_BYTES}) AS o
         WHERE c."export_id" = $1::uuid AND c."chunk_no" = $2 ORDER BY o`,
        [id, no],
      );
      const reader = new BinaryCopyReader(2);
      const pieces: Buffer[] = [];
      let encoding: ChunkEncoding | undefined;
      for await (const part of client.query(copyTo(`COPY (${statement}) TO STDOUT (FORMAT binary)`)) as AsyncIterable<Buffer>) {
        for (const tuple of reader.tuples(part)) {
          encoding ??= tuple.text(0) as ChunkEncoding;
          pieces.push(Buffer.from(tuple.data.subarray(tuple.start(1), tuple.end(1))));
        }
      }
      reader.end();
      // The read is whole: the connection goes back to the pool before the chunk is checked and decoded.
      client.release();
      released = true;
      if (encoding === undefined) return undefined;
      return await decodeChunk({ encoding, pieces }, expectedBytes, `chunk ${no} of export ${id}`);
    } catch (error) {
      failed = true;
      throw error;
    } finally {
      // A COPY cut short leaves the connection mid-protocol: it is closed rather than given back to the pool.
      if (!released) client.release(failed);
    }
  }

  /** node-pg's pool under TypeORM's driver: for COPY, and for the options of an export's own connection. */
  private pool(): Pool & { options: ClientConfig } {
    return (this.dataSource.driver as unknown as { master: Pool & { options: ClientConfig } }).master;
  }

  /**
   * Runs `read` in one REPEATABLE READ snapshot on a connection of its own: counts, aggregates and rows agree, and rows
   * come through server-side cursors in batches, so memory stays flat whatever the size. One stream at a time: a
   * stream must be read to its end (or left) before the next statement.
   */
  async inSnapshot<T>(read: (snapshot: ExportSnapshot) => Promise<T>, options: { temporaryTables?: boolean } = {}): Promise<T> {
    // A connection of its own, not one of the pool's: the pool's connections carry the API's request-sized timeouts,
    // and node-pg's client-side query_timeout ends a cursor that outlives it as if its rows had run out (an export
    // of a million records, or of chain documents built between batches, was cut short without an error). The
    // export also takes no connection from the API.
    const client = new Client({ ...this.pool().options, statement_timeout: undefined, query_timeout: undefined, application_name: 'jartrail-export' });
    await client.connect();
    try {
      // READ ONLY unless the reads need a temporary table (PostgreSQL refuses every CREATE in a read-only transaction).
      await client.query(`BEGIN ISOLATION LEVEL REPEATABLE READ${options.temporaryTables ? '' : ' READ ONLY'}`);
      // An export may take longer than any statement timeout of the API's queries (a server or role default too).
      await client.query(`SET LOCAL statement_timeout = 0`);
      return await read(new ExportSnapshot(client));
    } finally {
      // Ending the connection ends the transaction (and drops its temporary table), whatever state a stream left.
      await client.end().catch(() => undefined);
    }
  }
}

/** The reads of one export, in its snapshot. */
export class ExportSnapshot {
  constructor(private readonly client: Client) {}

  private async *stream<Row>(text: string, values: unknown[]): AsyncGenerator<Row> {
    // 100 rows a fetch: fewer rows alive at each young-generation collection, so fewer promoted to the old one (flat RSS).
    const stream = this.client.query(new QueryStream(text, values, { batchSize: 100 }));
    try {
      for await (const row of stream as AsyncIterable<Row>) yield row;
    } finally {
      stream.destroy();
    }
  }

  private async rows<Row>(text: string, values: unknown[]): Promise<Row[]> {
    return (await this.client.query(text, values)).rows as Row[];
  }

  /**
   * The records of a selection and how many there are. An unfiltered range needs no count: the ledger's seqs are
   * gapless, so the range's length is its number of records (the rows are read once).
   */
  async records(selection: RecordSelection): Promise<{ total: number; records: AsyncIterable<ExportRecord> }> {
    const map = async function* (rows: AsyncIterable<RecordRow>) {
      for await (const row of rows) yield toRecord(row);
    };
    const { text, values, total } = recordRowsQuery(selection);
    const counted = typeof total === 'number' ? total : Number((await this.rows<{ n: string }>(total.countText, values))[0]!.n);
    return { total: counted, records: map(this.stream<RecordRow>(text, values)) };
  }

  /**
   * The lines of a selection's records (NDJSON or CSV, written by PostgreSQL: record-lines.ts) as the chunks of a
   * binary COPY of LINE_FIELDS, and how many records there are.
   */
  async recordLines(selection: RecordSelection, format: LineFormat): Promise<{ total: number; chunks: AsyncIterable<Buffer> }> {
    const { text, values, total } = recordRowsQuery(selection);
    const counted = typeof total === 'number' ? total : Number((await this.rows<{ n: string }>(total.countText, values))[0]!.n);
    const statement = inlineParameters(this.client, recordLinesStatement(text, format), values);
    return { total: counted, chunks: this.client.query(copyTo(`COPY (${statement}) TO STDOUT (FORMAT binary)`)) };
  }

  /**
   * The ledger seqs of a selection's events as runs `[first, last]`, ascending (what a PDF report counts, for its
   * manifest): the runs are found in SQL (gaps and islands), so only they cross the wire.
   */
  async seqRuns(selection: RecordSelection): Promise<[number, number][]> {
    const { where, values } = selectionSql(selection);
    const rows = await this.rows<{ first: string; last: string }>(
      `SELECT min(seq) AS first, max(seq) AS last FROM (SELECT l."seq", l."seq" - row_number() OVER (ORDER BY l."seq") AS island FROM ${FROM} WHERE ${where}) r
       GROUP BY island ORDER BY 1`,
      values,
    );
    return rows.map((row) => [Number(row.first), Number(row.last)]);
  }

  /** The chains of a selection's events, by digest, and how many (one read: the count rides on each row). */
  async *chainDigests(selection: RecordSelection): AsyncGenerator<{ digest: string; total: number }> {
    const { where, values } = selectionSql(selection);
    for await (const row of this.stream<{ chain_digest: string; total: string }>(CHAINS_OF(where), values)) yield { digest: row.chain_digest, total: Number(row.total) };
  }

  /**
   * Everything the report counts, each an aggregate over the selection's events (no statement per chain). The chains
   * of the selection are materialised once (a temporary table of digests) for the per-chain aggregates.
   */
  async aggregates(selection: RecordSelection): Promise<ReportAggregates> {
    const { where, values } = selectionSql(selection);
    await this.client.query(`CREATE TEMPORARY TABLE report_chains ON COMMIT DROP AS
       SELECT DISTINCT m."chain_digest" AS digest FROM ${FROM} JOIN "chain_members" m ON m."event_seq" = e."seq"
       WHERE ${where} AND NOT EXISTS (SELECT 1 FROM "digest_aliases" a WHERE a."alias" = m."chain_digest")`, values);
    await this.client.query(`ANALYZE report_chains`);
    const count = (rows: { label: string | null; count: string }[]) => rows.map((row) => ({ label: row.label ?? '(none)', count: Number(row.count) }));
    // One pass over the selection for every per-record count (grouping sets, hashed): a report over a million
    // records reads them once here, not once per table.
    const grouped = await this.rows<{ set: string; label: string | null; count: string; first: string | null; last: string | null; purged: string; mismatches: string }>(
      `SELECT CASE WHEN GROUPING(s."name") = 0 THEN 'source' WHEN GROUPING(e."type") = 0 THEN 'type' WHEN GROUPING(x.day) = 0 THEN 'day'
                   WHEN GROUPING(x.outcome) = 0 THEN 'verdict' WHEN GROUPING(iv."verdict") = 0 THEN 'independent' ELSE 'total' END AS set,
              coalesce(s."name", e."type", x.day, x.outcome, iv."verdict") AS label, count(*) AS count,
              ${exactTime('min(e."occurred_at")')} AS first, ${exactTime('max(e."occurred_at")')} AS last,
              count(*) FILTER (WHERE e."data" IS NULL) AS purged, count(*) FILTER (WHERE iv."mismatch") AS mismatches
       FROM ${FROM} LEFT JOIN "independent_verdicts" iv ON iv."event_seq" = e."seq"
         CROSS JOIN LATERAL (SELECT to_char(date_trunc('day', e."occurred_at" AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS day,
           CASE e."type"
             WHEN 'request_object.verification' THEN 'AS verdict: ' || coalesce(e."data" ->> 'verdict', 'purged')
             WHEN 'consent.decision' THEN 'consent: ' || coalesce(e."data" ->> 'decision', 'purged')
             WHEN 'tool_call.recorded' THEN 'tool call: ' || coalesce(e."data" ->> 'outcome', 'purged')
           END AS outcome) x
       WHERE ${where}
       GROUP BY GROUPING SETS ((s."name"), (e."type"), (x.day), (x.outcome), (iv."verdict"), ())`,
      values,
    );
    const inSet = (set: string) => grouped.filter((row) => row.set === set && !(set === 'verdict' && row.label === null) && !(set === 'independent' && row.label === null));
    const byCount = (rows: { label: string | null; count: string }[]) => count(rows).sort((a, b) => b.count - a.count || a.label.localeCompare(b.label));
    const totals = grouped.find((row) => row.set === 'total') ?? { count: '0', first: null, last: null, purged: '0', mismatches: '0' };
    const bySource = byCount(inSet('source'));
    const byType = byCount(inSet('type'));
    const perDay = count(inSet('day')).sort((a, b) => a.label.localeCompare(b.label));
    const verdicts = [
      ...count(inSet('verdict')),
      ...count(inSet('independent')).map((row) => ({ label: `jartrail verdict: ${row.label}`, count: row.count })),
      ...(Number(totals.mismatches) > 0 ? [{ label: 'verdicts disagree', count: Number(totals.mismatches) }] : []),
    ].sort((a, b) => a.label.localeCompare(b.label));
    const [chains] = await this.rows<{ chains: string }>(`SELECT count(*) AS chains FROM report_chains`, []);
    const byClient = await this.rows<{ label: string; count: string }>(
      `SELECT f."value" AS label, count(*) AS count FROM report_chains c JOIN "chain_facets" f ON f."chain_digest" = c.digest AND f."name" = 'client_id' GROUP BY 1 ORDER BY 2 DESC, 1`,
      [],
    );
    const findings = await this.rows<{ rule: string; severity: string; open: string; resolved: string }>(
      `SELECT f."rule", f."severity", count(*) FILTER (WHERE f."status" = 'open') AS open, count(*) FILTER (WHERE f."status" <> 'open') AS resolved
       FROM "findings" f JOIN report_chains c ON c.digest = f."chain_digest" GROUP BY 1, 2 ORDER BY 1, 2`,
      [],
    );
    const [high] = await this.rows<{ n: string }>(
      `SELECT count(DISTINCT f."chain_digest") AS n FROM "findings" f JOIN report_chains c ON c.digest = f."chain_digest" WHERE f."severity" IN ('high', 'critical')`,
      [],
    );
    return {
      records: Number(totals.count),
      chains: Number(chains!.chains),
      firstOccurredAt: totals.first,
      lastOccurredAt: totals.last,
      bySource,
      byType,
      byClient: count(byClient),
      verdicts,
      perDay,
      findings: findings.map((row) => ({ rule: row.rule, severity: row.severity, open: Number(row.open), resolved: Number(row.resolved) })),
      highSeverityChains: Number(high!.n),
      purgedPayloads: Number(totals.purged),
    };
  }

  /**
   * The chains of the selection with a high or critical finding, worst first (critical, then open, then newest), at
   * most `limit`, each with its facets, record count and high-severity findings: one streamed statement (call after
   * aggregates(), which makes report_chains).
   */
  async *highSeverityChains(limit: number): AsyncGenerator<ReportChain> {
    const rows = this.stream<{ digest: string; created_at: string; facets: Record<string, string[]> | null; records: string; findings: ReportChain['findings'] }>(
      `WITH worst AS (
         SELECT f."chain_digest" AS digest, max(CASE f."severity" WHEN 'critical' THEN 2 ELSE 1 END) AS rank, bool_or(f."status" = 'open') AS open, max(f."first_seen_at") AS seen
         FROM "findings" f JOIN report_chains c ON c.digest = f."chain_digest" WHERE f."severity" IN ('high', 'critical') GROUP BY 1
         ORDER BY 2 DESC, 3 DESC, 4 DESC, 1 LIMIT $1
       )
       SELECT w.digest, ${exactTime('ch."created_at"')} AS created_at,
              (SELECT jsonb_object_agg(g.name, g.values) FROM (SELECT cf."name", array_agg(cf."value" ORDER BY cf."value") AS values FROM "chain_facets" cf WHERE cf."chain_digest" = w.digest GROUP BY 1) g) AS facets,
              (SELECT count(*) FROM "chain_members" m WHERE m."chain_digest" = w.digest) AS records,
              (SELECT json_agg(json_build_object('rule', f."rule", 'severity', f."severity", 'status', f."status", 'summary', f."summary", 'first_seen_at', ${exactTime('f."first_seen_at"')}) ORDER BY CASE f."severity" WHEN 'critical' THEN 0 ELSE 1 END, f."id")
                 FROM "findings" f WHERE f."chain_digest" = w.digest AND f."severity" IN ('high', 'critical')) AS findings
       FROM worst w JOIN "chains" ch ON ch."digest" = w.digest
       ORDER BY w.rank DESC, w.open DESC, w.seen DESC, w.digest`,
      [limit],
    );
    for await (const row of rows) yield { digest: row.digest, createdAt: row.created_at, facets: row.facets ?? {}, records: Number(row.records), findings: row.findings ?? [] };
  }
}
