import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { LINKED_BELOW_SQL } from '../evidence/linking-watermark';
import { canonicalJson } from '../common/canonical-json';
import type { ChainEvidence, ClientPolicy, EvidenceConflict, EvidenceRecord, EvidenceRef, IndependentVerdictFacts } from './chain-evidence';
import { CAUSE_RECORDS_KEPT, type CheckCause } from './check-cause';
import type { FindingResolution, FindingUpdate, StoredFinding } from './finding-reconciler';
import type { FindingDraft } from './rule';

/** The findings evaluator's turn: one evaluation transaction at a time, cluster-wide ("jartrail findings"). */
const EVALUATOR_LOCK_KEY = `hashtextextended('jartrail:findings', 0)`;

/** A subject is a chain digest, or this prefix and the seq of a record that joined no chain. */
export const LOOSE_RECORD_PREFIX = 'record:';
export const looseSubjectOf = (seq: string) => `${LOOSE_RECORD_PREFIX}${seq}`;

const PENDING_SUBJECTS_SQL = `(SELECT count(DISTINCT subject) FROM finding_checks WHERE due_at <= clock_timestamp())`;
const OLDEST_DUE_SQL = `(SELECT extract(epoch FROM clock_timestamp() - min(due_at))::float8 FROM finding_checks WHERE due_at <= clock_timestamp())`;

/** The record types that can be left loose (no chain): they reach a chain only through a token. */
const LOOSE_TYPES = `('tool_call.recorded', 'token.issued', 'token.revoked')`;

export interface ClaimedChecks {
  readonly checkIds: readonly string[];
  readonly subjects: readonly string[];
  /** What queued each subject, one entry per check row claimed. */
  readonly causes: ReadonlyMap<string, readonly (CheckCause | null)[]>;
}

/** The evidence of a batch of subjects, and what the evaluator needs besides. */
export interface LoadedEvidence {
  readonly bySubject: ReadonlyMap<string, ChainEvidence>;
  /** Records (events.seq) among the evidence whose payload retention purged. */
  readonly purgedEventSeqs: ReadonlySet<string>;
}

export interface SubjectFacts {
  readonly clientId: string | null;
  readonly issuer: string | null;
}

type RecordRow = {
  seq: string;
  event_id: string;
  source_id: string;
  type: EvidenceRecord['type'];
  occurred_at: Date;
  recorded_at: Date;
  data: Record<string, unknown> | null;
  chains: string[] | null;
  verdict: IndependentVerdictFacts['verdict'] | null;
  mismatch: boolean | null;
  reasons: { code: string; detail: string }[] | null;
  alg: string | null;
  opaque: boolean | null;
  queued: boolean;
};

const RECORD_COLUMNS = `e.seq, e.event_id, e.source_id, e.type, e.occurred_at, e.recorded_at, e.data,
  (SELECT array_agg(cm.chain_digest ORDER BY cm.chain_digest) FROM chain_members cm WHERE cm.event_seq = e.seq) AS chains,
  iv.verdict, iv.mismatch, iv.reasons, iv.alg, iv.opaque,
  EXISTS (SELECT 1 FROM verification_queue q WHERE q.event_seq = e.seq) AS queued`;
const VERDICT_JOIN = `LEFT JOIN independent_verdicts iv ON iv.event_seq = e.seq`;

function toEvidenceRecord(row: RecordRow): EvidenceRecord {
  const base = {
    seq: String(row.seq),
    eventId: row.event_id,
    sourceId: row.source_id,
    occurredAt: row.occurred_at,
    recordedAt: row.recorded_at,
    chains: row.chains ?? [],
  };
  if (row.type === 'request_object.verification') {
    const independent: IndependentVerdictFacts | 'pending' | null =
      row.verdict !== null
        ? { verdict: row.verdict, mismatch: row.mismatch === true, reasons: row.reasons ?? [], alg: row.alg, opaque: row.opaque === true }
        : row.queued
          ? 'pending'
          : null;
    return { ...base, type: row.type, data: row.data as never, independent };
  }
  return { ...base, type: row.type, data: row.data as never } as EvidenceRecord;
}

type FindingRow = {
  id: string;
  rule: StoredFinding['rule'];
  finding_key: string;
  severity: StoredFinding['severity'];
  status: StoredFinding['status'];
  summary: string;
  facts: Record<string, unknown>;
  evidence: EvidenceRef[];
  subject: string;
};

/**
 * Who triaged, as the ledgered payload names them: an API key (its id and its name at the time), or the holder of an
 * identity provider's access token (its `sub` and `iss`).
 */
