/** The formats a job can produce (docs/exports.md). */
export const EXPORT_FORMATS = ['ndjson', 'csv'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const CONTENT_TYPES: Readonly<Record<ExportFormat, string>> = {
  ndjson: 'application/x-ndjson',
  csv: 'text/csv; charset=utf-8; header=present',
};

export const FILE_EXTENSIONS: Readonly<Record<ExportFormat, string>> = { ndjson: 'ndjson', csv: 'csv' };

/** One ledgered event as the export query reads it. Times are the stored values, in UTC to the microsecond. */
export interface ExportRecord {
  readonly ledgerSeq: number;
  /** events.seq: not exported, the key to the record's ledger entry. */
  readonly recordSeq: string;
  readonly eventId: string;
  readonly source: string;
  readonly type: string;
  readonly emittedAt: string;
  readonly occurredAt: string;
  readonly recordedAt: string;
  /** The chains the record is a member of (usually one; none while it waits for the linker or joins no chain). */
  readonly chainDigests: readonly string[];
  /** null once retention purged the payload. */
  readonly data: Record<string, unknown> | null;
  /** The payload as stored JSON text, when the reader has it: written as it is rather than serialised again. */
  readonly dataText?: string | null;
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
    kind: 'event',
    event_id: record.eventId,
    source: record.source,
    type: record.type,
    emitted_at: record.emittedAt,
    occurred_at: record.occurredAt,
    recorded_at: record.recordedAt,
    chain_digests: record.chainDigests,
    payload_purged: record.dataText === null || (record.dataText === undefined && record.data === null),
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
    record.source,
    record.type,
    record.occurredAt,
    record.emittedAt,
    record.recordedAt,
    record.chainDigests.join(' '),
    ...fromPayload,
    record.data === null ? 'true' : 'false',
    record.data === null ? '' : payloadJson(record),
  ].map(neutralizeCell);
}

const NEEDS_QUOTES = /[\r\n",]/;

/** RFC 4180: CRLF line ends, fields quoted when they hold a comma, a quote or a line break, quotes doubled. */
export function csvText(rows: readonly (readonly string[])[]): string {
  // Written out rather than through csv-stringify: the same output at a fraction of the cost per cell, which is
  // what a million-record export spends most of its time on (bench:export); the spec parses it back with csv-parse.
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

/** The text of a batch of records in this format (CSV: rows only; the header is written once, first). */
export function formatBatch(format: ExportFormat, records: readonly ExportRecord[], proofs?: ReadonlyMap<number, RecordProof>): string {
  if (format === 'ndjson') return records.map((record) => ndjsonLine(record, proofs?.get(record.ledgerSeq))).join('');
  return csvText(records.map(csvCells));
}
