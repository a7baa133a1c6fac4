import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import type { MasterKeyId, SealedValue } from '../common/crypto/keyring';
import { type LedgerRecordFields, type RecordKind, tokenHolderSourceId } from './ledger-leaf';
import type { Hash, NodeId } from './merkle/merkle-tree';
import { PreparedStatements } from '../database/prepared-statements';

/** Anything that runs SQL: the DataSource, or a transaction's EntityManager. */
type Queryable = Pick<DataSource | EntityManager, 'query'>;

/** Any 64-bit constant, the same in every replica: the sequencer's transaction-scoped advisory lock. */
const SEQUENCER_LOCK_ID = '7667206911735114093';
/** Serialises the creation of the first signing key and rotations across replicas. */
const SIGNING_KEY_LOCK_ID = '7667206911735114094';
/** One purge at a time; jartrail_purge_payloads takes the same lock. */
const PURGE_LOCK_ID = '7667206911735114095';

const exact = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/**
 * The record a ledger row points at, as one row whatever its kind; `x` is the outer row with record_kind and
 * record_seq. A record that is gone (deleted around the service) comes back as NULLs. Who recorded it: the sending
 * source (`source_id`), or for a triage the reviewer's API key (`source_id`) or access token (`source_subject` and
 * `source_issuer`, source_id NULL), exactly one (chk_finding_triage_triaged_by).
 */
const RECORD_LATERAL = (kind: string, seq: string) => `LEFT JOIN LATERAL (
    SELECT e.source_id, NULL::text AS source_subject, NULL::text AS source_issuer, e.event_id, e.type, ${exact('e.emitted_at')} AS emitted_at,
           ${exact('e.occurred_at')} AS occurred_at, ${exact('e.recorded_at')} AS recorded_at, e.fingerprint, NULL::bigint AS original_seq, e.data, true AS present
    FROM events e WHERE ${kind} = 'event' AND e.seq = ${seq}
    UNION ALL
    SELECT c.source_id, NULL, NULL, c.event_id, c.type, ${exact('c.emitted_at')}, NULL, ${exact('c.recorded_at')}, c.fingerprint, c.original_seq, c.data, true
    FROM event_conflicts c WHERE ${kind} = 'conflict' AND c.seq = ${seq}
    UNION ALL
    SELECT t.api_key_id, t.triaged_by_subject, t.triaged_by_issuer, t.event_id, 'finding.triage', ${exact('t.recorded_at')}, NULL, ${exact('t.recorded_at')},
           t.fingerprint, NULL, t.data, true
    FROM finding_triage t WHERE ${kind} = 'triage' AND t.seq = ${seq}
  ) r ON true`;

interface RecordColumns {
  record_kind: RecordKind;
  record_seq: string;
  source_id: string | null;
  source_subject: string | null;
  source_issuer: string | null;
  event_id: string | null;
  type: string | null;
  emitted_at: string | null;
  occurred_at: string | null;
  recorded_at: string | null;
  fingerprint: Buffer | null;
  original_seq: string | null;
  data: Record<string, unknown> | null;
  present: boolean | null;
}

function fieldsOf(row: RecordColumns): LedgerRecordFields | undefined {
  if (!row.present) return undefined;
  return {
    kind: row.record_kind,
    recordSeq: String(row.record_seq),
    sourceId: row.source_id ?? tokenHolderSourceId(row.source_issuer!, row.source_subject!),
    eventId: row.event_id!,
    type: row.type!,
    emittedAt: row.emitted_at!,
    occurredAt: row.occurred_at,
    recordedAt: row.recorded_at!,
    fingerprint: row.fingerprint!.toString('base64url'),
    originalSeq: row.original_seq === null ? null : String(row.original_seq),
  };
}

export interface PendingRecord {
  readonly pendingId: string;
  readonly fields: LedgerRecordFields;
  readonly payload: Record<string, unknown>;
}

export interface NewEntry {
  readonly seq: number;
  readonly kind: RecordKind;
  readonly recordSeq: string;
  readonly salt: Buffer;
  readonly payloadHash: Buffer;
  readonly leafHash: Buffer;
}

