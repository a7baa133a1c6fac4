import { CompactEncrypt, CompactSign, type CryptoKey, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { createHash } from 'node:crypto';
import { digestOf } from '../../common/crypto/digest';
import type { VerificationData } from '../../evidence/types/verification-event';
import { type ClientPolicy, type DecryptionKey, verifyRequestObject, type VerificationRequest } from './request-object-verifier';
import { REASON_VERDICTS, type ReasonCode } from './reasons';

const AS = 'https://as.example.com';
const CLIENT = 'agent-app';
const NOW = 1_800_000_000;
const hash = (value: string) => createHash('sha256').update(value).digest('base64url');

type Alg = 'RS256' | 'PS256' | 'ES256' | 'EdDSA';
const ALGS: Alg[] = ['RS256', 'PS256', 'ES256', 'EdDSA'];

interface Signer {
  readonly alg: Alg;
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
}

const signers = new Map<Alg, Signer>();
let otherEs256: Signer;

async function signerFor(alg: Alg, kid = `key-${alg}`): Promise<Signer> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { crv: alg === 'EdDSA' ? 'Ed25519' : undefined });
  return { alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

function claimsOf(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    iss: CLIENT,
    client_id: CLIENT,
    aud: AS,
    response_type: 'code',
    redirect_uri: 'https://agent.example.com/cb',
    scope: 'openid mail.send',
    state: 'af0ifjsldkj',
    nonce: 'n-0S6_WzA2Mj',
    jti: 'ro-1',
    iat: NOW,
    nbf: NOW,
    exp: NOW + 300,
    ...overrides,
  };
}

async function sign(signer: Signer, claims = claimsOf(), header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: signer.alg, kid: signer.jwk.kid, typ: 'oauth-authz-req+jwt', ...header }).sign(signer.privateKey);
}

/** What an honest AS reports for an object. */
function reportFor(requestObject: string, claims = claimsOf(), header: Record<string, unknown> = {}, extra: Partial<VerificationData> = {}): VerificationData {
  const facts: Record<string, unknown> = { ...claims };
  delete facts.client_id;
  delete facts.state;
  delete facts.nonce;
  delete facts.request;
  delete facts.request_uri;
  facts.state_hash = hash(String(claims.state));
  facts.nonce_hash = hash(String(claims.nonce));
  return {
    digest: digestOf(requestObject),
    verdict: 'accepted',
    client_id: CLIENT,
    issuer: AS,
    delivery: 'value',
    header: { alg: String(header.alg), ...(header.kid !== undefined && { kid: String(header.kid) }), typ: 'oauth-authz-req+jwt' },
    claims: facts as VerificationData['claims'],
    request_object: requestObject,
    ...extra,
  } as VerificationData;
}

function clientWith(keys: JWK[], overrides: Partial<ClientPolicy> = {}): ClientPolicy {
  return {
    clientId: CLIENT,
    signingAlgs: ALGS,
    requireSigned: false,
    encryptionAlgs: [],
    encryptionEncs: [],
    maxLifetimeSeconds: 3600,
    keys: () => Promise.resolve({ keys }),
    ...overrides,
  };
}

function requestFor(requestObject: string | undefined, reported: VerificationData, client: ClientPolicy | undefined, decryptionKeys: DecryptionKey[] = []): VerificationRequest {
  return { requestObject, reported, reportedAt: new Date(NOW * 1000 + 1000), client, decryptionKeys, clockSkewSeconds: 60 };
}

async function verifyObject(
  options: { alg?: Alg; claims?: Record<string, unknown>; header?: Record<string, unknown>; client?: Partial<ClientPolicy>; report?: Partial<VerificationData>; object?: string } = {},
) {
  const signer = signers.get(options.alg ?? 'ES256')!;
  const claims = options.claims ?? claimsOf();
  const header = { alg: signer.alg, kid: signer.jwk.kid, ...options.header };
  const object = options.object ?? (await sign(signer, claims, options.header));
  return verifyRequestObject(requestFor(object, reportFor(object, claims, header, options.report), clientWith([...signers.values()].map((s) => s.jwk), options.client)));
}

const codesOf = (outcome: { reasons: readonly { code: string }[] }) => outcome.reasons.map((reason) => reason.code);

beforeAll(async () => {
  for (const alg of ALGS) signers.set(alg, await signerFor(alg));
  otherEs256 = await signerFor('ES256', 'key-ES256');
});

