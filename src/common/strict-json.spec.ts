import { decodeUtf8, findDuplicateMembers, parseStrictJson } from './strict-json';

describe('strict JSON', () => {
  it('finds a member name given twice, at its path, at any depth', () => {
    expect(findDuplicateMembers('{"decision":"approved","decision":"denied"}')).toEqual([['decision']]);
    expect(findDuplicateMembers('[{"a":1},{"b":{"c":[1,{"d":1,"e":2,"d":3}]}}]')).toEqual([[1, 'b', 'c', 1, 'd']]);
  });

  it('reports at most 16 per body, but scans every item of an array to the end', () => {
    const many = `{${Array.from({ length: 40 }, () => '"a":1').join(',')}}`;
    expect(findDuplicateMembers(many)).toHaveLength(16);
    expect(findDuplicateMembers(`[${many},{"ok":1},{"b":1,"b":2}]`).map((path) => path[0])).toEqual([...Array(16).fill(0), 2]);
  });

  it('compares names decoded, so an escape does not hide a duplicate', () => {
    expect(findDuplicateMembers('{"decision":1,"d\\u0065cision":2}')).toEqual([['decision']]);
  });

  it('is not fooled by quotes, backslashes, braces and commas inside strings, or by equal values', () => {
    const text = JSON.stringify({ a: 'x", "a": "y', b: '\\', c: '{"a":1,"a":2}', d: ['a', 'a'], e: { a: 'a' }, f: '\\"' });
    expect(findDuplicateMembers(text)).toEqual([]);
    expect(findDuplicateMembers(JSON.stringify({ x: { k: 1 }, y: { k: 1 } }))).toEqual([]);
    expect(findDuplicateMembers('{ "a" : 1 , "b" : { } , "c" : [ ] , "a" : 2 }')).toEqual([['a']]);
  });

  it('refuses duplicates and text that is not UTF-8 when parsing', () => {
    expect(() => parseStrictJson('{"a":1,"a":2}')).toThrow(/appears twice/);
    expect(() => decodeUtf8(Buffer.from([0x7b, 0xc3, 0x28, 0x7d]))).toThrow(/not valid UTF-8/);
    expect(parseStrictJson(Buffer.from('{"zoë":"✓"}'))).toEqual({ zoë: '✓' });
  });
});