/** A ledger entry with the record it commits to, as stored now (undefined fields: the record is gone). */
export interface StoredEntry {
  readonly seq: number;
  readonly kind: RecordKind;
  readonly recordSeq: string;
  readonly salt: Buffer;
  readonly payloadHash: Buffer;
  readonly leafHash: Buffer;
  readonly fields: LedgerRecordFields | undefined;
  /** NULL once purged. */
  readonly payload: Record<string, unknown> | null;
}

export interface StoredCheckpoint {
  readonly treeSize: number;
  readonly rootHash: Buffer;
  /** Exact to the microsecond, as signed. */
  readonly issuedAt: string;
  readonly kid: string;
  readonly jws: string;
}

export interface StoredSigningKey {
  readonly kid: string;
  readonly alg: 'EdDSA' | 'ES256';
  readonly publicJwk: Record<string, unknown>;
  /** The private part, sealed; null for a key given as a file. */
  readonly sealedPrivateJwk: SealedValue | null;
  readonly createdAt: Date;
}

/** A recorded purge. recordedBefore is exact to the microsecond, as signed. */
export interface StoredPurge {
  readonly id: string;
  readonly policy: string;
  readonly fromLedgerSeq: number;
  readonly toLedgerSeq: number;
  readonly recordedBefore: string;
  readonly purgedAt: string;
  readonly kid: string | null;
  readonly jws: string | null;
}

type PurgeRow = { id: string; policy: string; from_ledger_seq: string; to_ledger_seq: string; recorded_before: string; purged_at: string; kid: string | null; jws: string | null };
const toPurge = (row: PurgeRow): StoredPurge => ({
  id: String(row.id),
  policy: row.policy,
  fromLedgerSeq: Number(row.from_ledger_seq),
  toLedgerSeq: Number(row.to_ledger_seq),
  recordedBefore: row.recorded_before,
  purgedAt: row.purged_at,
  kid: row.kid,
  jws: row.jws,
});

type CheckpointRow = { tree_size: string; root_hash: Buffer; issued_at: string; kid: string; jws: string };
const toCheckpoint = (row: CheckpointRow): StoredCheckpoint => ({
  treeSize: Number(row.tree_size),
  rootHash: row.root_hash,
  issuedAt: row.issued_at,
  kid: row.kid,
  jws: row.jws,
});
const PURGE_COLUMNS = `id, policy, from_ledger_seq, to_ledger_seq, ${exact('recorded_before')} AS recorded_before, ${exact('purged_at')} AS purged_at, kid, jws`;
const CHECKPOINT_COLUMNS = `tree_size, root_hash, ${exact('issued_at')} AS issued_at, kid, jws`;

type EntryRow = RecordColumns & { seq: string; salt: Buffer; payload_hash: Buffer; leaf_hash: Buffer };
const toEntry = (row: EntryRow): StoredEntry => ({
  seq: Number(row.seq),
  kind: row.record_kind,
  recordSeq: String(row.record_seq),
  salt: row.salt,
  payloadHash: row.payload_hash,
  leafHash: row.leaf_hash,
  fields: fieldsOf(row),
  payload: row.data,
});
const ENTRY_SELECT = `SELECT l.seq, l.record_kind, l.record_seq, l.salt, l.payload_hash, l.leaf_hash,
         r.source_id, r.source_subject, r.source_issuer, r.event_id, r.type, r.emitted_at, r.occurred_at, r.recorded_at, r.fingerprint, r.original_seq, r.data, r.present
  FROM ledger_entries l
  ${RECORD_LATERAL('l.record_kind', 'l.record_seq')}`;