describe('independent verification of a request object', () => {
  it.each(ALGS)('verifies a valid %s object signed with the client key', async (alg) => {
    const outcome = await verifyObject({ alg });
    expect(outcome).toEqual({ verdict: 'verified', reasons: [], alg, kid: `key-${alg}`, opaque: false });
  });

  it('verifies an object without kid against every key suited to its alg', async () => {
    const signer = signers.get('ES256')!;
    const claims = claimsOf();
    const object = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'oauth-authz-req+jwt' }).sign(signer.privateKey);
    const outcome = await verifyRequestObject(requestFor(object, reportFor(object, claims, { alg: 'ES256' }), clientWith([otherEs256.jwk, signer.jwk])));
    expect(outcome.verdict).toBe('verified');
  });

  /** Each rule, broken by one object, with the code it must name. */
  const cases: [ReasonCode, () => Promise<{ reasons: readonly { code: string }[] }>][] = [
    ['digest_mismatch', () => verifyObject({ report: { digest: hash('another object') as VerificationData['digest'] } })],
    ['alg_none', async () => {
      const claims = claimsOf();
      const object = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'oauth-authz-req+jwt' })).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`;
      return verifyObject({ object, header: { alg: 'none', kid: undefined }, claims });
    }],
    ['alg_hmac', async () => {
      // The RFC 8725 confusion attack: the client's public key used as an HMAC secret.
      const signer = signers.get('ES256')!;
      const claims = claimsOf();
      const object = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: signer.jwk.kid, typ: 'oauth-authz-req+jwt' }).sign(Buffer.from(JSON.stringify(signer.jwk)));
      return verifyRequestObject(requestFor(object, reportFor(object, claims, { alg: 'HS256', kid: signer.jwk.kid }), clientWith([signer.jwk])));
    }],
    ['alg_not_allowed', () => verifyObject({ alg: 'RS256', client: { signingAlgs: ['ES256', 'PS256'] } })],
    ['crit_unsupported', async () => {
      const signer = signers.get('ES256')!;
      const claims = claimsOf();
      const object = await new CompactSign(Buffer.from(JSON.stringify(claims)))
        .setProtectedHeader({ alg: 'ES256', kid: signer.jwk.kid, typ: 'oauth-authz-req+jwt', crit: ['urn:example:ext'], 'urn:example:ext': 1 })
        .sign(signer.privateKey)
        .catch(() => undefined);
      // jose refuses to sign an extension it does not know: build the same header by hand.
      const header = Buffer.from(JSON.stringify({ alg: 'ES256', kid: signer.jwk.kid, typ: 'oauth-authz-req+jwt', crit: ['exp-ext'], 'exp-ext': true })).toString('base64url');
      const signed = object ?? `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${'A'.repeat(86)}`;
      return verifyObject({ object: signed, claims });
    }],
    ['kid_unknown', () => verifyObject({ header: { kid: 'not-a-client-key' } })],
    ['no_matching_key', () => verifyObject({ alg: 'PS256', client: { keys: () => Promise.resolve({ keys: [signers.get('ES256')!.jwk, { ...signers.get('RS256')!.jwk, kid: 'key-PS256', use: 'enc' }] }) } })],
    ['signature_invalid', async () => {
      const claims = claimsOf();
      const object = await sign(otherEs256, claims);
      return verifyObject({ object, claims });
    }],
    ['iss_mismatch', () => verifyObject({ claims: claimsOf({ iss: 'someone-else' }) })],
    ['client_id_mismatch', () => verifyObject({ claims: claimsOf({ client_id: 'someone-else' }) })],
    ['aud_mismatch', () => verifyObject({ claims: claimsOf({ aud: 'https://other-as.example.com' }) })],
    ['exp_missing', () => verifyObject({ claims: claimsOf({ exp: undefined }) })],
    ['expired', () => verifyObject({ claims: claimsOf({ iat: NOW - 600, nbf: NOW - 600, exp: NOW - 120 }) })],
    ['not_yet_valid', () => verifyObject({ claims: claimsOf({ nbf: NOW + 600, exp: NOW + 900 }) })],
    ['iat_in_future', () => verifyObject({ claims: claimsOf({ iat: NOW + 600, nbf: undefined, exp: NOW + 900 }) })],
    ['lifetime_exceeded', () => verifyObject({ claims: claimsOf({ exp: NOW + 7200 }) })],
    ['request_in_object', () => verifyObject({ claims: claimsOf({ request: 'eyJ.eyJ.sig' }) })],
    ['request_uri_in_object', () => verifyObject({ claims: claimsOf({ request_uri: 'https://client.example.com/ro' }) })],
    ['header_mismatch', () => verifyObject({ report: { header: { alg: 'ES256', kid: 'key-ES256', typ: 'JWT' } } })],
    ['malformed', () => verifyObject({ object: 'bm90IGpzb24.bm90IGpzb24.c2ln' })],
  ];

  it.each(cases)('rejects with %s', async (code, run) => {
    const outcome = await run();
    expect(codesOf(outcome)).toEqual([code]);
    expect(REASON_VERDICTS[code]).toBe('rejected');
  });

  it('verifies exactly one spelling of a signature: the 15 other last characters with the same bytes are malformed', async () => {
    const object = await sign(signers.get('ES256')!);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    // An ES256 signature is 64 bytes, 86 characters: the last one carries 2 bits of the last byte and 4 unused bits.
    const high = alphabet.indexOf(object.at(-1)!) & 0b110000;
    const variants = Array.from({ length: 16 }, (_, low) => `${object.slice(0, -1)}${alphabet[high | low]}`);
    expect(variants).toContain(object);
    const verdicts = await Promise.all(variants.map(async (variant) => [variant === object, (await verifyObject({ object: variant })).verdict, Buffer.from(variant.split('.')[2]!, 'base64url').equals(Buffer.from(object.split('.')[2]!, 'base64url'))]));
    // Every variant decodes to the same bytes; only the canonical one is verified.
    expect(verdicts).toEqual(variants.map((variant) => (variant === object ? [true, 'verified', true] : [false, 'rejected', true])));
    for (const variant of variants.filter((variant) => variant !== object)) {
      const outcome = await verifyObject({ object: variant });
      expect(outcome.reasons).toEqual([{ code: 'malformed', detail: expect.stringContaining('signature is not canonical base64url') }]);
    }
  });

  it.each([
    ['padding', (object: string) => `${object}==`],
    ['a standard-alphabet character', (object: string) => object.replace(/[-_]/, (found) => (found === '-' ? '+' : '/'))],
    ['a fourth part', (object: string) => `${object}.AAAA`],
  ])('calls an object with %s malformed', async (_what, change) => {
    let object = await sign(signers.get('ES256')!);
    while (!/[-_]/.test(object)) object = await sign(signers.get('ES256')!);
    expect(codesOf(await verifyObject({ object: change(object) }))).toEqual(['malformed']);
  });

  it.each([
    ['a number', 7],
    ['an object', { id: 'key-ES256' }],
    ['null', null],
  ])('calls an object whose kid is %s malformed, rather than trying every key', async (_what, kid) => {
    const signer = signers.get('ES256')!;
    const claims = claimsOf();
    const object = await new CompactSign(Buffer.from(JSON.stringify(claims))).setProtectedHeader({ alg: 'ES256', kid, typ: 'oauth-authz-req+jwt' } as never).sign(signer.privateKey);
    const outcome = await verifyRequestObject(requestFor(object, reportFor(object, claims, { alg: 'ES256' }), clientWith([signer.jwk])));
    expect(outcome.reasons).toEqual([{ code: 'malformed', detail: expect.stringContaining('kid must be a string') }]);
  });

  it('names each claim the AS reported differently, field by field', async () => {
    const signer = signers.get('ES256')!;
    const claims = claimsOf();
    const object = await sign(signer, claims);
    const report = reportFor(object, claims, { alg: 'ES256', kid: signer.jwk.kid });
    const outcome = await verifyRequestObject(
      requestFor(object, { ...report, claims: { ...report.claims, scope: 'openid', state_hash: hash('another state') as VerificationData['digest'] } }, clientWith([signer.jwk])),
    );
    expect(outcome.verdict).toBe('rejected');
    expect(outcome.reasons).toEqual([
      expect.objectContaining({
        code: 'claims_mismatch',
        differences: [
          { field: 'claims.scope', reported: 'openid', actual: 'openid mail.send' },
          { field: 'claims.state_hash', reported: hash('another state'), actual: hash('af0ifjsldkj') },
        ],
      }),
    ]);
  });

  it('collects every broken rule, not only the first', async () => {
    const outcome = await verifyObject({ alg: 'RS256', client: { signingAlgs: ['ES256'] }, claims: claimsOf({ aud: 'https://elsewhere.example', exp: NOW + 7200 }) });
    expect(codesOf(outcome)).toEqual(['alg_not_allowed', 'aud_mismatch', 'lifetime_exceeded']);
  });

  it('calls an object of an unregistered client unverifiable', async () => {
    const signer = signers.get('ES256')!;
    const object = await sign(signer);
    const outcome = await verifyRequestObject(requestFor(object, reportFor(object, claimsOf(), { alg: 'ES256', kid: signer.jwk.kid }), undefined));
    expect(outcome).toMatchObject({ verdict: 'unverifiable', reasons: [{ code: 'client_unknown' }] });
  });

  it('calls an object of a disabled client unverifiable, whatever its signature', async () => {
    const signer = signers.get('ES256')!;
    const object = await sign(signer);
    const report = reportFor(object, claimsOf(), { alg: 'ES256', kid: signer.jwk.kid });
    const outcome = await verifyRequestObject(requestFor(object, report, clientWith([signer.jwk], { disabledAt: new Date(NOW * 1000) })));
    expect(outcome).toMatchObject({ verdict: 'unverifiable', reasons: [{ code: 'client_disabled' }] });
  });

  it('calls an event without the object not verifiable, and a required signature missing a rejection', async () => {
    const signer = signers.get('ES256')!;
    const object = await sign(signer);
    const report = reportFor(object, claimsOf(), { alg: 'ES256', kid: signer.jwk.kid });
    expect(await verifyRequestObject(requestFor(undefined, report, clientWith([signer.jwk])))).toMatchObject({ verdict: 'not_verifiable', reasons: [{ code: 'no_request_object' }] });
    const unsigned = { ...report, unsigned: true, header: undefined, request_object: undefined };
    expect(await verifyRequestObject(requestFor(undefined, unsigned, clientWith([signer.jwk])))).toMatchObject({ verdict: 'not_verifiable', reasons: [{ code: 'unsigned_request' }] });
    expect(await verifyRequestObject(requestFor(undefined, unsigned, clientWith([signer.jwk], { requireSigned: true })))).toMatchObject({
      verdict: 'rejected',
      reasons: [{ code: 'signed_request_object_required' }],
    });
  });

  it('calls an event without the object not verifiable even when the client requires signed objects: the object is optional', async () => {
    const signer = signers.get('ES256')!;
    const object = await sign(signer);
    const report = reportFor(object, claimsOf(), { alg: 'ES256', kid: signer.jwk.kid });
    expect(await verifyRequestObject(requestFor(undefined, report, clientWith([signer.jwk], { requireSigned: true })))).toEqual({
      verdict: 'not_verifiable',
      reasons: [{ code: 'no_request_object', detail: expect.any(String) }],
      opaque: false,
    });
  });
});

describe('independent verification of an encrypted request object', () => {
  const ENCRYPTIONS = [
    ['RSA-OAEP-256', {}],
    ['ECDH-ES+A256KW', { crv: 'P-256' }],
  ] as const;

  async function encrypted(alg: string, options: { crv?: string }) {
    const signer = signers.get('ES256')!;
    const claims = claimsOf();
    const inner = await sign(signer, claims);
    const { publicKey, privateKey } = await generateKeyPair(alg, { ...options, extractable: true });
    const jwe = await new CompactEncrypt(Buffer.from(inner, 'ascii')).setProtectedHeader({ alg, enc: 'A256GCM', kid: 'as-enc-1', cty: 'JWT' }).encrypt(publicKey);
    const report = reportFor(jwe, claims, { alg: 'ES256', kid: signer.jwk.kid }, { encryption: { alg, enc: 'A256GCM', kid: 'as-enc-1' }, inner_digest: digestOf(inner) });
    return { inner, jwe, report, signer, key: { kid: 'as-enc-1', alg, key: privateKey } satisfies DecryptionKey };
  }

  it.each(ENCRYPTIONS)('decrypts %s / A256GCM with the AS key, verifies the inner JWS and records its digest', async (alg, options) => {
    const { inner, jwe, report, signer, key } = await encrypted(alg, options);
    const outcome = await verifyRequestObject(requestFor(jwe, report, clientWith([signer.jwk]), [key]));
    expect(outcome).toEqual({ verdict: 'verified', reasons: [], alg: 'ES256', kid: signer.jwk.kid, innerDigest: digestOf(inner), opaque: false });
  });

  it.each(ENCRYPTIONS)('keeps a %s object opaque without a decryption key', async (alg, options) => {
    const { jwe, report, signer } = await encrypted(alg, options);
    expect(await verifyRequestObject(requestFor(jwe, report, clientWith([signer.jwk])))).toMatchObject({ verdict: 'unverifiable', opaque: true, reasons: [{ code: 'no_decryption_key' }] });
  });

  it('keeps an object opaque when the only key that fits is disabled, naming that key', async () => {
    const { jwe, report, signer } = await encrypted('RSA-OAEP-256', {});
    const request = { ...requestFor(jwe, report, clientWith([signer.jwk])), disabledDecryptionKeys: [{ id: 'key-1', kid: 'as-enc-1', alg: 'RSA-OAEP-256' }] };
    const outcome = await verifyRequestObject(request);
    expect(outcome).toMatchObject({ verdict: 'unverifiable', opaque: true, reasons: [{ code: 'decryption_key_disabled' }] });
    expect(outcome.reasons[0]!.detail).toContain('key-1');
  });

  it('rejects an inner digest the AS reported wrongly', async () => {
    const { jwe, report, signer, key } = await encrypted('RSA-OAEP-256', {});
    const outcome = await verifyRequestObject(requestFor(jwe, { ...report, inner_digest: hash('x') as VerificationData['digest'] }, clientWith([signer.jwk]), [key]));
    expect(codesOf(outcome)).toEqual(['inner_digest_mismatch']);
  });

  it('rejects an object the key does not decrypt', async () => {
    const { jwe, report, signer } = await encrypted('RSA-OAEP-256', {});
    const { privateKey } = await generateKeyPair('RSA-OAEP-256');
    const outcome = await verifyRequestObject(requestFor(jwe, report, clientWith([signer.jwk]), [{ kid: 'as-enc-1', alg: 'RSA-OAEP-256', key: privateKey }]));
    expect(codesOf(outcome)).toEqual(['decryption_failed']);
  });

  it('calls a JWE with a non-canonical part malformed, before any key is used', async () => {
    const { jwe, report, signer, key } = await encrypted('RSA-OAEP-256', {});
    // The authentication tag is 16 bytes, 22 characters: its last character has 4 unused bits.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const variant = `${jwe.slice(0, -1)}${alphabet[alphabet.indexOf(jwe.at(-1)!) ^ 1]}`;
    const outcome = await verifyRequestObject(requestFor(variant, { ...report, digest: digestOf(variant) }, clientWith([signer.jwk]), [key]));
    expect(outcome.reasons).toEqual([{ code: 'malformed', detail: expect.stringContaining('authentication tag is not canonical') }]);
  });

  it('calls a JWE whose kid is not a string malformed', async () => {
    const { inner, report, signer, key } = await encrypted('RSA-OAEP-256', {});
    const { publicKey } = await generateKeyPair('RSA-OAEP-256');
    const jwe = await new CompactEncrypt(Buffer.from(inner, 'ascii')).setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: 1, cty: 'JWT' } as never).encrypt(publicKey);
    const outcome = await verifyRequestObject(requestFor(jwe, { ...report, digest: digestOf(jwe) }, clientWith([signer.jwk]), [{ ...key, kid: undefined }]));
    expect(outcome.reasons).toEqual([{ code: 'malformed', detail: expect.stringContaining('kid must be a string') }]);
  });

  it('rejects an encryption algorithm outside the client registration', async () => {
    const { jwe, report, signer, key } = await encrypted('RSA-OAEP-256', {});
    const outcome = await verifyRequestObject(requestFor(jwe, report, clientWith([signer.jwk], { encryptionAlgs: ['ECDH-ES+A256KW'] }), [key]));
    expect(codesOf(outcome)).toEqual(['encryption_alg_not_allowed']);
  });
});

describe('the example in examples/', () => {
  it('is verified against the example client keys, as the walkthrough says', async () => {
    const { readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const root = join(__dirname, '..', '..', '..', 'examples');
    const event = JSON.parse(readFileSync(join(root, '1-request-object-verification.json'), 'utf8')) as { timestamp: string; data: VerificationData };
    const jwks = JSON.parse(readFileSync(join(root, 'client-jwks.json'), 'utf8')) as { keys: JWK[] };
    const outcome = await verifyRequestObject({
      requestObject: event.data.request_object,
      reported: event.data,
      reportedAt: new Date(event.timestamp),
      client: clientWith(jwks.keys, { signingAlgs: ['ES256'] }),
      decryptionKeys: [],
      clockSkewSeconds: 60,
    });
    expect(outcome).toMatchObject({ verdict: 'verified', reasons: [] });
  });
});
