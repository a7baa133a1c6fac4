import { parse } from 'csv-parse/sync';
import { Client } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { BinaryCopyError, BinaryCopyReader } from '../../src/exports/binary-copy';
import { CSV_COLUMNS, PURGED_FIELDS } from '../../src/exports/export-formats';
import { inlineParameters } from '../../src/exports/exports.repository';
import { LINE_FIELD_COUNT, LINE_FIELDS, type LineFormat, recordLinesStatement } from '../../src/exports/record-lines';
import { createTestDatabase, type TestDatabase } from '../support/database';

/** A row as the records statement reads it (exports.repository.ts), written here as the test's input. */
interface RecordRow {
  ledger_seq: number;
  kind: 'event' | 'conflict' | 'triage';
  record_seq: number;
  event_id: string;
  source: string | null;
  type: string;
  emitted_at: string;
  occurred_at: string | null;
  recorded_at: string;
  chain_digests: (string | null)[];
  conflicts_with: number | null;
  data: unknown;
  purge_id: number | null;
  purge_policy: string | null;
  purged_at: string | null;
  purge_from: number | null;
  purge_to: number | null;
}

const TIME = '2026-03-01T10:00:00.123456Z';

const row = (ledgerSeq: number, overrides: Partial<RecordRow>): RecordRow => ({
  ledger_seq: ledgerSeq,
  kind: 'event',
  record_seq: ledgerSeq + 100,
  event_id: `evt-${ledgerSeq}`,
  source: 'as-main',
  type: 'tool_call.recorded',
  emitted_at: TIME,
  occurred_at: TIME,
  recorded_at: TIME,
  chain_digests: ['digest-a'],
  conflicts_with: null,
  data: { call_id: `call-${ledgerSeq}` },
  purge_id: null,
  purge_policy: null,
  purged_at: null,
  purge_from: null,
  purge_to: null,
  ...overrides,
});

/** Text a sender controls, chosen to break a line or a cell: quotes, separators, line breaks, escapes, formulas. */
const HOSTILE = `=HYPERLINK("http://x","y"), 'q' \\ $1 \r\n\t\u0001 é 🚀 \u2028`;

const ROWS: RecordRow[] = [
  row(1, {
    event_id: '=1+1',
    source: '+cmd|" /C calc"!A0',
    data: { digest: 'd-1', client_id: '@SUM(A1)', subject: HOSTILE, tool: '-2+3', action: '\tx', outcome: '\rx', verdict: 'ok, "fine"' },
  }),
  // Members that are not strings leave their columns empty; a tool call's token names its jti and token_hash.
  row(2, { data: { client_id: 5, issuer: { nested: true }, jti: '', token: { jti: 'at-9', token_hash: 'th-9' }, note: HOSTILE } }),
  row(3, { kind: 'conflict', conflicts_with: 1, chain_digests: ['-digest-a', 'digest-b'], occurred_at: null, data: { call_id: 'call-1', changed: true } }),
  row(4, { kind: 'triage', source: null, type: 'finding.triage', occurred_at: null, chain_digests: [null], data: { status: 'acknowledged', note: HOSTILE } }),
  row(5, { data: null, purge_id: 7, purge_policy: 'payload-90d', purged_at: TIME, purge_from: 0, purge_to: 9 }),
  row(6, { data: {} }),
];

/** The records statement's columns, from JSON: the shape the lines statement wraps. */
const ROWS_STATEMENT = `SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(ledger_seq bigint, kind text, record_seq bigint, event_id text, source text,
  type text, emitted_at text, occurred_at text, recorded_at text, chain_digests text[], conflicts_with bigint, data jsonb, purge_id bigint,
  purge_policy text, purged_at text, purge_from bigint, purge_to bigint) ORDER BY r.ledger_seq`;

interface Line {
  ledgerSeq: number;
  kind: string;
  recordSeq: number;
  purged: boolean;
  line: Buffer;
}

/**
 * The lines statement and the binary COPY reader against a real PostgreSQL: every NDJSON line parses to the record's
 * documented members and every CSV row parses back (csv-parse) to its documented cells, whatever text a sender put
 * in them; the reader is fed the COPY stream in pieces of every size.
 */
