import { findUnstorableText, storableJson, storableText, unstorableReasonOf } from './storable-text';

describe('storable text', () => {
  it('tells a NUL and a lone surrogate apart, and lets surrogate pairs through', () => {
    expect(unstorableReasonOf('a\u0000b')).toBe('nul_character');
    expect(unstorableReasonOf('a\ud800')).toBe('lone_surrogate');
    expect(unstorableReasonOf('\udc00a')).toBe('lone_surrogate');
    expect(unstorableReasonOf('smile \ud83d\ude00')).toBeUndefined();
    expect(unstorableReasonOf('')).toBeUndefined();
  });

  it('finds the first bad string in document order, values and member names alike', () => {
    const value = { a: ['ok', { b: 'x\u0000' }], c: '\ud800' };
    expect(findUnstorableText(value, [3])).toMatchObject({ field: '3.a.1.b', pointer: '/3/a/1/b', code: 'nul_character' });
    expect(findUnstorableText({ ok: 1, ['bad\ud800']: 'fine' })).toMatchObject({ pointer: '/bad\ud800', code: 'lone_surrogate' });
    expect(findUnstorableText({ a: [1, true, null, 'fine'] })).toBeUndefined();
  });

  it('walks without recursion, so depth cannot exhaust the stack', () => {
    let deep: unknown = 'bottom\u0000';
    for (let depth = 0; depth < 100_000; depth++) deep = [deep];
    expect(findUnstorableText(deep)?.code).toBe('nul_character');
  });
});

describe('storable text for what jartrail writes itself', () => {
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
