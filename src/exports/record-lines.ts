import { CSV_COLUMNS, PURGED_FIELDS } from './export-formats';

/**
 * The NDJSON and CSV lines of an export's records, written by PostgreSQL: the records statement wrapped in one that
 * builds each record's line, read with COPY (FORMAT binary). A million-record export then costs the service no
 * parsing or formatting per record, only a copy of each line's bytes into its file (docs/PERFORMANCE.md, exports).
 * What a line holds is docs/exports.md's; test/exports/record-lines.spec.ts parses both formats back and compares
 * them with the records the API shows.
 */
export type LineFormat = 'ndjson' | 'csv';

/** The columns of the lines statement, in order (BinaryCopyReader's fields). */
export const LINE_FIELDS = { ledgerSeq: 0, kind: 1, recordSeq: 2, purged: 3, line: 4 } as const;
export const LINE_FIELD_COUNT = Object.keys(LINE_FIELDS).length;

/** A JSON string (or number) of a SQL value that is never NULL, escaped by PostgreSQL's own JSON output. */
const json = (value: string) => `to_json(${value})::text`;
const jsonOrNull = (value: string) => `coalesce(to_json(${value})::text, 'null')`;

/**
 * One NDJSON line (ending with \n), members in the order docs/exports.md lists; the payload as stored (jsonb's
 * text). `r` is a row of the records statement.
 */
const NDJSON_LINE = `'{"ledger_seq":' || r.ledger_seq
  || ',"kind":' || ${json('r.kind')}
  || ',"event_id":' || ${json('r.event_id')}
  || ',"source":' || ${jsonOrNull('r.source')}
  || ',"type":' || ${json('r.type')}
  || ',"emitted_at":' || ${json('r.emitted_at')}
  || ',"occurred_at":' || ${jsonOrNull('r.occurred_at')}
  || ',"recorded_at":' || ${json('r.recorded_at')}
  || ',"chain_digests":' || array_to_json(array_remove(r.chain_digests, NULL))::text
  || CASE WHEN r.kind = 'conflict' THEN ',"conflicts_with_ledger_seq":' || coalesce(r.conflicts_with::text, 'null') ELSE '' END
  || ',"payload_purged":' || (r.data IS NULL)::text
  || ',"purge":' || CASE WHEN r.purge_id IS NULL THEN 'null' ELSE '{"purge_id":' || ${json('r.purge_id::text')} || ',"policy":' || ${json('r.purge_policy')}
       || ',"purged_at":' || ${json('r.purged_at')} || ',"from_ledger_seq":' || r.purge_from || ',"to_ledger_seq":' || r.purge_to
       || ',"fields":${JSON.stringify(PURGED_FIELDS)}}' END
  || ',"data":' || coalesce(r.data::text, 'null')
  || E'}\\n'`;

/** Payload fields copied into the CSV column of the same name when they hold a string (docs/exports.md). */
const PAYLOAD_COLUMNS = ['digest', 'client_id', 'issuer', 'subject', 'verdict', 'decision', 'token_type', 'jti', 'token_hash', 'agent_id', 'tool', 'action', 'outcome'] as const;

/**
 * A string member of the payload at `path` (keys from the top), NULL when it is absent or not a string. The key is
 * looked for first (`?` copies nothing): most records hold a few of the columns' members, and reading an absent one
 * with `->` still builds a value per column and row (about 2 s of a million-record CSV export).
 */
function payloadString(path: readonly string[]): string {
  const parent = ['r.data', ...path.slice(0, -1).map((key) => `'${key}'`)].join(' -> ');
  const key = `'${path.at(-1)!}'`;
  return `CASE WHEN ${parent} ? ${key} AND jsonb_typeof(${parent} -> ${key}) = 'string' THEN ${parent} ->> ${key} END`;
}

/** A payload column's text: a string member of the payload, else NULL; a tool call's token names jti and token_hash. */
function payloadColumn(field: (typeof PAYLOAD_COLUMNS)[number]): string {
  const own = payloadString([field]);
  if (field === 'jti' || field === 'token_hash') return `coalesce(nullif(${own}, ''), ${payloadString(['token', field])})`;
  return own;
}

