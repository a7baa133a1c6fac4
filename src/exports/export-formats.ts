import type { RecordKind } from '../ledger/ledger-leaf';

/**
 * The formats a job can produce (docs/exports.md): records as NDJSON, CSV or OCSF NDJSON (one ledger record a line or
 * row), chains as NDJSON (one chain document a line), and the PDF report. The CLI uses these names.
 */
export const EXPORT_FORMATS = ['ndjson', 'ndjson-chains', 'csv', 'pdf', 'ocsf'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** The formats written one ledger record at a time, from the records query. */
export const RECORD_FORMATS = ['ndjson', 'csv', 'ocsf'] as const satisfies readonly ExportFormat[];
export type RecordFormat = (typeof RECORD_FORMATS)[number];
export const isRecordFormat = (format: ExportFormat): format is RecordFormat => (RECORD_FORMATS as readonly string[]).includes(format);

export const CONTENT_TYPES: Readonly<Record<ExportFormat, string>> = {
  ndjson: 'application/x-ndjson',
  'ndjson-chains': 'application/x-ndjson',
  csv: 'text/csv; charset=utf-8; header=present',
  pdf: 'application/pdf',
  ocsf: 'application/x-ndjson',
};

export const FILE_EXTENSIONS: Readonly<Record<ExportFormat, string>> = { ndjson: 'ndjson', 'ndjson-chains': 'chains.ndjson', csv: 'csv', pdf: 'pdf', ocsf: 'ocsf.ndjson' };

/**
 * The recorded retention purge that blanked a record's payload: what the ledger's `ledger_purges` row says, so that a
 * reader can tell a purged payload from a missing one and find the signed purge in the manifest.
 */
export interface RecordPurge {
  readonly purge_id: string;
  readonly policy: string;
  readonly purged_at: string;
  readonly from_ledger_seq: number;
  readonly to_ledger_seq: number;
  /** What the purge removed: the whole payload (`data`); the envelope fields and the ledger leaf stay. */
  readonly fields: readonly string[];
}

/** A purge blanks the payload, all of it: jartrail_purge_payloads sets `data` to NULL and nothing else. */
export const PURGED_FIELDS = ['data'] as const;

/** One ledger record as the export query reads it. Times are the stored values, in UTC to the microsecond. */
export interface ExportRecord {
  readonly ledgerSeq: number;
  /** `event`; unfiltered exports also hold the kept conflicting bodies (`conflict`) and findings' triage (`triage`). */
  readonly kind: RecordKind;
  /** events.seq, event_conflicts.seq or finding_triage.seq: not exported, the key to the record's ledger entry. */
  readonly recordSeq: string;
  readonly eventId: string;
  /** The sending source's name; null for triage, which a reviewer records (the payload's triaged_by names them). */
  readonly source: string | null;
  /** The event type; `finding.triage` for triage. */
  readonly type: string;
  readonly emittedAt: string;
  /** Events only: when the recorded thing happened. */
  readonly occurredAt: string | null;
  readonly recordedAt: string;
  /** The chains the record is a member of (usually one; none while it waits for the linker or joins no chain). */
  readonly chainDigests: readonly string[];
  /** Conflicts only: the ledger seq of the record whose event id the refused body reused. */
  readonly conflictsWith: number | null;
  /** null once retention purged the payload. */
  readonly data: Record<string, unknown> | null;
  /** The purge that blanked the payload; null while it is there. */
  readonly purge: RecordPurge | null;
}

/** What proves a record in the checkpoint's tree (exports with proofs). */
export interface RecordProof {
  /** The ledger leaf input (as the inclusion proof route gives it); null when the database lost the record. */
  readonly leaf: object | null;
  /** base64url of the payload's salt. */
  readonly salt: string;
  /** The audit path, base64url hashes, leaf to root. */
  readonly inclusion_proof: readonly string[];
}

/**
 * The CSV columns, in order: stable (a new column is only ever added at the end). The typed columns are read from
 * the payload where the event type has that field, and are empty otherwise; `data` holds the whole payload as JSON.
 * PostgreSQL writes the rows (record-lines.ts).
 */
export const CSV_COLUMNS = [
  'ledger_seq',
  'event_id',
  'source',
  'type',
  'occurred_at',
  'emitted_at',
  'recorded_at',
  'chain_digests',
  'digest',
  'client_id',
  'issuer',
  'subject',
  'verdict',
  'decision',
  'token_type',
  'jti',
  'token_hash',
  'agent_id',
  'tool',
  'action',
  'outcome',
  'payload_purged',
  'data',
  'kind',
  'conflicts_with_ledger_seq',
  'purged_fields',
  'purge_id',
  'purge_policy',
  'purged_at',
] as const;

/** The CSV header line (the column names need no quoting). */
export const CSV_HEADER = `${CSV_COLUMNS.join(',')}\r\n`;
