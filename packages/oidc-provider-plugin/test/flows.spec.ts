import { randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, CompactEncrypt, exportJWK, SignJWT } from 'jose';
import * as client from 'openid-client';
import { digestOf, jsonDigest, tokenHash } from '@jartrail/agent-sdk';
import { digestOf as jartrailDigestOf } from '../../../src/common/crypto/digest';
import { evaluateNow, startTestApp, type TestApp } from '../../../test/support/app';
import { registerSource } from '../../../test/support/events';
import { CLIENT_ID, REDIRECT_URI, startAuthorizationServer, type TestAuthorizationServer, userAgent } from './support/authorization-server';

type Chain = {
  digest: string;
  aliases: string[];
  unsigned: boolean;
  request_object: { verifications: { data: Record<string, any> }[] };
  consents: { data: Record<string, any> }[];
  tokens: { data: Record<string, any> }[];
  revocations: { data: Record<string, any> }[];
  findings: { rule: string; severity: string }[];
};

const SCOPE = 'openid offline_access mail.send';

describe('the oidc-provider plugin: real flows from openid-client through oidc-provider into jartrail', () => {
  let app: TestApp;
  let as: TestAuthorizationServer;
  const notices: string[] = [];

  beforeAll(async () => {
    app = await startTestApp();
    as = await startAuthorizationServer({
      url: app.url,
      authorizationServer: await registerSource(app, 'authorization_server'),
      tokenService: await registerSource(app, 'token_service'),
      retry: { initialDelayMs: 50, maxDelayMs: 1000 },
      onNotice: (notice) => notices.push(JSON.stringify(notice)),
    });
  });
  afterAll(async () => {
    await as?.close();
    await app?.close();
  });
  beforeEach(() => {
    as.consent = { grant: 'all' };
  });

  const chainOf = async (digest: string): Promise<Chain> => {
    await as.plugin.flush();
    return (await app.get(`/v1/chains/${digest}`).expect(200)).body as Chain;
  };

  /** An authorization request object of this client, signed with its PS256 key, as openid-client builds one. */
  const authorizationParameters = async (extra: Record<string, string> = {}) => {
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const parameters = {
      redirect_uri: REDIRECT_URI,
      scope: SCOPE,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      prompt: 'consent',
      ...extra,
    };
    return { parameters, checks: { pkceCodeVerifier: verifier, expectedState: state } };
  };

  const redeem = async (start: URL, checks: client.AuthorizationCodeGrantChecks, dpop?: client.DPoPHandle) => {
    const answer = await userAgent(start);
    expect(answer.callback?.searchParams.get('error')).toBeNull();
    return client.authorizationCodeGrant(as.config, answer.callback!, checks, undefined, dpop ? { DPoP: dpop } : undefined);
  };

  it('JAR by value: the object as received, the verdict, the consent and both tokens form one chain', async () => {
    const { parameters, checks } = await authorizationParameters();
    const start = await client.buildAuthorizationUrlWithJAR(as.config, parameters, { key: as.clientKey.privateKey, kid: as.clientKey.kid });
    const request = start.searchParams.get('request')!;
    // The plugin's digest is jartrail's: base64url(SHA-256(the compact serialization as received)).
    const digest = digestOf(request);
    expect(digest).toBe(jartrailDigestOf(request));

    const tokens = await redeem(start, checks);
    const chain = await chainOf(digest);

    expect(chain.request_object.verifications.map(({ data }) => data)).toEqual([
      expect.objectContaining({
        digest,
        verdict: 'accepted',
        client_id: CLIENT_ID,
        issuer: as.issuer,
        delivery: 'value',
        header: expect.objectContaining({ alg: 'PS256', kid: as.clientKey.kid }),
        claims: expect.objectContaining({ iss: CLIENT_ID, aud: as.issuer, scope: SCOPE, redirect_uri: REDIRECT_URI, state_hash: tokenHash(checks.expectedState) }),
        request_object: request,
      }),
    ]);
    expect(chain.consents.map(({ data }) => data)).toEqual([expect.objectContaining({ digest, decision: 'approved', granted: { scope: SCOPE } })]);
    expect(chain.tokens.map(({ data }) => [data.token_type, data.token_hash, data.digest, data.grant_type])).toEqual(
      expect.arrayContaining([
        ['access', tokenHash(tokens.access_token), digest, 'authorization_code'],
        ['refresh', tokenHash(tokens.refresh_token!), digest, 'authorization_code'],
      ]),
    );
    expect(chain.tokens).toHaveLength(2);
    const lookup = (await app.get(`/v1/lookup?token_hash=${tokenHash(tokens.access_token)}`).expect(200)).body;
    expect(lookup.records[0].chains).toEqual([digest]);
  });

  it('PAR + JAR with DPoP: the push is the verification, the tokens carry cnf.jkt, a refresh names its parent, revocation is recorded', async () => {
    const dpopKeys = await client.randomDPoPKeyPair('ES256');
    const dpop = client.getDPoPHandle(as.config, dpopKeys);
    const jkt = await calculateJwkThumbprint(await exportJWK(dpopKeys.publicKey));
    const { parameters, checks } = await authorizationParameters();
    const jar = await client.buildAuthorizationUrlWithJAR(as.config, parameters, { key: as.clientKey.privateKey, kid: as.clientKey.kid });
    const digest = digestOf(jar.searchParams.get('request')!);
    const start = await client.buildAuthorizationUrlWithPAR(as.config, jar.searchParams, { DPoP: dpop });
    const requestUri = start.searchParams.get('request_uri')!;

    const tokens = await redeem(start, checks, dpop);
    expect(tokens.token_type.toLowerCase()).toBe('dpop');
    const refreshed = await client.refreshTokenGrant(as.config, tokens.refresh_token!, undefined, { DPoP: dpop });
    await client.tokenRevocation(as.config, refreshed.refresh_token!);

    const chain = await chainOf(digest);
    expect(chain.request_object.verifications.map(({ data }) => data)).toEqual([
      expect.objectContaining({ digest, verdict: 'accepted', delivery: 'par', request_uri: requestUri, header: expect.objectContaining({ alg: 'PS256' }) }),
    ]);
    const issued = chain.tokens.map(({ data }) => data);
    expect(issued).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ token_type: 'access', token_hash: tokenHash(tokens.access_token), digest, cnf: { jkt } }),
        expect.objectContaining({ token_type: 'access', token_hash: tokenHash(refreshed.access_token), parent: expect.objectContaining({ token_hash: tokenHash(tokens.refresh_token!) }), cnf: { jkt }, grant_type: 'refresh_token' }),
        expect.objectContaining({ token_type: 'refresh', token_hash: tokenHash(refreshed.refresh_token!), grant_type: 'refresh_token' }),
      ]),
    );
    const refreshedRefresh = issued.find((data) => data.token_hash === tokenHash(refreshed.refresh_token!))!;
    expect(chain.revocations.map(({ data }) => data.jti)).toContain(refreshedRefresh.jti);
    // Revoking the refresh token revoked its grant: every token of the grant is reported revoked, once.
    const revoked = chain.revocations.map(({ data }) => data.jti);
    expect(new Set(revoked).size).toBe(revoked.length);
    expect(revoked.length).toBeGreaterThanOrEqual(3);

    // The same request_uri again: the AS refuses the replay, and jartrail sees a second use of one request_uri.
    const replay = await userAgent(start);
    expect(replay.callback?.searchParams.get('error')).toBe('invalid_request_uri');
    const replayed = await chainOf(digest);
    expect(replayed.request_object.verifications.map(({ data }) => [data.verdict, data.reason, data.request_uri])).toEqual([
      ['accepted', undefined, requestUri],
      ['rejected', 'invalid_request_uri', requestUri],
    ]);
    await evaluateNow(app);
    const evaluated = (await app.get(`/v1/chains/${digest}`).expect(200)).body as Chain;
    expect(evaluated.findings).toEqual(expect.arrayContaining([expect.objectContaining({ rule: 'request_uri_replay', severity: 'low' })]));
  });

  /** A request object signed by the client (PS256), then encrypted to the AS's key (RSA-OAEP-256, A256GCM). */
  const encryptedRequestObject = async (parameters: Record<string, string>) => {
    const jws = await new SignJWT({ ...parameters, client_id: CLIENT_ID, response_type: 'code', jti: randomUUID() })
      .setProtectedHeader({ alg: 'PS256', kid: as.clientKey.kid, typ: 'oauth-authz-req+jwt' })
      .setIssuer(CLIENT_ID)
      .setAudience(as.issuer)
      .setIssuedAt()
      .setNotBefore('0s')
      .setExpirationTime('60s')
      .sign(as.clientKey.privateKey);
    const jwe = await new CompactEncrypt(new TextEncoder().encode(jws))
      .setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: as.encryptionKey.kid, cty: 'JWT' })
      .encrypt(as.encryptionKey.publicKey);
    return { jws, jwe };
  };

  it('an encrypted request object by value: keyed by the JWE as received, with the digest of the JWS the AS decrypted', async () => {
    const { parameters, checks } = await authorizationParameters();
    const { jws, jwe } = await encryptedRequestObject(parameters);
    const tokens = await redeem(client.buildAuthorizationUrl(as.config, { request: jwe }), checks);

    const chain = await chainOf(digestOf(jwe));
    expect(chain.aliases).toEqual([digestOf(jws)]);
    expect(chain.request_object.verifications.map(({ data }) => data)).toEqual([
      expect.objectContaining({ verdict: 'accepted', delivery: 'value', inner_digest: digestOf(jws), encryption: expect.objectContaining({ enc: 'A256GCM' }), header: expect.objectContaining({ alg: 'PS256' }) }),
    ]);
    expect(chain.tokens.map(({ data }) => [data.token_hash, data.digest])).toEqual(expect.arrayContaining([[tokenHash(tokens.access_token), digestOf(jwe)]]));
  });

  it('an encrypted request object pushed: the chain is keyed by the JWE as received and found by the inner JWS digest too', async () => {
    const { parameters, checks } = await authorizationParameters();
    const { jws, jwe } = await encryptedRequestObject(parameters);
    const start = await client.buildAuthorizationUrlWithPAR(as.config, { request: jwe });
    const tokens = await redeem(start, checks);

    const chain = await chainOf(digestOf(jwe));
    expect(chain.digest).toBe(digestOf(jwe));
    expect(chain.aliases).toEqual([digestOf(jws)]);
    expect(chain.request_object.verifications.map(({ data }) => data)).toEqual([
      expect.objectContaining({
        verdict: 'accepted',
        delivery: 'par',
        encryption: { alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: as.encryptionKey.kid },
        inner_digest: digestOf(jws),
        header: { alg: 'PS256', kid: as.clientKey.kid, typ: 'oauth-authz-req+jwt' },
        request_object: jwe,
      }),
    ]);
    // The token names the chain's key, the JWE's digest: the pushed object the AS stored is the inner JWS, the
    // plugin remembers what was received.
    expect(chain.tokens.map(({ data }) => [data.token_hash, data.digest])).toEqual(expect.arrayContaining([[tokenHash(tokens.access_token), digestOf(jwe)]]));
    const byInner = (await app.get(`/v1/chains/${digestOf(jws)}`).expect(200)).body as Chain;
    expect(byInner.digest).toBe(digestOf(jwe));
  });

  it('a refused push is reported with the AS error code and no request_uri', async () => {
    const { parameters } = await authorizationParameters();
    // Signed for another audience: the AS must refuse it.
    const jws = await new SignJWT({ ...parameters, client_id: CLIENT_ID, response_type: 'code' })
      .setProtectedHeader({ alg: 'PS256', kid: as.clientKey.kid })
      .setIssuer(CLIENT_ID)
      .setAudience('https://another-as.example.com')
      .setIssuedAt()
      .setExpirationTime('60s')
      .sign(as.clientKey.privateKey);
    await expect(client.buildAuthorizationUrlWithPAR(as.config, { request: jws })).rejects.toMatchObject({ error: 'invalid_request_object' });

    const chain = await chainOf(digestOf(jws));
    expect(chain.request_object.verifications.map(({ data }) => data)).toEqual([
      expect.objectContaining({ verdict: 'rejected', reason: 'invalid_request_object', delivery: 'par', client_id: CLIENT_ID, claims: expect.objectContaining({ aud: 'https://another-as.example.com' }) }),
    ]);
    expect(chain.request_object.verifications[0]!.data.request_uri).toBeUndefined();
  });

  it('a refused request object at the authorization endpoint, a partial consent and a refused consent are each reported', async () => {
    // Signed with a key the client never registered.
    const stranger = await client.randomDPoPKeyPair('PS256');
    const bad = await authorizationParameters();
    const refused = await client.buildAuthorizationUrlWithJAR(as.config, bad.parameters, { key: stranger.privateKey, kid: as.clientKey.kid });
    await userAgent(refused);

    as.consent = { grant: 'only', scopes: ['openid', 'offline_access'] };
    const partial = await authorizationParameters();
    const partialStart = await client.buildAuthorizationUrlWithJAR(as.config, partial.parameters, { key: as.clientKey.privateKey, kid: as.clientKey.kid });
    await userAgent(partialStart);

    as.consent = { grant: 'deny' };
    const denied = await authorizationParameters();
    const deniedStart = await client.buildAuthorizationUrlWithJAR(as.config, denied.parameters, { key: as.clientKey.privateKey, kid: as.clientKey.kid });
    const deniedAnswer = await userAgent(deniedStart);
    expect(deniedAnswer.callback?.searchParams.get('error')).toBe('access_denied');

    const refusedChain = await chainOf(digestOf(refused.searchParams.get('request')!));
    expect(refusedChain.request_object.verifications.map(({ data }) => [data.verdict, data.reason])).toEqual([['rejected', 'invalid_request_object']]);
    const partialChain = await chainOf(digestOf(partialStart.searchParams.get('request')!));
    expect(partialChain.consents.map(({ data }) => [data.decision, data.granted])).toEqual([['partial', { scope: 'openid offline_access' }]]);
    const deniedChain = await chainOf(digestOf(deniedStart.searchParams.get('request')!));
    expect(deniedChain.consents.map(({ data }) => data.decision)).toEqual(['denied']);
  });

  it('a plain authorization request (no request object): an unsigned chain keyed by the RFC 8785 digest of its parameters', async () => {
    const { parameters, checks } = await authorizationParameters();
    const start = client.buildAuthorizationUrl(as.config, parameters);
    const digest = jsonDigest(Object.fromEntries(start.searchParams));
    const tokens = await redeem(start, checks);

    const chain = await chainOf(digest);
    expect(chain.unsigned).toBe(true);
    expect(chain.request_object.verifications.map(({ data }) => data)).toEqual([
      expect.objectContaining({ digest, unsigned: true, verdict: 'accepted', delivery: 'value', claims: expect.objectContaining({ scope: SCOPE, redirect_uri: REDIRECT_URI }) }),
    ]);
    expect(chain.request_object.verifications[0]!.data.header).toBeUndefined();
    expect(chain.tokens.map(({ data }) => data.token_hash)).toContain(tokenHash(tokens.access_token));
  });

  it('reported everything it saw: no notice of an event it could not report', () => {
    expect(notices.filter((notice) => notice.includes('not_reported') || notice.includes('set_aside'))).toEqual([]);
  });
});