/**
 * A CSV cell of text that may come from a sender, written as OWASP "CSV Injection" recommends: always quoted, its
 * quotes doubled (RFC 4180), and a value starting with =, +, -, @, a tab or a carriage return gets a leading single
 * quote (spreadsheets show it as text, never run it). Quoting every such cell costs PostgreSQL less than finding out
 * which ones need it (two regular expressions a cell were about 3 s of a million-record export; `ascii` reads one
 * character). NULL stays NULL. `c` is evaluated twice: a column of the row at hand.
 */
function cell(c: string): string {
  return `'"' || replace(CASE WHEN ascii(${c}) IN (9, 13, 43, 45, 61, 64) THEN '''' || ${c} ELSE ${c} END, '"', '""') || '"'`;
}

/** A cell of text that may be NULL, which is written as an empty cell. */
const cellOrEmpty = (c: string) => `coalesce(${cell(c)}, '')`;

/**
 * The cells of one record in CSV_COLUMNS order. Cells jartrail writes itself (numbers, times, kinds, booleans) can
 * neither start a formula nor need quotes; every other cell goes through cell(). The payload's JSON text is always
 * quoted (it holds quotes whenever it holds a member).
 */
const CSV_CELLS: Readonly<Record<(typeof CSV_COLUMNS)[number], string>> = {
  ledger_seq: 'r.ledger_seq::text',
  event_id: cell('r.event_id'),
  source: cellOrEmpty('r.source'),
  type: cell('r.type'),
  occurred_at: `coalesce(r.occurred_at, '')`,
  emitted_at: 'r.emitted_at',
  recorded_at: 'r.recorded_at',
  // base64url digests may start with '-': a sender can pick a request object whose digest does.
  chain_digests: cell('r.chain_digests_text'),
  ...(Object.fromEntries(PAYLOAD_COLUMNS.map((field) => [field, cellOrEmpty(`r.${field}`)])) as Record<(typeof PAYLOAD_COLUMNS)[number], string>),
  payload_purged: `CASE WHEN r.data IS NULL THEN 'true' ELSE 'false' END`,
  data: `CASE WHEN r.data IS NULL THEN '' WHEN jsonb_typeof(r.data) = 'object' THEN '"' || replace(r.data::text, '"', '""') || '"' ELSE ${cell('r.data::text')} END`,
  kind: 'r.kind',
  conflicts_with_ledger_seq: `coalesce(r.conflicts_with::text, '')`,
  purged_fields: `CASE WHEN r.purge_id IS NULL THEN '' ELSE '${PURGED_FIELDS.join(' ')}' END`,
  purge_id: `coalesce(r.purge_id::text, '')`,
  purge_policy: cellOrEmpty('r.purge_policy'),
  purged_at: `coalesce(r.purged_at, '')`,
};

const CSV_LINE = `${CSV_COLUMNS.map((column) => CSV_CELLS[column]).join(` || ',' || `)} || E'\\r\\n'`;

/**
 * The lines statement over a records statement (ordered by ledger seq). For CSV, the payload columns and the chains'
 * text are read in a subquery between the two, once a row (each cell refers to its column twice; the subquery's ORDER
 * BY keeps the planner from folding it into the outer one, which would read them again per reference). Each level
 * orders by the ledger seq: the records statement's order, which the planner keeps without sorting again.
 */
export function recordLinesStatement(recordsText: string, format: LineFormat): string {
  const columns = `r.ledger_seq, r.kind, r.record_seq, r.data IS NULL AS purged`;
  if (format === 'ndjson') return `SELECT ${columns}, ${NDJSON_LINE} AS line FROM (${recordsText}) r ORDER BY r.ledger_seq`;
  const payload = [`array_to_string(r.chain_digests, ' ') AS chain_digests_text`, ...PAYLOAD_COLUMNS.map((field) => `${payloadColumn(field)} AS ${field}`)].join(', ');
  return `SELECT ${columns}, ${CSV_LINE} AS line FROM (SELECT r.*, ${payload} FROM (${recordsText}) r ORDER BY r.ledger_seq) r ORDER BY r.ledger_seq`;
}
