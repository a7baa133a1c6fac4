import { createHash, randomBytes } from 'node:crypto';
import { DIGEST_LENGTH, digestOf, digestProblem, isDigest, sha256Base64Url } from './digest';

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const EMPTY_STRING_DIGEST = '47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU';

describe('digestOf', () => {
  it.each([
    ['the empty string', '', EMPTY_STRING_DIGEST],
    ['"abc" (FIPS 180-2 test vector)', 'abc', 'ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0'],
    // RFC 9449 section 7.1: the `ath` of this access token; the spec's digest is the same construction.
    ['the access token of the RFC 9449 ath example', 'Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU', 'fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo'],
  ])('gives the published base64url SHA-256 of %s', (_name, input, expected) => {
    expect(digestOf(input)).toBe(expected);
  });

  it('hashes a compact serialization exactly as received, as node:crypto computes base64url(SHA-256)', () => {
    const compact = 'eyJhbGciOiJQUzI1NiIsImtpZCI6ImsxIn0.eyJjbGllbnRfaWQiOiJjMSJ9.c2lnbmF0dXJl';
    const crossCheck = createHash('sha256').update(Buffer.from(compact, 'ascii')).digest('base64url');
    expect(digestOf(compact)).toBe(crossCheck);
    expect(digestOf(`${compact} `)).not.toBe(crossCheck);
  });

  it('produces 43 characters without padding', () => {
    const value = digestOf('x'.repeat(10_000));
    expect(value).toHaveLength(DIGEST_LENGTH);
    expect(value).not.toContain('=');
    expect(isDigest(value)).toBe(true);
  });

  it('hashes token bytes the same way as a digest of text (sha256Base64Url)', () => {
    expect(sha256Base64Url(new Uint8Array())).toBe(EMPTY_STRING_DIGEST);
    expect(sha256Base64Url('abc')).toBe(digestOf('abc'));
  });
});

describe('digestProblem', () => {
  it('accepts a well-formed digest', () => {
    expect(digestProblem(EMPTY_STRING_DIGEST)).toBeUndefined();
    expect(isDigest(EMPTY_STRING_DIGEST)).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['one character short', EMPTY_STRING_DIGEST.slice(0, 42)],
    ['one character long', `${EMPTY_STRING_DIGEST}A`],
    ['padded standard base64', `${EMPTY_STRING_DIGEST}=`],
    ['hex SHA-256', createHash('sha256').update('').digest('hex')],
  ])('reports a length problem for a value that is %s', (_name, value) => {
    expect(digestProblem(value)).toBe('length');
    expect(isDigest(value)).toBe(false);
  });

  it.each([
    ['a "+" of standard base64', `+${EMPTY_STRING_DIGEST.slice(1)}`],
    ['a "/" of standard base64', `${EMPTY_STRING_DIGEST.slice(0, 10)}/${EMPTY_STRING_DIGEST.slice(11)}`],
    ['padding inside 43 characters', `${EMPTY_STRING_DIGEST.slice(0, 42)}=`],
    ['a space', ` ${EMPTY_STRING_DIGEST.slice(1)}`],
    ['a non-ASCII letter', `é${EMPTY_STRING_DIGEST.slice(1)}`],
  ])('reports an alphabet problem for 43 characters with %s', (_name, value) => {
    expect(value).toHaveLength(DIGEST_LENGTH);
    expect(digestProblem(value)).toBe('alphabet');
    expect(isDigest(value)).toBe(false);
  });

  it('reports a non-canonical encoding whose unused low bits are set, though it decodes to the same bytes', () => {
    // "U" ends the digest of the empty string; "V" differs only in the two bits a canonical encoder leaves at zero.
    const aliased = `${EMPTY_STRING_DIGEST.slice(0, 42)}V`;
    expect(Buffer.from(aliased, 'base64url').equals(Buffer.from(EMPTY_STRING_DIGEST, 'base64url'))).toBe(true);
    expect(digestProblem(aliased)).toBe('non_canonical');
    expect(isDigest(aliased)).toBe(false);
  });

  it('accepts exactly the last characters that a canonical encoding of 32 bytes can end with', () => {
    const prefix = EMPTY_STRING_DIGEST.slice(0, 42);
    for (const last of BASE64URL) {
      const candidate = prefix + last;
      const roundTrips = Buffer.from(candidate, 'base64url').toString('base64url') === candidate;
      expect({ candidate, passes: isDigest(candidate) }).toEqual({ candidate, passes: roundTrips });
    }
  });

  it('accepts the canonical encoding of every random 32-byte value', () => {
    for (let round = 0; round < 2000; round += 1) {
      const encoded = randomBytes(32).toString('base64url');
      expect({ encoded, problem: digestProblem(encoded) }).toEqual({ encoded, problem: undefined });
    }
  });

  it('accepts the extreme byte values', () => {
    expect(isDigest(Buffer.alloc(32, 0x00).toString('base64url'))).toBe(true);
    expect(isDigest(Buffer.alloc(32, 0xff).toString('base64url'))).toBe(true);
  });
});