describe('record lines written by PostgreSQL', () => {
  let database: TestDatabase;
  let client: Client;

  beforeAll(async () => {
    database = await createTestDatabase();
    client = new Client({ connectionString: database.url });
    await client.connect();
  });

  afterAll(async () => {
    await client.end();
    await database.drop();
  });

  const copy = async (statement: string): Promise<Buffer> => {
    const parts: Buffer[] = [];
    for await (const part of client.query(copyTo(`COPY (${statement}) TO STDOUT (FORMAT binary)`)) as AsyncIterable<Buffer>) parts.push(part);
    return Buffer.concat(parts);
  };

  const read = (stream: Buffer, pieceBytes: number): Line[] => {
    const reader = new BinaryCopyReader(LINE_FIELD_COUNT);
    const lines: Line[] = [];
    for (let at = 0; at < stream.length; at += pieceBytes) {
      for (const tuple of reader.tuples(stream.subarray(at, at + pieceBytes))) {
        lines.push({
          ledgerSeq: tuple.int8(LINE_FIELDS.ledgerSeq),
          kind: tuple.text(LINE_FIELDS.kind),
          recordSeq: tuple.int8(LINE_FIELDS.recordSeq),
          purged: tuple.bool(LINE_FIELDS.purged),
          line: Buffer.from(tuple.data.subarray(tuple.start(LINE_FIELDS.line), tuple.end(LINE_FIELDS.line))),
        });
      }
    }
    reader.end();
    return lines;
  };

  const linesOf = async (format: LineFormat, pieceBytes = 65536): Promise<Line[]> =>
    read(await copy(inlineParameters(client, recordLinesStatement(ROWS_STATEMENT, format), [JSON.stringify(ROWS)])), pieceBytes);

  it('writes one NDJSON line a record with the documented members, the payload as stored and every string escaped', async () => {
    const lines = await linesOf('ndjson');
    expect(lines.map((line) => [line.ledgerSeq, line.kind, line.recordSeq, line.purged])).toEqual(ROWS.map((input) => [input.ledger_seq, input.kind, input.record_seq, input.data === null]));
    for (const [index, line] of lines.entries()) {
      const text = line.line.toString('utf8');
      expect(text.endsWith('}\n')).toBe(true);
      expect(text.slice(0, -1)).not.toContain('\n');
      const input = ROWS[index]!;
      expect(JSON.parse(text)).toEqual({
        ledger_seq: input.ledger_seq,
        kind: input.kind,
        event_id: input.event_id,
        source: input.source,
        type: input.type,
        emitted_at: input.emitted_at,
        occurred_at: input.occurred_at,
        recorded_at: input.recorded_at,
        chain_digests: input.chain_digests.filter((digest) => digest !== null),
        ...(input.kind === 'conflict' && { conflicts_with_ledger_seq: input.conflicts_with }),
        payload_purged: input.data === null,
        purge:
          input.purge_id === null
            ? null
            : { purge_id: String(input.purge_id), policy: input.purge_policy, purged_at: input.purged_at, from_ledger_seq: input.purge_from, to_ledger_seq: input.purge_to, fields: [...PURGED_FIELDS] },
        data: input.data,
      });
    }
    // The members come in the documented order (what a reader diffing two exports sees).
    expect(Object.keys(JSON.parse(lines[2]!.line.toString('utf8')) as object)).toEqual([
      'ledger_seq', 'kind', 'event_id', 'source', 'type', 'emitted_at', 'occurred_at', 'recorded_at', 'chain_digests', 'conflicts_with_ledger_seq', 'payload_purged', 'purge', 'data',
    ]);
  });

  it('writes RFC 4180 rows (CRLF, quotes doubled) whose cells parse back as documented, formulas neutralised', async () => {
    const lines = await linesOf('csv');
    const text = Buffer.concat(lines.map((line) => line.line)).toString('utf8');
    expect(text.endsWith('\r\n')).toBe(true);
    // As written: every cell a sender's text reaches is quoted (OWASP), the cells jartrail writes are not, and an
    // absent payload member is an empty cell rather than "".
    expect(text.startsWith(`1,"'=1+1","'+cmd|"" /C calc""!A0","tool_call.recorded",${TIME},${TIME},${TIME},"digest-a","d-1","'@SUM(A1)",,`)).toBe(true);
    expect(text).toContain(`\r\n2,"evt-2","as-main","tool_call.recorded",${TIME},${TIME},${TIME},"digest-a",,,,,,,,"at-9","th-9",,,,,false,"{`);
    const parsed = parse(text, { record_delimiter: '\r\n', relax_column_count: false }) as string[][];
    expect(parsed).toHaveLength(ROWS.length);
    const cells = parsed.map((cellsOfRow) => {
      expect(cellsOfRow).toHaveLength(CSV_COLUMNS.length);
      return Object.fromEntries(CSV_COLUMNS.map((column, index) => [column, cellsOfRow[index]]));
    });
    expect(cells[0]).toMatchObject({
      ledger_seq: '1',
      event_id: "'=1+1",
      source: `'+cmd|" /C calc"!A0`,
      type: 'tool_call.recorded',
      occurred_at: TIME,
      chain_digests: 'digest-a',
      digest: 'd-1',
      client_id: "'@SUM(A1)",
      subject: `'${HOSTILE}`,
      tool: "'-2+3",
      action: "'\tx",
      outcome: "'\rx",
      verdict: 'ok, "fine"',
      payload_purged: 'false',
      kind: 'event',
      conflicts_with_ledger_seq: '',
      purged_fields: '',
    });
    expect(JSON.parse(cells[0]!.data!)).toEqual(ROWS[0]!.data);
    expect(cells[1]).toMatchObject({ client_id: '', issuer: '', jti: 'at-9', token_hash: 'th-9' });
    expect(JSON.parse(cells[1]!.data!)).toEqual(ROWS[1]!.data);
    expect(cells[2]).toMatchObject({ kind: 'conflict', conflicts_with_ledger_seq: '1', chain_digests: "'-digest-a digest-b", occurred_at: '' });
    expect(cells[3]).toMatchObject({ kind: 'triage', source: '', type: 'finding.triage', chain_digests: '' });
    expect(cells[4]).toMatchObject({ payload_purged: 'true', data: '', purged_fields: PURGED_FIELDS.join(' '), purge_id: '7', purge_policy: 'payload-90d', purged_at: TIME });
    expect(cells[5]).toMatchObject({ data: '{}' });
  });

  it('reads the same tuples whatever the pieces the COPY stream arrives in, and refuses a cut or foreign stream', async () => {
    const stream = await copy(inlineParameters(client, recordLinesStatement(ROWS_STATEMENT, 'ndjson'), [JSON.stringify(ROWS)]));
    const whole = read(stream, stream.length);
    for (const pieceBytes of [1, 2, 3, 7, 19, 64, 300, 5000]) expect(read(stream, pieceBytes)).toEqual(whole);
    // A tuple larger than the reader's first try at completing one that spans two pieces (4 KiB), and ten of them.
    const large = await copy(`SELECT g::bigint, 'event'::text, g::bigint, false, convert_to(repeat('x', 9000 + g), 'UTF8') FROM generate_series(1, 10) g`);
    const largeWhole = read(large, large.length);
    expect(largeWhole.map((line) => line.line.length)).toEqual(Array.from({ length: 10 }, (_, index) => 9001 + index));
    for (const pieceBytes of [1, 100, 4095, 4097, 9000, 20000]) expect(read(large, pieceBytes)).toEqual(largeWhole);
    expect(() => read(stream.subarray(0, stream.length - 2), 64)).toThrow(BinaryCopyError);
    expect(() => read(stream.subarray(0, stream.length - 40), 64)).toThrow(BinaryCopyError);
    expect(() => read(Buffer.from('ledger_seq,kind\n1,event\n'), 64)).toThrow(BinaryCopyError);
    const threeFields = await copy(`SELECT 1::bigint, 'a'::text, 2::bigint`);
    expect(() => read(threeFields, 64)).toThrow(/3 fields where 5 were expected/);
  });

  it('writes parameters into a COPY statement as quoted literals, once: a value cannot end its literal or name another parameter', async () => {
    const values = [`it's \\' ); DROP TABLE events; --`, '$1 and $2', 42];
    const statement = inlineParameters(client, `SELECT $1::text AS a, $2::text AS b, $3::bigint AS c`, values);
    const { rows } = await client.query<{ a: string; b: string; c: string }>(statement);
    expect(rows).toEqual([{ a: values[0], b: values[1], c: '42' }]);
    expect(() => inlineParameters(client, `SELECT $1`, [['a', 'b']])).toThrow(/not text or a number/);
  });
});
