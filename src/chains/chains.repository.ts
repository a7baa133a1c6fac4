import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { PreparedStatements } from '../database/prepared-statements';
import { FINDING_COLUMNS, type FindingReadRow, type FindingRecord, toFindingRecord } from '../findings/findings.repository';
import { sqlTextLiteral } from '../common/sql-literal';
import { EVENT_TYPES } from '../evidence/event-types';
import { TOKEN_KEY_MEMBERS } from '../evidence/record-links';
import type { FacetName } from './chain-facet.entity';
import { textAtSql } from './data-path-sql';

/** An event as the chain document shows it. */
export interface StoredRecord {
  readonly seq: string;
  readonly eventId: string;
  readonly sourceId: string;
  readonly sourceName: string;
  readonly type: string;
  readonly emittedAt: Date;
  readonly occurredAt: Date;
  readonly recordedAt: Date;
  /** null once purged by retention. */
  readonly data: Record<string, unknown> | null;
  /** For a verification in a loaded chain: jartrail's own verdict, `pending` while queued, null when never queued. */
  readonly independent?: StoredIndependentVerdict | 'pending' | null;
}

export interface StoredIndependentVerdict {
  readonly verdict: string;
  /** The AS's verdict as it stood when jartrail judged: it outlives a purged payload (null: purged before). */
  readonly asVerdict: 'accepted' | 'rejected' | null;
  readonly mismatch: boolean;
  readonly reasons: readonly Record<string, unknown>[];
  readonly alg: string | null;
  readonly kid: string | null;
  readonly innerDigest: string | null;
  readonly opaque: boolean;
  readonly verifiedAt: Date;
}

/** A body refused with 409 because its event id already named another body: kept as evidence (event_conflicts). */
export interface StoredConflict {
  /** event_conflicts.seq */
  readonly seq: string;
  readonly eventId: string;
  readonly sourceId: string;
  readonly sourceName: string;
  readonly type: string;
  readonly emittedAt: Date;
  readonly recordedAt: Date;
  /** null once purged by retention. */
  readonly data: Record<string, unknown> | null;
  /** events.seq of the record it conflicts with: the first body under that id, which stays the record. */
  readonly originalSeq: string;
}

export interface StoredChain {
  readonly digest: string;
  readonly createdAt: Date;
  /** The chain's `unsigned` facet, written when its records were linked. */
  readonly unsigned: boolean;
  readonly aliases: readonly string[];
  readonly records: readonly StoredRecord[];
  /** The conflicting bodies kept against the records, when read (the chain document reads them). */
  readonly conflicts?: readonly StoredConflict[];
}

/** What the chain document reads in its one statement. */
export interface ChainDocumentRead {
  /** The chains the digest designates (itself, or those it is an inner-digest alias of). */
  readonly targets: readonly string[];
  /** Read when the digest designates exactly one chain. */
  readonly chain?: StoredChain & { readonly conflicts: readonly StoredConflict[] };
  /** Ledger seqs by events.seq and by event_conflicts.seq; null while a record waits for the sequencer. */
  readonly ledgerSeqs?: ReadonlyMap<string, number | null>;
  readonly conflictLedgerSeqs?: ReadonlyMap<string, number | null>;
  /** The chain's findings, open first, and whether an evaluation of it is queued (its findings may be about to change). */
  readonly findings?: readonly FindingRecord[];
  readonly findingsDue?: boolean;
  readonly latestCheckpoint?: { readonly treeSize: number; readonly rootHash: Buffer; readonly issuedAt: string };
}

export interface LookupHit {
  readonly record: StoredRecord;
  readonly chains: readonly string[];
  /** false while the record waits in the link queue. */
  readonly linked: boolean;
}

export type LookupKey =
  | { readonly by: 'token_key'; readonly value: string }
  | { readonly by: 'call_id' | 'side_effect_reference' | 'request_uri'; readonly value: string };

