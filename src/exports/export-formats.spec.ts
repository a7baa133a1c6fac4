import { CSV_COLUMNS, CSV_HEADER } from './export-formats';
import { parseRange } from './exports.service';

describe('export formats', () => {
  it('keeps the first 23 CSV columns in their documented order (new ones only ever go at the end)', () => {
    expect(CSV_COLUMNS.slice(0, 23)).toEqual([
      'ledger_seq', 'event_id', 'source', 'type', 'occurred_at', 'emitted_at', 'recorded_at', 'chain_digests', 'digest', 'client_id', 'issuer', 'subject',
      'verdict', 'decision', 'token_type', 'jti', 'token_hash', 'agent_id', 'tool', 'action', 'outcome', 'payload_purged', 'data',
    ]);
    expect(CSV_HEADER).toBe(`${CSV_COLUMNS.join(',')}\r\n`);
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
