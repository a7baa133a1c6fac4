import { isCanonicalBase64Url, readCompactParts } from './compact-parts';

describe('canonical base64url', () => {
  it('accepts exactly what re-encoding gives back', () => {
    expect(['', 'AA', 'AAE', 'AAAA', 'a-_Z', Buffer.from([0xff, 0xee]).toString('base64url')].map(isCanonicalBase64Url)).toEqual([true, true, true, true, true, true]);
  });

  it('refuses padding, the standard alphabet, characters outside the alphabet, an impossible length and non-zero unused bits', () => {
    // One byte is two characters, the second holding 4 unused bits: "AA" is canonical, "AB" to "AP" spell the same byte.
    expect(['AA==', 'a+/Z', 'AA A', 'AA.A', 'AAAAA', 'AB', 'AP', 'AAF'].map(isCanonicalBase64Url)).toEqual([false, false, false, false, false, false, false, false]);
  });
});

describe('readCompactParts', () => {
  it('reads a JWS as 3 parts and a JWE as 5, an empty part included', () => {
    expect(readCompactParts('eyJ9.e30.')).toEqual({ ok: true, kind: 'jws', parts: ['eyJ9', 'e30', ''] });
    expect(readCompactParts('eyJ9..AA.AA.AA')).toMatchObject({ ok: true, kind: 'jwe' });
  });

  it('names the part that is not canonical, and a wrong number of parts', () => {
    expect(readCompactParts('eyJ9.e30.AB')).toEqual({ ok: false, problem: expect.stringMatching(/^the signature is not canonical/) });
    expect(readCompactParts('eyJ9.AA.AA.AA.AB')).toEqual({ ok: false, problem: expect.stringMatching(/^the authentication tag is not canonical/) });
    expect(readCompactParts('eyJ9.e30')).toEqual({ ok: false, problem: expect.stringContaining('this has 2') });
  });
});