export type TriagedBy = { readonly api_key_id: string; readonly name: string } | { readonly subject: string; readonly issuer: string };

export interface NewTriage {
  readonly findingId: string;
  readonly eventId: string;
  readonly status: string;
  readonly note: string;
  readonly triagedBy: TriagedBy;
}

export interface StoredTriage {
  /** finding_triage.seq: its record seq in the ledger (kind `triage`). */
  readonly seq: string;
  readonly eventId: string;
  readonly status: string;
  readonly note: string;
  readonly recordedAt: Date;
  readonly triagedBy: TriagedBy;
}

type TriageRow = { seq: string; finding_id: string; event_id: string; status: string; note: string; recorded_at: Date; data: { triaged_by: StoredTriage['triagedBy'] } };

const toTriage = (row: TriageRow): StoredTriage => ({
  seq: String(row.seq),
  eventId: row.event_id,
  status: row.status,
  note: row.note,
  recordedAt: row.recorded_at,
  triagedBy: row.data.triaged_by,
});

/** A finding as the API reads it. */
export interface FindingRecord {
  readonly id: string;
  readonly rule: string;
  readonly severity: string;
  readonly status: string;
  readonly chainDigest: string | null;
  readonly summary: string;
  readonly facts: Record<string, unknown>;
  readonly evidence: readonly EvidenceRef[];
  readonly clientId: string | null;
  readonly issuer: string | null;
  readonly occurredAt: Date;
  readonly firstSeenAt: Date;
  readonly updatedAt: Date;
  readonly resolvedAt: Date | null;
  readonly resolution: string | null;
  readonly triageStatus: string | null;
}

export interface FindingFilter {
  readonly rule?: string;
  readonly severity?: string;
  readonly status?: string;
  readonly clientId?: string;
  readonly issuer?: string;
  readonly chainDigest?: string;
  readonly from?: Date;
  readonly to?: Date;
  /** Keyset position: ids below this (newest first). */
  readonly beforeId?: string;
  readonly limit: number;
}

export interface EvaluationProgress {
  readonly pendingSubjects: number;
  readonly oldestDueSeconds: number;
}

export const FINDING_COLUMNS = `f.id, f.rule, f.severity, f.status, f.chain_digest, f.summary, f.facts, f.evidence, f.client_id, f.issuer,
  f.occurred_at, f.first_seen_at, f.updated_at, f.resolved_at, f.resolution, f.triage_status`;

export type FindingReadRow = {
  id: string;
  rule: string;
  severity: string;
  status: string;
  chain_digest: string | null;
  summary: string;
  facts: Record<string, unknown>;
  evidence: EvidenceRef[];
  client_id: string | null;
  issuer: string | null;
  occurred_at: Date;
  first_seen_at: Date;
  updated_at: Date;
  resolved_at: Date | null;
  resolution: string | null;
  triage_status: string | null;
};

export const toFindingRecord = (row: FindingReadRow): FindingRecord => ({
  id: String(row.id),
  rule: row.rule,
  severity: row.severity,
  status: row.status,
  chainDigest: row.chain_digest,
  summary: row.summary,
  facts: row.facts,
  evidence: row.evidence,
  clientId: row.client_id,
  issuer: row.issuer,
  occurredAt: row.occurred_at,
  firstSeenAt: row.first_seen_at,
  updatedAt: row.updated_at,
  resolvedAt: row.resolved_at,
  resolution: row.resolution,
  triageStatus: row.triage_status,
});