export interface ChainSearch {
  readonly facets: readonly { readonly name: FacetName; readonly value: string }[];
  readonly from?: Date;
  readonly to?: Date;
  /** Only chains with a verification still waiting for its independent verdict. */
  readonly pendingVerification?: boolean;
  /** Only chains with an open finding of this rule and/or severity. */
  readonly finding?: { readonly rule?: string; readonly severity?: string };
  /** Keyset position: strictly older than this (created_at, digest). */
  readonly after?: { readonly createdAt: string; readonly digest: string };
  readonly limit: number;
}

export interface ChainSummaryRow {
  readonly digest: string;
  /** created_at to the microsecond, as an exact UTC string: the keyset cursor needs all of it. */
  readonly createdAtExact: string;
  readonly facets: Readonly<Record<string, string[]>>;
  readonly counts: Readonly<Record<string, number>>;
  /** Open findings by severity. */
  readonly openFindings: Readonly<Record<string, number>>;
}

const RECORD_COLUMNS = `e.seq, e.event_id, e.source_id, s.name AS source_name, e.type, e.emitted_at, e.occurred_at, e.recorded_at, e.data`;

type RecordRow = {
  seq: string;
  event_id: string;
  source_id: string;
  source_name: string;
  type: string;
  emitted_at: Date;
  occurred_at: Date;
  recorded_at: Date;
  data: Record<string, unknown> | null;
};

const toRecord = (row: RecordRow): StoredRecord => ({
  seq: String(row.seq),
  eventId: row.event_id,
  sourceId: row.source_id,
  sourceName: row.source_name,
  type: row.type,
  emittedAt: row.emitted_at,
  occurredAt: row.occurred_at,
  recordedAt: row.recorded_at,
  data: row.data,
});

type VerdictRow = {
  verdict: string;
  as_verdict: 'accepted' | 'rejected' | null;
  mismatch: boolean;
  reasons: Record<string, unknown>[];
  alg: string | null;
  kid: string | null;
  inner_digest: string | null;
  opaque: boolean;
  verified_at: string;
};

const toIndependent = (row: VerdictRow): StoredIndependentVerdict => ({
  verdict: row.verdict,
  asVerdict: row.as_verdict,
  mismatch: row.mismatch,
  reasons: row.reasons,
  alg: row.alg,
  kid: row.kid,
  innerDigest: row.inner_digest,
  opaque: row.opaque,
  verifiedAt: new Date(row.verified_at),
});

/** The expression of each lookup; each matches a partial index of the migration exactly, so the planner uses it. */
const LOOKUP_PREDICATES = {
  call_id: `e.type = 'tool_call.recorded' AND (e.data ->> 'call_id') = $1`,
  side_effect_reference: `e.type = 'tool_call.recorded' AND (e.data -> 'side_effect' ->> 'reference') = $1`,
  request_uri: `e.type = 'request_object.verification' AND (e.data ->> 'request_uri') = $1`,
} as const;

