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
  /** The payload as stored JSON text, when the reader has it: written as it is rather than serialised again. */
  readonly dataText?: string | null;
  /** The purge that blanked the payload; null while it is there. */
  readonly purge: RecordPurge | null;
}

/** Whether retention purged the record's payload (without parsing the payload when its text is at hand). */
export function payloadPurged(record: ExportRecord): boolean {
  return record.dataText !== undefined ? record.dataText === null : record.data === null;
}

/** The payload's JSON text: as stored when the record carries it. */
function payloadJson(record: ExportRecord): string {
  return record.dataText !== undefined ? (record.dataText ?? 'null') : JSON.stringify(record.data);
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

/** One line of the NDJSON records format; with a proof, its `proof` member. */
export function ndjsonLine(record: ExportRecord, proof?: RecordProof): string {
  const head = JSON.stringify({
    ledger_seq: record.ledgerSeq,
    kind: record.kind,
    event_id: record.eventId,
    source: record.source,
    type: record.type,
    emitted_at: record.emittedAt,
    occurred_at: record.occurredAt,
    recorded_at: record.recordedAt,
    chain_digests: record.chainDigests,
    ...(record.kind === 'conflict' && { conflicts_with_ledger_seq: record.conflictsWith }),
    payload_purged: payloadPurged(record),
    purge: record.purge,
  });
  // The payload's text goes in as stored (valid JSON from PostgreSQL's jsonb), not parsed and serialised again.
  return `${head.slice(0, -1)},"data":${payloadJson(record)}${proof ? `,"proof":${JSON.stringify(proof)}` : ''}}\n`;
}

/**
 * The CSV columns, in order: stable (a new column is only ever added at the end). The typed columns are read from
 * the payload where the event type has that field, and are empty otherwise; `data` holds the whole payload as JSON.
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

/** Payload fields copied into a column of the same name, when they hold a string. */
const PAYLOAD_COLUMNS = ['digest', 'client_id', 'issuer', 'subject', 'verdict', 'decision', 'token_type', 'jti', 'token_hash', 'agent_id', 'tool', 'action', 'outcome'] as const;

/**
 * A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV Injection"): such a cell gets a
 * leading single quote, which spreadsheets show as text. Evidence is attacker-controlled, so every text cell is
 * treated this way; numbers and booleans written by jartrail itself cannot start with them.
 */
const FORMULA_START = /^[=+\-@\t\r]/;

export function neutralizeCell(value: string): string {
  return FORMULA_START.test(value) ? `'${value}` : value;
}

/** The cells of one record, in CSV_COLUMNS order, neutralised. */
export function csvCells(record: ExportRecord): string[] {
  const data = record.data ?? {};
  const fromPayload = PAYLOAD_COLUMNS.map((field) => {
    const value = data[field];
    return typeof value === 'string' ? value : '';
  });
  // A token's jti sits inside `token` in a tool call and a revocation names it at the top level.
  const token = typeof data.token === 'object' && data.token !== null ? (data.token as Record<string, unknown>) : {};
  const jtiIndex = PAYLOAD_COLUMNS.indexOf('jti');
  const hashIndex = PAYLOAD_COLUMNS.indexOf('token_hash');
  if (fromPayload[jtiIndex] === '' && typeof token.jti === 'string') fromPayload[jtiIndex] = token.jti;
  if (fromPayload[hashIndex] === '' && typeof token.token_hash === 'string') fromPayload[hashIndex] = token.token_hash;
  return [
    String(record.ledgerSeq),
    record.eventId,
    record.source ?? '',
    record.type,
    record.occurredAt ?? '',
    record.emittedAt,
    record.recordedAt,
    record.chainDigests.join(' '),
    ...fromPayload,
    payloadPurged(record) ? 'true' : 'false',
    payloadPurged(record) ? '' : payloadJson(record),
    record.kind,
    record.conflictsWith === null ? '' : String(record.conflictsWith),
    record.purge ? record.purge.fields.join(' ') : '',
    record.purge?.purge_id ?? '',
    record.purge?.policy ?? '',
    record.purge?.purged_at ?? '',
  ].map(neutralizeCell);
}

const NEEDS_QUOTES = /[\r\n",]/;

/** RFC 4180: CRLF line ends, fields quoted when they hold a comma, a quote or a line break, quotes doubled. */
export function csvText(rows: readonly (readonly string[])[]): string {
  // Written out rather than through csv-stringify: the same output at a fraction of the cost per cell, which is
  // what a million-record export spent most of its time on (bench:export); the specs parse it back with csv-parse.
  let text = '';
  for (const row of rows) {
    for (let column = 0; column < row.length; column++) {
      const cell = row[column]!;
      if (column > 0) text += ',';
      text += NEEDS_QUOTES.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell;
    }
    text += '\r\n';
  }
  return text;
}

export const CSV_HEADER = csvText([[...CSV_COLUMNS]]);
