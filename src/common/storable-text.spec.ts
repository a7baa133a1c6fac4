import { storableJson, storableText } from './storable-text';

describe('storable text', () => {
  it('replaces NUL and lone surrogates with U+FFFD, and keeps surrogate pairs', () => {
    expect(storableText('a\u0000b')).toBe('a\ufffdb');
    expect(storableText('\ud800x\udc00')).toBe('\ufffdx\ufffd');
    expect(storableText('\udc00\ud800')).toBe('\ufffd\ufffd');
    expect(storableText('emoji \ud83d\ude00 stays')).toBe('emoji \ud83d\ude00 stays');
    expect(storableText('plain')).toBe('plain');
  });

  it('reaches every string of a JSON value, member names included', () => {
    expect(storableJson({ 'k\u0000': ['\ud800', 1, null, { deep: 'x\u0000' }], n: 2, b: true })).toEqual({ 'k\ufffd': ['\ufffd', 1, null, { deep: 'x\ufffd' }], n: 2, b: true });
  });
});
