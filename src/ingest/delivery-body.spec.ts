import { ProblemException } from '../common/problem/problem';
import { mediaTypeOf, parseEventBody, splitBatch } from './delivery-body';

describe('delivery bodies', () => {
  describe('mediaTypeOf', () => {
    it.each([
      ['application/json', 'application/json'],
      ['Application/JSON; charset=utf-8', 'application/json'],
      ['application/x-ndjson; charset="UTF-8"', 'application/x-ndjson'],
      [undefined, undefined],
      ['application/json; charset=latin1', undefined],
    ])('reads %s as %s', (contentType, expected) => {
      expect(mediaTypeOf(contentType)).toBe(expected);
    });
  });

  it('parses one event strictly: duplicate member names are malformed JSON', () => {
    expect(parseEventBody(Buffer.from('{"type":"a","data":{}}'))).toEqual({ type: 'a', data: {} });
    expect(() => parseEventBody(Buffer.from('{"type":"a","type":"b"}'))).toThrow(ProblemException);
  });

  it('splits NDJSON into independent items: a bad line refuses that item only, blank lines and CRLF are fine', () => {
    const items = splitBatch('application/x-ndjson', Buffer.from('{"a":1}\r\n\n{"b":\n{"c":3}\n'));
    expect(items).toHaveLength(3);
    expect(items[0]).toEqual({ value: { a: 1 }, bytes: 7 });
    expect('problem' in items[1]! && items[1].problem.code).toBe('malformed-json');
    expect(items[2]).toEqual({ value: { c: 3 }, bytes: 7 });
  });

  it('refuses a line that is not UTF-8 on its own', () => {
    const items = splitBatch('application/x-ndjson', Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xff]), Buffer.from('"}\n{"b":2}')]));
    expect('problem' in items[0]!).toBe(true);
    expect(items[1]).toEqual({ value: { b: 2 }, bytes: 7 });
  });

  it('splits a JSON array: a member name twice in one item refuses that item only; not an array is refused whole', () => {
    const items = splitBatch('application/json', Buffer.from('[{"a":1},{"b":1,"b":2}]'));
    expect(items[0]).toEqual({ value: { a: 1 }, bytes: 7 });
    expect('problem' in items[1]!).toBe(true);
    expect(() => splitBatch('application/json', Buffer.from('{"a":1}'))).toThrow(/array of envelopes/);
  });
});