const EXACT_UTC = `to_char(%s AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

const CONFLICT_COLUMNS = `x.seq, x.event_id, x.source_id, s.name AS source_name, x.type, x.emitted_at, x.recorded_at, x.data, x.original_seq`;

type ConflictRow = Omit<RecordRow, 'occurred_at'> & { original_seq: string };

const toConflict = (row: ConflictRow): StoredConflict => ({
  seq: String(row.seq),
  eventId: row.event_id,
  sourceId: row.source_id,
  sourceName: row.source_name,
  type: row.type,
  emittedAt: row.emitted_at,
  recordedAt: row.recorded_at,
  data: row.data,
  originalSeq: String(row.original_seq),
});

/** Reads of the chain tables for the auditor API. */
/** A waiting record names one of the chain's digests at a path some type declares (`digest`, `inner_digest`). */
const WAITING_NAMES_DIGEST_SQL = [
  ...new Set([...EVENT_TYPES.values()].flatMap(({ links }) => [links.digest, links.innerDigest].flatMap((path) => (path ? [textAtSql('w.data', path)] : [])))),
]
  .map((text) => `(${text}) IN (SELECT digest FROM digests)`)
  .join(' OR ');

/**
 * The token keys (`jti:`, `th:`) a waiting record names, as rows `(key, role)`: composed once from the types' link
 * declarations (evidence/record-links.ts), the same keys the linker will write to token_refs.
 */
const WAITING_TOKEN_KEY_ROWS_SQL = [...EVENT_TYPES.values()]
  .flatMap((definition) => {
    const { tokenIdentity, tokenReference } = definition.links;
    const named = [
      ...(tokenIdentity ? [{ at: tokenIdentity, role: 'identity' }] : []),
      ...(tokenReference ? [{ at: tokenReference.at, role: 'reference' }] : []),
    ];
    return named.flatMap(({ at, role }) =>
      TOKEN_KEY_MEMBERS.map(
        ({ member, prefix }) => `(CASE WHEN w.type = ${sqlTextLiteral(definition.type)} THEN ${sqlTextLiteral(prefix)} || (${textAtSql('w.data', [...at, member])}) END, '${role}')`,
      ),
    );
  })
  .join(',\n           ');

@Injectable()
export class ChainsRepository {
  /** The chain document's reads run on every GET: named prepared statements, planned once per connection. */
  private readonly statements: PreparedStatements;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    this.statements = new PreparedStatements(dataSource);
  }

  /**
   * Everything the chain document shows, in one statement (one round trip, one snapshot): which chains the digest
   * designates and, when it is exactly one, that chain with its records and their verdicts, the conflicting bodies
   * kept against them, each one's ledger seq, its findings, and the latest checkpoint. The document used to take seven statements,
   * and on a chain GET the statements' fixed cost was most of the database's time (docs/PERFORMANCE.md).
   */
  async loadChainDocument(digest: string): Promise<ChainDocumentRead> {
    const [row] = await this.statements.run<{
      targets: string[];
      digest: string | null;
      created_at: Date | null;
      aliases: string[] | null;
      unsigned: boolean | null;
      records: (Omit<RecordRow, 'emitted_at' | 'occurred_at' | 'recorded_at'> & { emitted_at: string; occurred_at: string; recorded_at: string; iv: VerdictRow | null; pending: boolean; ledger_seq: number | null })[] | null;
      conflicts: (ConflictRow & { emitted_at: string; recorded_at: string; ledger_seq: number | null })[] | null;
      findings: (Omit<FindingReadRow, 'occurred_at' | 'first_seen_at' | 'updated_at' | 'resolved_at'> & { occurred_at: string; first_seen_at: string; updated_at: string; resolved_at: string | null })[] | null;
      findings_due: boolean | null;
      checkpoint_tree_size: string | null;
      checkpoint_root_hash: Buffer | null;
      checkpoint_issued_at: string | null;
    }>(
      {
        name: 'jartrail_chain_document',
        text: `WITH target AS (
         SELECT chain_digest AS digest FROM digest_aliases WHERE alias = $1
         UNION ALL
         SELECT digest FROM chains WHERE digest = $1 AND NOT EXISTS (SELECT 1 FROM digest_aliases WHERE alias = $1)
       ), latest AS (
         SELECT tree_size, root_hash, ${EXACT_UTC.replace('%s', 'issued_at')} AS issued_at FROM ledger_checkpoints ORDER BY tree_size DESC LIMIT 1
       )
       SELECT ARRAY(SELECT digest FROM target ORDER BY digest) AS targets,
              c.digest, c.created_at,
              ARRAY(SELECT a.alias FROM digest_aliases a WHERE a.chain_digest = c.digest ORDER BY a.alias) AS aliases,
              EXISTS (SELECT 1 FROM chain_facets f WHERE f.chain_digest = c.digest AND f.name = 'unsigned' AND f.value = 'true') AS unsigned,
              (SELECT json_agg(r ORDER BY r.occurred_at, r.seq) FROM (
                 SELECT ${RECORD_COLUMNS}, to_jsonb(iv) AS iv, (q.event_seq IS NOT NULL) AS pending, le.seq AS ledger_seq
                 FROM chain_members m JOIN events e ON e.seq = m.event_seq JOIN sources s ON s.id = e.source_id
                   LEFT JOIN independent_verdicts iv ON iv.event_seq = e.seq
                   LEFT JOIN verification_queue q ON q.event_seq = e.seq
                   LEFT JOIN ledger_entries le ON le.record_kind = 'event' AND le.record_seq = e.seq
                 WHERE m.chain_digest = c.digest) r) AS records,
              (SELECT json_agg(k ORDER BY k.seq) FROM (
                 SELECT ${CONFLICT_COLUMNS}, le.seq AS ledger_seq
                 FROM chain_members m JOIN event_conflicts x ON x.original_seq = m.event_seq JOIN sources s ON s.id = x.source_id
                   LEFT JOIN ledger_entries le ON le.record_kind = 'conflict' AND le.record_seq = x.seq
                 WHERE m.chain_digest = c.digest) k) AS conflicts,
              (SELECT json_agg(f ORDER BY f.status, f.id) FROM (SELECT ${FINDING_COLUMNS} FROM findings f WHERE f.chain_digest = c.digest) f) AS findings,
              EXISTS (SELECT 1 FROM finding_checks fc WHERE fc.subject = c.digest) AS findings_due,
              (SELECT tree_size FROM latest) AS checkpoint_tree_size,
              (SELECT root_hash FROM latest) AS checkpoint_root_hash,
              (SELECT issued_at FROM latest) AS checkpoint_issued_at
       FROM (SELECT 1) AS one_row
       LEFT JOIN chains c ON (SELECT count(*) FROM target) = 1 AND c.digest IN (SELECT digest FROM target)`,
      },
      [digest],
    );
    const latestCheckpoint =
      row!.checkpoint_tree_size === null ? undefined : { treeSize: Number(row!.checkpoint_tree_size), rootHash: row!.checkpoint_root_hash!, issuedAt: row!.checkpoint_issued_at! };
    if (row!.digest === null) return { targets: row!.targets, latestCheckpoint };
    const records = (row!.records ?? []).map((json) => {
      const record = toRecord({ ...json, emitted_at: new Date(json.emitted_at), occurred_at: new Date(json.occurred_at), recorded_at: new Date(json.recorded_at) });
      if (record.type !== 'request_object.verification') return record;
      return { ...record, independent: json.iv ? toIndependent(json.iv) : json.pending ? ('pending' as const) : null };
    });
    const conflicts = (row!.conflicts ?? []).map((json) => toConflict({ ...json, emitted_at: new Date(json.emitted_at), recorded_at: new Date(json.recorded_at) }));
    return {
      targets: row!.targets,
      chain: { digest: row!.digest, createdAt: row!.created_at!, aliases: row!.aliases ?? [], unsigned: row!.unsigned === true, records, conflicts },
      ledgerSeqs: new Map((row!.records ?? []).map((json) => [String(json.seq), json.ledger_seq])),
      conflictLedgerSeqs: new Map((row!.conflicts ?? []).map((json) => [String(json.seq), json.ledger_seq])),
      findings: (row!.findings ?? []).map((json) =>
        toFindingRecord({
          ...json,
          occurred_at: new Date(json.occurred_at),
          first_seen_at: new Date(json.first_seen_at),
          updated_at: new Date(json.updated_at),
          resolved_at: json.resolved_at === null ? null : new Date(json.resolved_at),
        }),
      ),
      findingsDue: row!.findings_due === true,
      latestCheckpoint,
    };
  }

  /** The event seqs the chain's membership rows name, with the event id of those still present. */
  async memberSeqs(digest: string): Promise<{ seq: string; eventId: string | null }[]> {
    const rows: { seq: string; event_id: string | null }[] = await this.dataSource.query(
      `SELECT m.event_seq AS seq, e.event_id FROM chain_members m LEFT JOIN events e ON e.seq = m.event_seq WHERE m.chain_digest = $1 ORDER BY m.event_seq`,
      [digest],
    );
    return rows.map((row) => ({ seq: String(row.seq), eventId: row.event_id }));
  }

  /**
   * Committed records that wait for the linker and will join this chain: those naming the digest (or an alias of
   * it, either way), those naming a token already in the chain, and, following token identities among the waiting
   * records, those naming a waiting token of the chain; then the linked records that name such a waiting token
   * (they join the chain when it is linked). Reads the whole queue, which is short while the linker keeps up; the
   * caller asks only when the watermark says something waits.
   */
  async unlinkedRecords(digest: string): Promise<StoredRecord[]> {
    const rows: RecordRow[] = await this.dataSource.query(
      `WITH RECURSIVE waiting AS (
         SELECT e.seq, e.type, e.data
         FROM link_pending p CROSS JOIN LATERAL unnest(p.event_seqs) AS q(seq) JOIN events e ON e.seq = q.seq
         WHERE e.data IS NOT NULL
       ), waiting_keys AS (
         SELECT w.seq, k.key, k.role
         FROM waiting w CROSS JOIN LATERAL (VALUES
           ${WAITING_TOKEN_KEY_ROWS_SQL}
         ) AS k(key, role)
         WHERE k.key IS NOT NULL
       ), digests AS (
         SELECT $1::text AS digest
         UNION SELECT alias FROM digest_aliases WHERE chain_digest = $1
         UNION SELECT chain_digest FROM digest_aliases WHERE alias = $1
       ), chain_tokens AS (
         SELECT r.token_key FROM chain_members m JOIN token_refs r ON r.event_seq = m.event_seq AND r.role = 'identity'
         WHERE m.chain_digest IN (SELECT digest FROM digests)
       ), joining(seq) AS (
         SELECT w.seq FROM waiting w
         WHERE ${WAITING_NAMES_DIGEST_SQL}
         UNION
         SELECT k.seq FROM waiting_keys k WHERE k.role = 'reference' AND k.key IN (SELECT token_key FROM chain_tokens)
         UNION
         SELECT d.seq FROM joining j
           JOIN waiting_keys i ON i.seq = j.seq AND i.role = 'identity'
           JOIN waiting_keys d ON d.key = i.key AND d.role = 'reference'
       ), joining_later AS (
         SELECT seq FROM joining
         UNION
         SELECT r.event_seq FROM joining j
           JOIN waiting_keys i ON i.seq = j.seq AND i.role = 'identity'
           JOIN token_refs r ON r.token_key = i.key AND r.role <> 'identity'
         WHERE NOT EXISTS (SELECT 1 FROM chain_members m WHERE m.event_seq = r.event_seq AND m.chain_digest IN (SELECT digest FROM digests))
       )
       SELECT ${RECORD_COLUMNS}
       FROM joining_later j JOIN events e ON e.seq = j.seq JOIN sources s ON s.id = e.source_id
       ORDER BY e.occurred_at, e.seq`,
      [digest],
    );
    return rows.map(toRecord);
  }

  /** Records found by a lookup key, each with the chains it belongs to (never an alias digest). */
  async lookup(key: LookupKey): Promise<LookupHit[]> {
    const from =
      key.by === 'token_key'
        ? `token_refs r JOIN events e ON e.seq = r.event_seq JOIN sources s ON s.id = e.source_id WHERE r.token_key = $1 AND r.role = 'identity'`
        : `events e JOIN sources s ON s.id = e.source_id WHERE ${LOOKUP_PREDICATES[key.by]}`;
    const rows: (RecordRow & { chains: string[]; linked: boolean })[] = await this.dataSource.query(
      `SELECT ${RECORD_COLUMNS},
              ARRAY(SELECT m.chain_digest FROM chain_members m
                    WHERE m.event_seq = e.seq AND NOT EXISTS (SELECT 1 FROM digest_aliases a WHERE a.alias = m.chain_digest)
                    ORDER BY m.chain_digest) AS chains,
              NOT EXISTS (SELECT 1 FROM link_pending p WHERE p.first_seq <= e.seq AND e.seq = ANY(p.event_seqs)) AS linked
       FROM ${from}
       ORDER BY e.occurred_at, e.seq
       LIMIT 100`,
      [key.value],
    );
    return rows.map((row) => ({ record: toRecord(row), chains: row.chains, linked: row.linked }));
  }

  /**
   * One page of chains, newest first, in a stable order (created_at, digest). With a facet filter the page is
   * read from that facet's index in order; the other filters are probes on the primary key.
   */
  async search(search: ChainSearch): Promise<ChainSummaryRow[]> {
    const params: unknown[] = [];
    const param = (value: unknown) => `$${params.push(value)}`;
    const [driving, ...others] = search.facets;
    const table = driving
      ? { from: `chain_facets c`, digest: 'c.chain_digest', createdAt: 'c.chain_created_at' }
      : { from: `chains c`, digest: 'c.digest', createdAt: 'c.created_at' };
    const where: string[] = [];
    if (driving) where.push(`c.name = ${param(driving.name)}`, `c.value = ${param(driving.value)}`);
    for (const facet of others) {
      where.push(
        `EXISTS (SELECT 1 FROM chain_facets f WHERE f.name = ${param(facet.name)} AND f.value = ${param(facet.value)} AND f.chain_digest = ${table.digest})`,
      );
    }
    if (search.pendingVerification) {
      where.push(`EXISTS (SELECT 1 FROM chain_members pm JOIN verification_queue q ON q.event_seq = pm.event_seq WHERE pm.chain_digest = ${table.digest})`);
    }
    if (search.finding) {
      const conditions = [`fd.status = 'open'`];
      if (search.finding.rule !== undefined) conditions.push(`fd.rule = ${param(search.finding.rule)}`);
      if (search.finding.severity !== undefined) conditions.push(`fd.severity = ${param(search.finding.severity)}`);
      // Findings are few beside chains: the chains that have one are read from the findings, not probed one by one.
      where.push(`${table.digest} IN (SELECT fd.chain_digest FROM findings fd WHERE ${conditions.join(' AND ')} AND fd.chain_digest IS NOT NULL)`);
    }
    if (search.from) where.push(`${table.createdAt} >= ${param(search.from)}`);
    if (search.to) where.push(`${table.createdAt} < ${param(search.to)}`);
    if (search.after) where.push(`(${table.createdAt}, ${table.digest}) < (${param(search.after.createdAt)}::timestamptz, ${param(search.after.digest)})`);
    where.push(`NOT EXISTS (SELECT 1 FROM digest_aliases a WHERE a.alias = ${table.digest})`);
    const page: { digest: string; created_at_exact: string }[] = await this.dataSource.query(
      `SELECT ${table.digest} AS digest, ${EXACT_UTC.replace('%s', table.createdAt)} AS created_at_exact
       FROM ${table.from}
       WHERE ${where.join(' AND ')}
       ORDER BY ${table.createdAt} DESC, ${table.digest} DESC
       LIMIT ${param(search.limit)}`,
      params,
    );
    if (page.length === 0) return [];

    const digests = page.map((row) => row.digest);
    const [facetRows, countRows, findingRows]: [
      { chain_digest: string; name: string; values: string[] }[],
      { chain_digest: string; type: string; count: string }[],
      { chain_digest: string; severity: string; count: string }[],
    ] = await Promise.all([
        this.dataSource.query(
          `SELECT chain_digest, name, array_agg(value ORDER BY value) AS values
           FROM chain_facets WHERE chain_digest = ANY($1::text[]) GROUP BY chain_digest, name`,
          [digests],
        ),
        this.dataSource.query(
          `SELECT m.chain_digest, e.type, count(*) AS count
           FROM chain_members m JOIN events e ON e.seq = m.event_seq
           WHERE m.chain_digest = ANY($1::text[]) GROUP BY m.chain_digest, e.type`,
          [digests],
        ),
        this.dataSource.query(
          `SELECT chain_digest, severity, count(*) AS count FROM findings
           WHERE chain_digest = ANY($1::text[]) AND status = 'open' GROUP BY chain_digest, severity`,
          [digests],
        ),
      ]);
    return page.map((row) => ({
      digest: row.digest,
      createdAtExact: row.created_at_exact,
      facets: Object.fromEntries(facetRows.filter((facet) => facet.chain_digest === row.digest).map((facet) => [facet.name, facet.values])),
      counts: Object.fromEntries(countRows.filter((count) => count.chain_digest === row.digest).map((count) => [count.type, Number(count.count)])),
      openFindings: Object.fromEntries(findingRows.filter((count) => count.chain_digest === row.digest).map((count) => [count.severity, Number(count.count)])),
    }));
  }
}
