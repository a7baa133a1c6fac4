import { parse } from 'csv-parse/sync';
import { csvCells, CSV_COLUMNS, csvText, type ExportRecord, ndjsonLine, neutralizeCell } from './export-formats';
import { parseRange } from './exports.service';

const PURGE = { purge_id: '4', policy: 'payload-90d', purged_at: '2026-04-01T00:00:00.000000Z', from_ledger_seq: 0, to_ledger_seq: 999, fields: ['data'] };

const record = (data: Record<string, unknown> | null): ExportRecord => ({
  ledgerSeq: 7,
  kind: 'event',
  conflictsWith: null,
  purge: data === null ? PURGE : null,
  recordSeq: '3',
  eventId: 'evt-1',
  source: 'as-main',
  type: 'tool_call.recorded',
  emittedAt: '2026-01-01T00:00:00.000000Z',
  occurredAt: '2026-01-01T00:00:00.123456Z',
  recordedAt: '2026-01-01T00:00:01.000000Z',
  chainDigests: ['a', 'b'],
  data,
});

describe('export formats', () => {
  it.each(['=1+1', '+1', '-1', '@SUM(A1)', '\tx', '\rx'])('neutralises a cell a spreadsheet would run as a formula: %j', (value) => {
    expect(neutralizeCell(value)).toBe(`'${value}`);
  });

  it.each(['', 'mail', "'=already", ' =spaced', '1-2'])('leaves other cells as they are: %j', (value) => {
    expect(neutralizeCell(value)).toBe(value);
  });

  it('writes RFC 4180 rows (CRLF, quotes doubled) that a CSV parser reads back cell for cell', () => {
    const cells = csvCells(record({ tool: '=cmd|"/c calc"!A1', action: 'say "hi",\r\nbye', token: { jti: 'at-1' } }));
    expect(cells).toHaveLength(CSV_COLUMNS.length);
    const text = csvText([cells]);
    expect(text.endsWith('\r\n')).toBe(true);
    expect(parse(text, { record_delimiter: '\r\n' })).toEqual([cells]);
    const byColumn = Object.fromEntries(CSV_COLUMNS.map((column, index) => [column, cells[index]]));
    expect(byColumn).toMatchObject({ tool: `'=cmd|"/c calc"!A1`, action: 'say "hi",\r\nbye', jti: 'at-1', chain_digests: 'a b', payload_purged: 'false' });
  });

  it('marks a purged payload in both formats, naming the recorded purge and the field it removed', () => {
    expect(JSON.parse(ndjsonLine(record(null)))).toMatchObject({ ledger_seq: 7, kind: 'event', payload_purged: true, purge: PURGE, data: null, chain_digests: ['a', 'b'] });
    const cells = csvCells(record(null));
    const byColumn = Object.fromEntries(CSV_COLUMNS.map((column, index) => [column, cells[index]]));
    expect(byColumn).toMatchObject({ payload_purged: 'true', data: '', kind: 'event', purged_fields: 'data', purge_id: '4', purge_policy: 'payload-90d', purged_at: PURGE.purged_at });
  });

  it('keeps the first 23 CSV columns in their documented order (new ones only ever go at the end)', () => {
    expect(CSV_COLUMNS.slice(0, 23)).toEqual([
      'ledger_seq', 'event_id', 'source', 'type', 'occurred_at', 'emitted_at', 'recorded_at', 'chain_digests', 'digest', 'client_id', 'issuer', 'subject',
      'verdict', 'decision', 'token_type', 'jti', 'token_hash', 'agent_id', 'tool', 'action', 'outcome', 'payload_purged', 'data',
    ]);
  });
});

describe('parseRange', () => {
  it.each([
    ['bytes=0-9', { start: 0, end: 9 }],
    ['bytes=5-', { start: 5, end: 99 }],
    ['bytes=90-200', { start: 90, end: 99 }],
    ['bytes=-10', { start: 90, end: 99 }],
    ['bytes=-500', { start: 0, end: 99 }],
  ])('reads %s of a 100-byte file', (header, range) => {
    expect(parseRange(header, 100)).toEqual(range);
  });

  it.each(['bytes=100-', 'bytes=200-300', 'bytes=-0'])('finds %s unsatisfiable', (header) => {
    expect(parseRange(header, 100)).toBe('unsatisfiable');
  });

  it.each([undefined, 'bytes=0-1,5-9', 'items=0-1', 'bytes=9-2', 'bytes=-'])('sends the whole file for %s', (header) => {
    expect(parseRange(header, 100)).toBeNull();
  });
});