/** The SQL of findings: the evaluation queue, the evidence the rules read, and the findings themselves. */
@Injectable()
export class FindingsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Findings newest first, by the filters given; one snapshot, with the linking watermark and the evaluation queue. */
  async list(filter: FindingFilter): Promise<{ findings: FindingRecord[]; linkedBelow: string; progress: EvaluationProgress }> {
    const params: unknown[] = [];
    const param = (value: unknown) => `$${params.push(value)}`;
    const where: string[] = ['true'];
    if (filter.rule !== undefined) where.push(`f.rule = ${param(filter.rule)}`);
    if (filter.severity !== undefined) where.push(`f.severity = ${param(filter.severity)}`);
    if (filter.status !== undefined) where.push(`f.status = ${param(filter.status)}`);
    if (filter.clientId !== undefined) where.push(`f.client_id = ${param(filter.clientId)}`);
    if (filter.issuer !== undefined) where.push(`f.issuer = ${param(filter.issuer)}`);
    if (filter.chainDigest !== undefined) where.push(`f.chain_digest = ${param(filter.chainDigest)}`);
    if (filter.from !== undefined) where.push(`f.occurred_at >= ${param(filter.from)}`);
    if (filter.to !== undefined) where.push(`f.occurred_at < ${param(filter.to)}`);
    if (filter.beforeId !== undefined) where.push(`f.id < ${param(filter.beforeId)}::bigint`);
    const rows: (FindingReadRow & { linked_below: string; pending_subjects: string; oldest_due_seconds: number | null })[] = await this.dataSource.query(
      `WITH page AS (SELECT ${FINDING_COLUMNS} FROM findings f WHERE ${where.join(' AND ')} ORDER BY f.id DESC LIMIT ${param(filter.limit)}),
       progress AS (SELECT ${LINKED_BELOW_SQL} AS linked_below, ${PENDING_SUBJECTS_SQL} AS pending_subjects, ${OLDEST_DUE_SQL} AS oldest_due_seconds)
       SELECT page.*, progress.* FROM progress LEFT JOIN page ON true ORDER BY page.id DESC`,
      params,
    );
    const first = rows[0]!;
    return {
      findings: rows.filter((row) => row.id !== null).map(toFindingRecord),
      linkedBelow: String(first.linked_below),
      progress: { pendingSubjects: Number(first.pending_subjects), oldestDueSeconds: Math.max(0, Math.round((first.oldest_due_seconds ?? 0) * 1000) / 1000) },
    };
  }

  async find(id: string): Promise<{ finding: FindingRecord; history: { change: string; severity: string; reason: string; at: Date }[] } | null> {
    const [row]: FindingReadRow[] = await this.dataSource.query(`SELECT ${FINDING_COLUMNS} FROM findings f WHERE f.id = $1::bigint`, [id]);
    if (!row) return null;
    const history: { change: string; severity: string; reason: string; at: Date }[] = await this.dataSource.query(
      `SELECT change, severity, reason, at FROM finding_changes WHERE finding_id = $1::bigint ORDER BY id`,
      [id],
    );
    return { finding: toFindingRecord(row), history };
  }

  /** What the API shows of each piece of evidence: its event id and type (the ledger seq comes from the ledger). */
  async describeEvidence(refs: readonly EvidenceRef[]): Promise<Map<string, { eventId: string; type: string; purged: boolean }>> {
    const events = refs.filter((ref) => ref.kind === 'event').map((ref) => ref.seq);
    const conflicts = refs.filter((ref) => ref.kind === 'conflict').map((ref) => ref.seq);
    if (events.length + conflicts.length === 0) return new Map();
    const rows: { kind: string; seq: string; event_id: string; type: string; purged: boolean }[] = await this.dataSource.query(
      `SELECT 'event' AS kind, seq, event_id, type, data IS NULL AS purged FROM events WHERE seq = ANY($1::bigint[])
       UNION ALL
       SELECT 'conflict', seq, event_id, type, data IS NULL FROM event_conflicts WHERE seq = ANY($2::bigint[])`,
      [events, conflicts],
    );
    return new Map(rows.map((row) => [`${row.kind}:${row.seq}`, { eventId: row.event_id, type: row.type, purged: row.purged }]));
  }

  /**
   * Records a triage and mirrors it on the finding, in one transaction: the triage row (append-only; its ledger queue
   * row follows by trigger) and the finding's `triage_status` commit together or not at all. Undefined for an
   * unknown finding.
   */
  async triage(triage: NewTriage): Promise<StoredTriage | undefined> {
    return this.dataSource.transaction(async (manager) => {
      const [finding]: { id: string; rule: string; chain_digest: string | null }[] = await manager.query(
        `SELECT id, rule, chain_digest FROM findings WHERE id = $1::bigint FOR NO KEY UPDATE`,
        [triage.findingId],
      );
      if (!finding) return undefined;
      const by = triage.triagedBy;
      const data = { finding_id: triage.findingId, rule: finding.rule, chain_digest: finding.chain_digest, status: triage.status, note: triage.note, triaged_by: by };
      // The columns name the same principal as the payload: they are what the ledger leaf's source_id is made of.
      const [row]: TriageRow[] = await manager.query(
        `INSERT INTO finding_triage (finding_id, event_id, api_key_id, triaged_by_subject, triaged_by_issuer, status, note, fingerprint, data)
         VALUES ($1::bigint, $2, $3, $4, $5, $6, $7, sha256(convert_to($8, 'UTF8')), $8::jsonb)
         RETURNING seq, finding_id, event_id, status, note, recorded_at, data`,
        [
          triage.findingId,
          triage.eventId,
          'api_key_id' in by ? by.api_key_id : null,
          'subject' in by ? by.subject : null,
          'subject' in by ? by.issuer : null,
          triage.status,
          triage.note,
          canonicalJson(data),
        ],
      );
      await manager.query(`UPDATE findings SET triage_status = $2 WHERE id = $1::bigint`, [triage.findingId, triage.status]);
      return toTriage(row!);
    });
  }

  /** A finding's triage, oldest first. */
  async triageOf(findingId: string): Promise<StoredTriage[]> {
    const rows: TriageRow[] = await this.dataSource.query(
      `SELECT seq, finding_id, event_id, status, note, recorded_at, data FROM finding_triage WHERE finding_id = $1::bigint ORDER BY seq`,
      [findingId],
    );
    return rows.map(toTriage);
  }

  /** How far evaluation has got, for /health/ready. */
  async progress(): Promise<EvaluationProgress> {
    const [row]: { pending_subjects: string; oldest_due_seconds: number | null }[] = await this.dataSource.query(
      `SELECT ${PENDING_SUBJECTS_SQL} AS pending_subjects, ${OLDEST_DUE_SQL} AS oldest_due_seconds`,
    );
    return { pendingSubjects: Number(row!.pending_subjects), oldestDueSeconds: Math.max(0, Math.round((row!.oldest_due_seconds ?? 0) * 1000) / 1000) };
  }

  /** Takes the evaluator's turn for this transaction, or answers false while another replica's evaluator has it. */
  async takeTurn(manager: EntityManager): Promise<boolean> {
    const [row]: { taken: boolean }[] = await manager.query(`SELECT pg_try_advisory_xact_lock(${EVALUATOR_LOCK_KEY}) AS taken`);
    return row!.taken;
  }

  /**
   * The subjects due now (at most `limit`), with every queue row of each that is committed now, due or not: one
   * evaluation answers all of them, since the evidence it reads next includes whatever queued them (a row due later
   * for a grace period is scheduled again by the rule that needs it, RuleOutcome.recheckAt). Only these rows are
   * deleted afterwards: a row queued while the evaluation runs stays, and is evaluated next.
   */
  async claimDue(manager: EntityManager, limit: number): Promise<ClaimedChecks> {
    const rows: { id: string; subject: string; cause: CheckCause | null }[] = await manager.query(
      `SELECT c.id, c.subject, c.cause FROM finding_checks c
       WHERE c.subject IN (SELECT d.subject FROM finding_checks d WHERE d.due_at <= clock_timestamp() ORDER BY d.due_at, d.id LIMIT $1)`,
      [limit],
    );
    // In the order they were queued, sorted here: an ORDER BY made the planner walk the whole queue in id order and
    // filter it (1.8 s with a backlog, bench:ingest) instead of looking up the due subjects' rows.
    rows.sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : BigInt(a.id) > BigInt(b.id) ? 1 : 0));
    const causes = new Map<string, (CheckCause | null)[]>();
    for (const row of rows) {
      const ofSubject = causes.get(row.subject);
      if (ofSubject) ofSubject.push(row.cause);
      else causes.set(row.subject, [row.cause]);
    }
    return { checkIds: rows.map((row) => String(row.id)), subjects: [...causes.keys()], causes };
  }

  async removeChecks(manager: EntityManager, checkIds: readonly string[]): Promise<void> {
    if (checkIds.length > 0) await manager.query(`DELETE FROM finding_checks WHERE id = ANY($1::bigint[])`, [checkIds]);
  }

  async scheduleChecks(manager: EntityManager, checks: readonly { subject: string; dueAt: Date }[]): Promise<void> {
    if (checks.length === 0) return;
    await manager.query(`INSERT INTO finding_checks (subject, due_at, cause) SELECT subject, due_at, '{"kind":"recheck"}' FROM jsonb_to_recordset($1::jsonb) AS c(subject text, due_at timestamptz)`, [
      JSON.stringify(checks.map((check) => ({ subject: check.subject, due_at: check.dueAt.toISOString() }))),
    ]);
  }

  /**
   * After a linker batch, in its transaction: the chains its records joined, the chains of records that share a
   * replay or natural key with them (a replay lands on whichever chain is second, whatever order they arrive in),
   * its loose records once their grace period ends, and the records of earlier batches that have now joined a chain
   * (a late token pulls in its tool calls) and had been left loose: they may stop being orphans.
   */
  async enqueueAfterLinking(
    manager: EntityManager,
    linkedSeqs: readonly string[],
    joined: readonly { readonly chainDigest: string; readonly eventSeq: string }[],
    orphanGraceSeconds: number,
    delayMs: number,
  ): Promise<void> {
    if (linkedSeqs.length === 0) return;
    // Each check says which records queued it (CheckCause `records`: the newest few, and how many), for the reason of
    // a finding its evaluation resolves: those that joined the chain, those of the batch that share a key with one of
    // its records, the loose record that has now joined a chain.
    await manager.query(
      `WITH batch AS (SELECT e.seq, e.type, e.data, e.recorded_at FROM events e WHERE e.seq = ANY($1::bigint[]) AND e.data IS NOT NULL),
       related AS (
         SELECT b.seq AS cause_seq, o.seq FROM batch b
         CROSS JOIN LATERAL (SELECT o.seq FROM events o WHERE o.type = 'request_object.verification' AND (o.data ->> 'request_uri') = (b.data ->> 'request_uri') AND o.seq <> b.seq OFFSET 0) o
         WHERE b.type = 'request_object.verification' AND b.data ->> 'delivery' = 'par' AND b.data ? 'request_uri'
         UNION
         SELECT b.seq, o.seq FROM batch b
         CROSS JOIN LATERAL (SELECT o.seq FROM events o WHERE o.type = 'request_object.verification' AND (o.data ->> 'client_id') = (b.data ->> 'client_id') AND (o.data -> 'claims' ->> 'jti') = (b.data -> 'claims' ->> 'jti') AND o.seq <> b.seq OFFSET 0) o
         WHERE b.type = 'request_object.verification' AND b.data -> 'claims' ? 'jti'
         UNION
         SELECT b.seq, o.seq FROM batch b
         CROSS JOIN LATERAL (SELECT o.seq FROM events o WHERE o.type = 'tool_call.recorded' AND (o.data ->> 'call_id') = (b.data ->> 'call_id') AND o.seq <> b.seq OFFSET 0) o
         WHERE b.type = 'tool_call.recorded'
       ),
       touched AS (
         SELECT j.subject, j.seq FROM unnest($2::text[], $4::bigint[]) AS j(subject, seq)
         UNION SELECT m.chain_digest, r.cause_seq FROM related r CROSS JOIN LATERAL (SELECT m.chain_digest FROM chain_members m WHERE m.event_seq = r.seq OFFSET 0) m
         UNION SELECT '${LOOSE_RECORD_PREFIX}' || j.seq, j.seq FROM unnest($4::bigint[]) AS j(seq)
               WHERE EXISTS (SELECT 1 FROM findings f WHERE f.subject = '${LOOSE_RECORD_PREFIX}' || j.seq AND f.status = 'open')
       )
       INSERT INTO finding_checks (subject, due_at, cause)
       SELECT subject, due_at, cause FROM (
         SELECT t.subject, clock_timestamp() + make_interval(secs => $5::float8 / 1000) AS due_at,
                jsonb_build_object('kind', 'records', 'seqs', to_jsonb((array_agg(t.seq::text ORDER BY t.seq DESC))[1:${CAUSE_RECORDS_KEPT}]), 'count', count(*)) AS cause
         FROM touched t GROUP BY t.subject
         UNION ALL
         SELECT '${LOOSE_RECORD_PREFIX}' || b.seq, b.recorded_at + make_interval(secs => $3), '{"kind":"recheck"}'::jsonb
         FROM batch b
         WHERE b.type IN ${LOOSE_TYPES} AND NOT EXISTS (SELECT 1 FROM chain_members m WHERE m.event_seq = b.seq)
       ) checks`,
      [linkedSeqs, joined.map((member) => member.chainDigest), orphanGraceSeconds, joined.map((member) => member.eventSeq), delayMs],
    );
  }

  /** Everything the rules read about these subjects, in one snapshot per statement (the turn keeps writers of findings out). */
  async loadEvidence(manager: EntityManager, subjects: readonly string[]): Promise<LoadedEvidence> {
    const chainDigests = subjects.filter((subject) => !subject.startsWith(LOOSE_RECORD_PREFIX));
    const looseSeqs = subjects.filter((subject) => subject.startsWith(LOOSE_RECORD_PREFIX)).map((subject) => subject.slice(LOOSE_RECORD_PREFIX.length));

    const memberRows: (RecordRow & { member_of: string })[] =
      chainDigests.length === 0
        ? []
        : await manager.query(
            `SELECT m.chain_digest AS member_of, ${RECORD_COLUMNS}
             FROM chain_members m JOIN events e ON e.seq = m.event_seq ${VERDICT_JOIN}
             WHERE m.chain_digest = ANY($1::text[])
             ORDER BY m.chain_digest, e.seq`,
            [chainDigests],
          );
    const looseRows: RecordRow[] =
      looseSeqs.length === 0 ? [] : await manager.query(`SELECT ${RECORD_COLUMNS} FROM events e ${VERDICT_JOIN} WHERE e.seq = ANY($1::bigint[]) ORDER BY e.seq`, [looseSeqs]);

    const recordsOf = new Map<string, EvidenceRecord[]>(subjects.map((subject) => [subject, []]));
    for (const row of memberRows) recordsOf.get(row.member_of)!.push(toEvidenceRecord(row));
    for (const row of looseRows) {
      // A loose record that has joined a chain since is no longer this subject's business: evaluated with no records.
      if ((row.chains ?? []).length === 0) recordsOf.get(looseSubjectOf(String(row.seq)))!.push(toEvidenceRecord(row));
    }
    const allRecords = [...recordsOf.values()].flat();
    const related = await this.relatedRecords(manager, allRecords);
    const conflicts = await this.conflictsOf(manager, [...new Set(allRecords.map((record) => record.seq))]);
    const clients = await this.clientsNamedBy(manager, [...allRecords, ...related]);

    const bySubject = new Map<string, ChainEvidence>();
    for (const [subject, records] of recordsOf) {
      const own = new Set(records.map((record) => record.seq));
      const keys = new Set(records.flatMap(sharedKeysOf));
      const clientIds = new Set(records.flatMap((record) => (record.type === 'request_object.verification' && record.data ? [record.data.client_id] : [])));
      bySubject.set(subject, {
        digest: subject.startsWith(LOOSE_RECORD_PREFIX) ? null : subject,
        records,
        related: related.filter((record) => !own.has(record.seq) && sharedKeysOf(record).some((key) => keys.has(key))),
        conflicts: conflicts.filter((conflict) => own.has(conflict.originalSeq)),
        clients: new Map([...clients].filter(([clientId]) => clientIds.has(clientId))),
      });
    }
    const purgedEventSeqs = new Set([...allRecords, ...related].filter((record) => record.data === null).map((record) => record.seq));
    return { bySubject, purgedEventSeqs };
  }

  /** The verification records sharing a PAR request_uri or a (client_id, jti), and the tool calls sharing a call_id. */
  private async relatedRecords(manager: EntityManager, records: readonly EvidenceRecord[]): Promise<EvidenceRecord[]> {
    const requestUris: string[] = [];
    const jtiClients: string[] = [];
    const jtis: string[] = [];
    const callIds: string[] = [];
    for (const record of records) {
      if (record.data === null) continue;
      if (record.type === 'request_object.verification') {
        if (record.data.delivery === 'par' && record.data.request_uri !== undefined) requestUris.push(record.data.request_uri);
        if (record.data.claims.jti !== undefined) {
          jtiClients.push(record.data.client_id);
          jtis.push(record.data.claims.jti);
        }
      } else if (record.type === 'tool_call.recorded') callIds.push(record.data.call_id);
    }
    if (requestUris.length + jtis.length + callIds.length === 0) return [];
    const rows: RecordRow[] = await manager.query(
      // One index probe per key (a lateral subquery each), and the events fetched by their seqs (= ANY of an array):
      // with a few hundred keys, `IN (...)` and `= ANY($n)` over the key made the planner walk all of events' primary
      // key instead (about a second on a million events, bench:export's ingest during an export).
      `SELECT ${RECORD_COLUMNS} FROM events e ${VERDICT_JOIN}
       WHERE e.seq = ANY(ARRAY(
         SELECT o.seq FROM unnest($1::text[]) AS k(request_uri)
         CROSS JOIN LATERAL (SELECT o.seq FROM events o WHERE o.type = 'request_object.verification' AND (o.data ->> 'request_uri') = k.request_uri AND o.data ->> 'delivery' = 'par' OFFSET 0) o
         UNION
         SELECT o.seq FROM unnest($2::text[], $3::text[]) AS k(client_id, jti)
         CROSS JOIN LATERAL (SELECT o.seq FROM events o WHERE o.type = 'request_object.verification' AND (o.data ->> 'client_id') = k.client_id AND (o.data -> 'claims' ->> 'jti') = k.jti OFFSET 0) o
         UNION
         SELECT o.seq FROM unnest($4::text[]) AS k(call_id)
         CROSS JOIN LATERAL (SELECT o.seq FROM events o WHERE o.type = 'tool_call.recorded' AND (o.data ->> 'call_id') = k.call_id OFFSET 0) o
       ))
       ORDER BY e.seq`,
      [requestUris, jtiClients, jtis, callIds],
    );
    return rows.map(toEvidenceRecord);
  }

  private async conflictsOf(manager: EntityManager, originalSeqs: readonly string[]): Promise<EvidenceConflict[]> {
    if (originalSeqs.length === 0) return [];
    const rows: { seq: string; event_id: string; source_id: string; type: string; recorded_at: Date; original_seq: string }[] = await manager.query(
      `SELECT c.seq, c.event_id, c.source_id, c.type, c.recorded_at, c.original_seq FROM event_conflicts c WHERE c.original_seq = ANY($1::bigint[]) ORDER BY c.seq`,
      [originalSeqs],
    );
    return rows.map((row) => ({ seq: String(row.seq), eventId: row.event_id, sourceId: row.source_id, type: row.type, recordedAt: row.recorded_at, originalSeq: String(row.original_seq) }));
  }

  private async clientsNamedBy(manager: EntityManager, records: readonly EvidenceRecord[]): Promise<Map<string, ClientPolicy>> {
    const clientIds = [...new Set(records.flatMap((record) => (record.type === 'request_object.verification' && record.data ? [record.data.client_id] : [])))];
    if (clientIds.length === 0) return new Map();
    const rows: {
      client_id: string;
      request_object_signing_alg_values: string[];
      require_signed_request_object: boolean;
      require_encrypted_request_object: boolean;
      high_impact_scopes: string[];
      high_impact_authorization_details_types: string[];
      sensitive_scopes: string[];
      sensitive_authorization_details_types: string[];
      redirect_uris: string[];
      max_request_object_lifetime: number;
    }[] = await manager.query(
      `SELECT client_id, request_object_signing_alg_values, require_signed_request_object, require_encrypted_request_object, high_impact_scopes, high_impact_authorization_details_types,
              sensitive_scopes, sensitive_authorization_details_types, redirect_uris, max_request_object_lifetime
       FROM clients WHERE client_id = ANY($1::text[])`,
      [clientIds],
    );
    return new Map(
      rows.map((row) => [
        row.client_id,
        {
          clientId: row.client_id,
          signingAlgs: row.request_object_signing_alg_values,
          requireSignedRequestObject: row.require_signed_request_object,
          requireEncryptedRequestObject: row.require_encrypted_request_object,
          highImpactScopes: row.high_impact_scopes,
          highImpactAuthorizationDetailsTypes: row.high_impact_authorization_details_types,
          sensitiveScopes: row.sensitive_scopes,
          sensitiveAuthorizationDetailsTypes: row.sensitive_authorization_details_types,
          redirectUris: row.redirect_uris,
          maxRequestObjectLifetime: row.max_request_object_lifetime,
        },
      ]),
    );
  }

  async storedFindings(manager: EntityManager, subjects: readonly string[]): Promise<Map<string, StoredFinding[]>> {
    const rows: FindingRow[] = await manager.query(
      `SELECT id, subject, rule, finding_key, severity, status, summary, facts, evidence FROM findings WHERE subject = ANY($1::text[]) ORDER BY id`,
      [subjects],
    );
    const bySubject = new Map<string, StoredFinding[]>(subjects.map((subject) => [subject, []]));
    for (const row of rows) {
      bySubject.get(row.subject)!.push({
        id: String(row.id),
        rule: row.rule,
        findingKey: row.finding_key,
        severity: row.severity,
        status: row.status,
        summary: row.summary,
        facts: row.facts,
        evidence: row.evidence,
      });
    }
    return bySubject;
  }

  /**
   * New findings and their `opened` history rows; occurred_at is the earliest occurrence among their evidence.
   * Returns the ids of the history rows written.
   */
  async open(manager: EntityManager, findings: readonly (FindingDraft & { subject: string; facts_of_subject: SubjectFacts; occurredAt: Date })[]): Promise<string[]> {
    if (findings.length === 0) return [];
    const changes: { id: string }[] = await manager.query(
      `WITH opened AS (
         INSERT INTO findings (subject, chain_digest, rule, finding_key, severity, status, summary, facts, evidence, client_id, issuer, occurred_at, first_seen_at, updated_at)
         SELECT f.subject, CASE WHEN f.subject LIKE '${LOOSE_RECORD_PREFIX}%' THEN NULL ELSE f.subject END, f.rule, f.finding_key, f.severity, 'open', f.summary, f.facts, f.evidence,
                f.client_id, f.issuer, f.occurred_at, clock_timestamp(), clock_timestamp()
         FROM jsonb_to_recordset($1::jsonb) AS f(subject text, rule text, finding_key text, severity text, summary text, facts jsonb, evidence jsonb, client_id text, issuer text, occurred_at timestamptz)
         RETURNING id, severity
       )
       INSERT INTO finding_changes (finding_id, change, severity, reason, at)
       SELECT id, 'opened', severity, 'the rule fires on the evidence', clock_timestamp() FROM opened
       RETURNING id`,
      [
        JSON.stringify(
          findings.map((finding) => ({
            subject: finding.subject,
            rule: finding.rule,
            finding_key: finding.key,
            severity: finding.severity,
            summary: finding.summary,
            facts: finding.facts,
            evidence: finding.evidence.map(({ kind, seq }) => ({ kind, seq })),
            client_id: finding.facts_of_subject.clientId,
            issuer: finding.facts_of_subject.issuer,
            occurred_at: finding.occurredAt.toISOString(),
          })),
        ),
      ],
    );
    return changes.map((change) => String(change.id));
  }

  /** Updates findings found again; returns the ids of the history rows written (escalated, deescalated, reopened). */
  async update(manager: EntityManager, updates: readonly (FindingUpdate & { occurredAt: Date })[]): Promise<string[]> {
    if (updates.length === 0) return [];
    const changes: { id: string }[] = await manager.query(
      `WITH changed AS (
         UPDATE findings f SET severity = u.severity, status = 'open', summary = u.summary, facts = u.facts, evidence = u.evidence,
                occurred_at = u.occurred_at, updated_at = clock_timestamp(),
                resolved_at = NULL, resolution = NULL
         FROM jsonb_to_recordset($1::jsonb) AS u(id bigint, severity text, summary text, facts jsonb, evidence jsonb, occurred_at timestamptz, change text)
         WHERE f.id = u.id
         RETURNING f.id, f.severity, u.change
       )
       INSERT INTO finding_changes (finding_id, change, severity, reason, at)
       SELECT id, change, severity,
              CASE change WHEN 'reopened' THEN 'the rule fires again on the evidence' WHEN 'escalated' THEN 'new evidence raised its severity' ELSE 'new evidence lowered its severity' END,
              clock_timestamp()
       FROM changed WHERE change IS NOT NULL
       RETURNING id`,
      [
        JSON.stringify(
          updates.map((update) => ({
            id: update.id,
            severity: update.draft.severity,
            summary: update.draft.summary,
            facts: update.draft.facts,
            evidence: update.draft.evidence.map(({ kind, seq }) => ({ kind, seq })),
            occurred_at: update.occurredAt.toISOString(),
            change: update.change ?? null,
          })),
        ),
      ],
    );
    return changes.map((change) => String(change.id));
  }

  async resolve(manager: EntityManager, resolutions: readonly FindingResolution[]): Promise<void> {
    if (resolutions.length === 0) return;
    await manager.query(
      `WITH resolved AS (
         UPDATE findings f SET status = 'resolved', resolved_at = clock_timestamp(), resolution = r.reason, updated_at = clock_timestamp()
         FROM jsonb_to_recordset($1::jsonb) AS r(id bigint, reason text)
         WHERE f.id = r.id AND f.status = 'open'
         RETURNING f.id, f.severity, r.reason
       )
       INSERT INTO finding_changes (finding_id, change, severity, reason, at)
       SELECT id, 'resolved', severity, reason, clock_timestamp() FROM resolved`,
      [JSON.stringify(resolutions.map((resolution) => ({ id: resolution.id, reason: resolution.reason })))],
    );
  }
}

/** The keys a record shares with records of other chains: the replay keys and the tool call's natural key. */
function sharedKeysOf(record: EvidenceRecord): string[] {
  if (record.data === null) return [];
  if (record.type === 'request_object.verification') {
    return [
      ...(record.data.delivery === 'par' && record.data.request_uri !== undefined ? [`request_uri\u0000${record.data.request_uri}`] : []),
      ...(record.data.claims.jti !== undefined ? [`jti\u0000${record.data.client_id}\u0000${record.data.claims.jti}`] : []),
    ];
  }
  if (record.type === 'tool_call.recorded') return [`call\u0000${record.data.call_id}`];
  return [];
}
