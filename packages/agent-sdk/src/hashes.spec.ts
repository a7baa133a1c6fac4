import { digestOf as jartrailDigestOf, sha256Base64Url as jartrailSha256 } from '../../../src/common/crypto/digest';
import { canonicalJson as jartrailCanonicalJson } from '../../../src/common/canonical-json';
import { canonicalJson, digestOf, jsonDigest, tokenHash } from './hashes';

describe('the SDK hashes as jartrail defines them', () => {
  it('a token hash is base64url(SHA-256(token)), the construction of DPoP ath (RFC 9449 section 4.2 example)', () => {
    // RFC 9449's example access token and its ath.
    expect(tokenHash('Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU')).toBe('fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo');
    expect(tokenHash('some-token')).toBe(jartrailSha256('some-token'));
  });

  it('a digest is the one jartrail computes, and refuses what cannot be a compact serialization', () => {
    const jws = 'eyJhbGciOiJQUzI1NiJ9.eyJpc3MiOiJhIn0.c2ln';
    expect(digestOf(jws)).toBe(jartrailDigestOf(jws));
    expect(() => digestOf('é.x.y')).toThrow(TypeError);
  });

  it('JSON is canonicalised by RFC 8785, as jartrail does it', () => {
    const value = { b: [1, 2.5, 'x'], a: { d: null, c: true } };
    expect(canonicalJson(value)).toBe(jartrailCanonicalJson(value));
    expect(jsonDigest(value)).toBe(jartrailSha256(jartrailCanonicalJson(value)));
  });

  it('refuses an empty token rather than hash it', () => {
    expect(() => tokenHash('')).toThrow(TypeError);
  });
});
