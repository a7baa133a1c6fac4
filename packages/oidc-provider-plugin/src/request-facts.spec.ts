import { digestOf, sha256Base64Url } from '@jartrail/agent-sdk';
import { claimFacts, plainRequestFacts, requestObjectFacts } from './request-facts';

const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
const jws = (header: object, payload: object) => `${part(header)}.${part(payload)}.c2lnbmF0dXJl`;

describe('request facts', () => {
  it('a JWS: its digest as received, its header, its claim facts with state and nonce only as hashes', () => {
    const object = jws({ alg: 'PS256', kid: 'k1', typ: 'oauth-authz-req+jwt' }, { iss: 'app', aud: 'https://as', exp: 200, iat: 100, jti: 'j1', scope: 'a b', state: 's', nonce: 'n', redirect_uri: 'https://app/cb' });
    expect(requestObjectFacts(object, undefined)).toEqual({
      digest: digestOf(object),
      header: { alg: 'PS256', kid: 'k1', typ: 'oauth-authz-req+jwt' },
      claims: { iss: 'app', aud: 'https://as', exp: 200, iat: 100, jti: 'j1', scope: 'a b', redirect_uri: 'https://app/cb', state_hash: sha256Base64Url('s'), nonce_hash: sha256Base64Url('n') },
      request_object: object,
    });
  });

  it('a JWE: keyed by the JWE as received, with its encryption header and the digest of the JWS the AS decrypted', () => {
    const inner = jws({ alg: 'ES256' }, { scope: 'a' });
    const jwe = `${part({ alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: 'enc-1' })}.a2V5.aXY.Y2lwaGVy.dGFn`;
    expect(requestObjectFacts(jwe, inner, { includeRequestObject: false })).toEqual({
      digest: digestOf(jwe),
      encryption: { alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: 'enc-1' },
      inner_digest: digestOf(inner),
      header: { alg: 'ES256' },
      claims: { scope: 'a' },
    });
  });

  it('a JWE the AS could not decrypt: no inner digest, and a header that says it was unreadable', () => {
    const jwe = `${part({ alg: 'RSA-OAEP-256', enc: 'A256GCM' })}.a2V5.aXY.Y2lwaGVy.dGFn`;
    expect(requestObjectFacts(jwe, undefined)).toMatchObject({ header: { alg: 'unreadable' }, claims: {} });
    expect(requestObjectFacts(jwe, undefined)).not.toHaveProperty('inner_digest');
  });

  it('leaves out a claim jartrail would refuse, so one odd claim cannot cost the whole report', () => {
    expect(claimFacts({ exp: '200', iat: 1.5, scope: 'a  b', redirect_uri: 'not a uri', aud: [], authorization_details: [{ no_type: 1 }], jti: 'ok' })).toEqual({ jti: 'ok' });
  });

  it('a plain request: the RFC 8785 digest of its parameters without client authentication, marked unsigned', () => {
    const facts = plainRequestFacts({ client_id: 'app', scope: 'a', client_secret: 'secret', state: 's', response_type: 'code' });
    expect(facts).toEqual({
      digest: sha256Base64Url('{"client_id":"app","response_type":"code","scope":"a","state":"s"}'),
      unsigned: true,
      claims: { scope: 'a', response_type: 'code', state_hash: sha256Base64Url('s') },
    });
  });
});