/** All SQL of the ledger. Methods that take a manager run in the caller's transaction. */
@Injectable()
export class LedgerRepository {
  private readonly statements: PreparedStatements;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    this.statements = new PreparedStatements(dataSource);
  }

  transaction<T>(run: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(run);
  }

  /** The sequencer's lock, held until the transaction ends; false when another process holds it. */
  async tryLockSequencer(manager: EntityManager): Promise<boolean> {
    const [row]: { locked: boolean }[] = await manager.query('SELECT pg_try_advisory_xact_lock($1) AS locked', [SEQUENCER_LOCK_ID]);
    return row!.locked;
  }

  async lockSequencer(manager: EntityManager): Promise<void> {
    await manager.query('SELECT pg_advisory_xact_lock($1)', [SEQUENCER_LOCK_ID]);
  }

  async lockSigningKeys(manager: EntityManager): Promise<void> {
    await manager.query('SELECT pg_advisory_xact_lock($1)', [SIGNING_KEY_LOCK_ID]);
  }

  async treeSize(db: Queryable = this.dataSource): Promise<number> {
    const [row]: { size: string }[] = await db.query('SELECT coalesce(max(seq) + 1, 0) AS size FROM ledger_entries');
    return Number(row!.size);
  }

  /**
   * The oldest queued records that are committed, with what their leaves need: whole queue rows (one per ingest
   * statement), in queue order, until about `limit` records; none after queue row `upToPendingId` when given.
   */
  async pendingRecords(manager: EntityManager, limit: number, upToPendingId?: string): Promise<PendingRecord[]> {
    const rows: (RecordColumns & { id: string })[] = await manager.query(
      `SELECT p.id, p.record_kind, u.record_seq, r.*
       FROM (SELECT id, record_kind, record_seqs FROM (
               SELECT id, record_kind, record_seqs, sum(cardinality(record_seqs)) OVER (ORDER BY id) - cardinality(record_seqs) AS before
               FROM (SELECT id, record_kind, record_seqs FROM ledger_pending WHERE ($2::bigint IS NULL OR id <= $2) ORDER BY id LIMIT $1) q
             ) w WHERE w.before < $1) p
       CROSS JOIN LATERAL unnest(p.record_seqs) WITH ORDINALITY AS u(record_seq, ord)
       ${RECORD_LATERAL('p.record_kind', 'u.record_seq').replace('LEFT JOIN', 'JOIN')}
       ORDER BY p.id, u.ord`,
      [limit, upToPendingId ?? null],
    );
    return rows.map((row) => ({ pendingId: String(row.id), fields: fieldsOf(row)!, payload: row.data ?? {} }));
  }

  async appendEntries(manager: EntityManager, entries: readonly NewEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await manager.query(
      `INSERT INTO ledger_entries (seq, record_kind, record_seq, salt, payload_hash, leaf_hash)
       SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bytea[], $5::bytea[], $6::bytea[])`,
      [
        entries.map((entry) => entry.seq),
        entries.map((entry) => entry.kind),
        entries.map((entry) => entry.recordSeq),
        entries.map((entry) => entry.salt),
        entries.map((entry) => entry.payloadHash),
        entries.map((entry) => entry.leafHash),
      ],
    );
  }

  /** Subtrees of two leaves or more; leaf hashes go with their entries. */
  async appendNodes(manager: EntityManager, nodes: readonly (NodeId & { hash: Hash })[]): Promise<void> {
    if (nodes.length === 0) return;
    if (nodes.some((node) => node.level === 0)) throw new Error('leaf hashes are stored with their entries');
    await manager.query(`INSERT INTO ledger_nodes (level, idx, hash) SELECT * FROM unnest($1::smallint[], $2::bigint[], $3::bytea[])`, [
      nodes.map((node) => node.level),
      nodes.map((node) => node.index),
      nodes.map((node) => node.hash),
    ]);
  }

  async deletePending(manager: EntityManager, ids: readonly string[]): Promise<void> {
    if (ids.length > 0) await manager.query('DELETE FROM ledger_pending WHERE id = ANY($1::bigint[])', [[...new Set(ids)]]);
  }

  /** Hashes of these complete subtrees (leaves included), in one read; absent ones are missing from the map. */
  async nodes(ids: readonly NodeId[], db: Queryable = this.dataSource): Promise<Map<string, Hash>> {
    if (ids.length === 0) return new Map();
    const leaves = ids.filter((id) => id.level === 0);
    const inner = ids.filter((id) => id.level > 0);
    const rows: { level: number; idx: string; hash: Buffer }[] = await db.query(
      `SELECT n.level, n.idx, n.hash FROM unnest($1::smallint[], $2::bigint[]) AS want(level, idx)
       JOIN ledger_nodes n ON n.level = want.level AND n.idx = want.idx
       UNION ALL
       SELECT 0, l.seq, l.leaf_hash FROM ledger_entries l WHERE l.seq = ANY($3::bigint[])`,
      [inner.map((id) => id.level), inner.map((id) => id.index), leaves.map((id) => id.index)],
    );
    return new Map(rows.map((row) => [`${row.level}/${row.idx}`, row.hash]));
  }

  /** The queue position now: the newest queue row, committed or not yet (ids only grow). null: the queue is empty. */
  async lastPendingId(): Promise<string | null> {
    const [row]: { id: string | null }[] = await this.dataSource.query('SELECT max(id) AS id FROM ledger_pending');
    return row!.id === null ? null : String(row!.id);
  }

  async pendingCount(): Promise<number> {
    const [row]: { count: string }[] = await this.dataSource.query('SELECT coalesce(sum(cardinality(record_seqs)), 0) AS count FROM ledger_pending');
    return Number(row!.count);
  }

  async latestCheckpoint(db: Queryable = this.dataSource): Promise<StoredCheckpoint | undefined> {
    const rows: CheckpointRow[] = await db.query(`SELECT ${CHECKPOINT_COLUMNS} FROM ledger_checkpoints ORDER BY tree_size DESC LIMIT 1`);
    return rows[0] && toCheckpoint(rows[0]);
  }

  async checkpointAt(treeSize: number): Promise<StoredCheckpoint | undefined> {
    const rows: CheckpointRow[] = await this.dataSource.query(`SELECT ${CHECKPOINT_COLUMNS} FROM ledger_checkpoints WHERE tree_size = $1`, [treeSize]);
    return rows[0] && toCheckpoint(rows[0]);
  }

  /** Newest first, strictly below `before` when given. */
  async checkpointsBefore(before: number | undefined, limit: number): Promise<StoredCheckpoint[]> {
    const rows: CheckpointRow[] = await this.dataSource.query(
      `SELECT ${CHECKPOINT_COLUMNS} FROM ledger_checkpoints WHERE ($1::bigint IS NULL OR tree_size < $1) ORDER BY tree_size DESC LIMIT $2`,
      [before ?? null, limit],
    );
    return rows.map(toCheckpoint);
  }

  /** Oldest first, strictly above `after`: the verifier walks them alongside the leaves. */
  async checkpointsAfter(after: number, limit: number): Promise<StoredCheckpoint[]> {
    const rows: CheckpointRow[] = await this.dataSource.query(
      `SELECT ${CHECKPOINT_COLUMNS} FROM ledger_checkpoints WHERE tree_size > $1 ORDER BY tree_size LIMIT $2`,
      [after, limit],
    );
    return rows.map(toCheckpoint);
  }

  async insertCheckpoint(manager: EntityManager, checkpoint: StoredCheckpoint): Promise<void> {
    await manager.query(`INSERT INTO ledger_checkpoints (tree_size, root_hash, issued_at, kid, jws) VALUES ($1, $2, $3, $4, $5)`, [
      checkpoint.treeSize,
      checkpoint.rootHash,
      checkpoint.issuedAt,
      checkpoint.kid,
      checkpoint.jws,
    ]);
  }

  /** Every signing key, newest first. */
  async signingKeys(db: Queryable = this.dataSource): Promise<StoredSigningKey[]> {
    const rows: { kid: string; alg: 'EdDSA' | 'ES256'; public_jwk: Record<string, unknown>; sealed: Buffer | null; sealed_by: MasterKeyId | null; created_at: Date }[] = await db.query(
      `SELECT k.kid, k.alg, k.public_jwk, s.sealed, s.sealed_by, k.created_at
         FROM ledger_signing_keys k LEFT JOIN ledger_signing_key_secrets s ON s.kid = k.kid
        ORDER BY k.created_at DESC, k.kid`,
    );
    return rows.map((row) => ({
      kid: row.kid,
      alg: row.alg,
      publicJwk: row.public_jwk,
      sealedPrivateJwk: row.sealed && row.sealed_by ? { sealed: row.sealed, sealedBy: row.sealed_by } : null,
      createdAt: row.created_at,
    }));
  }

  /** The public part (evidence) and the sealed private part together; `db` is the caller's transaction when there is one. */
  async insertSigningKey(key: Omit<StoredSigningKey, 'createdAt'>, db: Queryable = this.dataSource): Promise<void> {
    await db.query(`INSERT INTO ledger_signing_keys (kid, alg, public_jwk) VALUES ($1, $2, $3) ON CONFLICT (kid) DO NOTHING`, [key.kid, key.alg, JSON.stringify(key.publicJwk)]);
    if (key.sealedPrivateJwk) {
      await db.query(`INSERT INTO ledger_signing_key_secrets (kid, sealed, sealed_by) VALUES ($1, $2, $3) ON CONFLICT (kid) DO NOTHING`, [
        key.kid,
        key.sealedPrivateJwk.sealed,
        key.sealedPrivateJwk.sealedBy,
      ]);
    }
  }

  async entry(seq: number): Promise<StoredEntry | undefined> {
    const rows: EntryRow[] = await this.dataSource.query(`${ENTRY_SELECT} WHERE l.seq = $1`, [seq]);
    return rows[0] && toEntry(rows[0]);
  }

  /** The entries of these records (events.seq, event_conflicts.seq or finding_triage.seq, by kind); records not yet sequenced are absent. */
  async entriesOfRecords(kind: RecordKind, recordSeqs: readonly string[]): Promise<StoredEntry[]> {
    if (recordSeqs.length === 0) return [];
    const rows: EntryRow[] = await this.dataSource.query(`${ENTRY_SELECT} WHERE l.record_kind = $1 AND l.record_seq = ANY($2::bigint[]) ORDER BY l.seq`, [kind, recordSeqs]);
    return rows.map(toEntry);
  }

  /** Where records stand in the ledger, and nothing else: what a chain document shows for each record. */
  async ledgerSeqsOfRecords(kind: RecordKind, recordSeqs: readonly string[]): Promise<{ seq: number; recordSeq: string }[]> {
    if (recordSeqs.length === 0) return [];
    const rows = await this.statements.run<{ seq: string; record_seq: string }>(
      { name: 'jartrail_ledger_seqs_of_records', text: `SELECT seq, record_seq FROM ledger_entries WHERE record_kind = $1 AND record_seq = ANY($2::bigint[])` },
      [kind, recordSeqs],
    );
    return rows.map((row) => ({ seq: Number(row.seq), recordSeq: String(row.record_seq) }));
  }

  /** One page of the ledger in order, with the records as stored now: the verifier's keyset walk. */
  async entriesAfter(after: number, limit: number): Promise<StoredEntry[]> {
    const rows: EntryRow[] = await this.dataSource.query(`${ENTRY_SELECT} WHERE l.seq > $1 ORDER BY l.seq LIMIT $2`, [after, limit]);
    return rows.map(toEntry);
  }

  /** Records that are neither in the ledger nor queued for it: something removed them from the queue. */
  async unledgeredCount(): Promise<number> {
    const [row]: { count: string }[] = await this.dataSource.query(
      `SELECT (SELECT count(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM ledger_entries l WHERE l.record_kind = 'event' AND l.record_seq = e.seq)
                 AND NOT EXISTS (SELECT 1 FROM ledger_pending p WHERE p.record_kind = 'event' AND e.seq = ANY(p.record_seqs)))
            + (SELECT count(*) FROM event_conflicts c WHERE NOT EXISTS (SELECT 1 FROM ledger_entries l WHERE l.record_kind = 'conflict' AND l.record_seq = c.seq)
                 AND NOT EXISTS (SELECT 1 FROM ledger_pending p WHERE p.record_kind = 'conflict' AND c.seq = ANY(p.record_seqs)))
            + (SELECT count(*) FROM finding_triage t WHERE NOT EXISTS (SELECT 1 FROM ledger_entries l WHERE l.record_kind = 'triage' AND l.record_seq = t.seq)
                 AND NOT EXISTS (SELECT 1 FROM ledger_pending p WHERE p.record_kind = 'triage' AND t.seq = ANY(p.record_seqs))) AS count`,
    );
    return Number(row!.count);
  }

  /** The purge that covered each of these ledger seqs (ask for those whose payload is gone). */
  async purgesOf(ledgerSeqs: readonly number[]): Promise<Map<number, { policy: string; purgedAt: Date }>> {
    if (ledgerSeqs.length === 0) return new Map();
    const rows: { seq: string; policy: string; purged_at: Date }[] = await this.dataSource.query(
      `SELECT s.seq, p.policy, p.purged_at
       FROM unnest($1::bigint[]) AS s(seq)
       JOIN LATERAL (SELECT policy, purged_at, from_ledger_seq FROM ledger_purges
                     WHERE to_ledger_seq >= s.seq ORDER BY to_ledger_seq LIMIT 1) p ON p.from_ledger_seq <= s.seq`,
      [ledgerSeqs],
    );
    return new Map(rows.map((row) => [Number(row.seq), { policy: row.policy, purgedAt: row.purged_at }]));
  }

  /** Serialises purges across replicas (the purge function takes the same lock). */
  async lockPurges(manager: EntityManager): Promise<void> {
    await manager.query('SELECT pg_advisory_xact_lock($1)', [PURGE_LOCK_ID]);
  }

  /**
   * The next purge's ledger range: from where the last purge stopped (ledger order follows recording order), up to
   * `limit` records, stopping before the first recorded at or after the cutoff. Records not yet in the ledger are
   * never reached (their salted hash is not committed yet). Undefined when nothing is old enough.
   */
  async nextPurgeRange(manager: EntityManager, recordedBefore: Date, limit: number): Promise<{ from: number; to: number } | undefined> {
    const [row]: { from_seq: string | null; to_seq: string | null }[] = await manager.query(
      `SELECT min(s.seq) AS from_seq, max(s.seq) AS to_seq
       FROM (
         SELECT w.seq, bool_or(w.too_new) OVER (ORDER BY w.seq) AS stopped
         FROM (
           SELECT l.seq, coalesce(e.recorded_at, c.recorded_at, '-infinity') >= $1 AS too_new
           FROM ledger_entries l
           LEFT JOIN events e ON l.record_kind = 'event' AND e.seq = l.record_seq
           LEFT JOIN event_conflicts c ON l.record_kind = 'conflict' AND c.seq = l.record_seq
           WHERE l.seq > (SELECT coalesce(max(p.to_ledger_seq), -1) FROM ledger_purges p)
           ORDER BY l.seq LIMIT $2
         ) w
       ) s
       WHERE NOT s.stopped`,
      [recordedBefore, limit],
    );
    return row!.from_seq === null ? undefined : { from: Number(row!.from_seq), to: Number(row!.to_seq) };
  }

  /**
   * Blanks the payloads of a planned, signed range and records the purge, through the one function allowed to: it
   * runs as the purger role, checks that the range follows the last purge and holds only records older than the
   * cutoff, and returns how many payloads it blanked.
   */
  async purgePayloads(manager: EntityManager, purge: { policy: string; recordedBefore: Date; from: number; to: number; kid: string; jws: string }): Promise<number> {
    const [row]: { records: number }[] = await manager.query('SELECT jartrail_purge_payloads($1, $2, $3, $4, $5, $6) AS records', [
      purge.policy,
      purge.recordedBefore,
      purge.from,
      purge.to,
      purge.kid,
      purge.jws,
    ]);
    return Number(row!.records);
  }

  /** Every recorded purge, by from_ledger_seq: the verifier checks each signature once. */
  async purges(): Promise<StoredPurge[]> {
    const rows: PurgeRow[] = await this.dataSource.query(`SELECT ${PURGE_COLUMNS} FROM ledger_purges ORDER BY from_ledger_seq, id`);
    return rows.map(toPurge);
  }

  /** Every recorded purge whose range holds one of these ledger seqs (an evidence bundle carries them). */
  async purgesCovering(ledgerSeqs: readonly number[]): Promise<StoredPurge[]> {
    if (ledgerSeqs.length === 0) return [];
    const rows: PurgeRow[] = await this.dataSource.query(
      `SELECT ${PURGE_COLUMNS} FROM ledger_purges
       WHERE id IN (SELECT p.id FROM unnest($1::bigint[]) AS s(seq) JOIN ledger_purges p ON p.to_ledger_seq >= s.seq AND p.from_ledger_seq <= s.seq)
       ORDER BY from_ledger_seq, id`,
      [ledgerSeqs],
    );
    return rows.map(toPurge);
  }
}
