import { findUnstorableText, unstorableReasonOf } from './storable-text';

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
