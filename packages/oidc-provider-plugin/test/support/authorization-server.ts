import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK } from 'jose';
import Provider from 'oidc-provider';
import * as client from 'openid-client';
import { freePort } from '../../../../test/support/ports';
import { connectJartrail, type JartrailPlugin, type JartrailPluginOptions } from '../../src';
import { quietOidcProviderNotices, structuredCloneInThisRealm } from './jest-realm';

export const REDIRECT_URI = 'https://agent.example.com/callback';
export const CLIENT_ID = 'agent-app';

/** What the test user does at the AS's login-and-consent page. */
export type ConsentBehaviour = { readonly grant: 'all' } | { readonly grant: 'only'; readonly scopes: readonly string[] } | { readonly grant: 'deny' };

export interface TestAuthorizationServer {
  readonly issuer: string;
  readonly provider: Provider;
  readonly plugin: JartrailPlugin;
  /** The client's request-object signing key (PS256) and the AS's encryption key (RSA-OAEP-256), public part. */
  readonly clientKey: { readonly privateKey: CryptoKey; readonly kid: string };
  readonly encryptionKey: { readonly publicKey: CryptoKey; readonly kid: string };
  /** An openid-client configuration of the registered client. */
  readonly config: client.Configuration;
  consent: ConsentBehaviour;
  close(): Promise<void>;
}

/** A JWK with its `kid`, `alg` and `use`; WebCrypto's `key_ops` and `ext` left out (oidc-provider refuses `use` beside `key_ops`). */
async function jwk(key: CryptoKey, kid: string, alg: string, use: 'sig' | 'enc'): Promise<JWK> {
  const { key_ops: _operations, ext: _extractable, ...exported } = await exportJWK(key);
  return { ...exported, kid, alg, use };
}

/**
 * A real oidc-provider (v9) on a loopback port: one confidential client that signs request objects with PS256,
 * JAR, PAR, encrypted request objects, DPoP, refresh tokens and revocation on, a login-and-consent page that logs
 * in "alice" and grants as the test says, and the jartrail plugin wired with one call.
 */
export async function startAuthorizationServer(plugin: Omit<JartrailPluginOptions, 'onNotice'> & { onNotice?: JartrailPluginOptions['onNotice'] }): Promise<TestAuthorizationServer> {
  structuredCloneInThisRealm();
  quietOidcProviderNotices();
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const clientKeys = await generateKeyPair('PS256', { extractable: true });
  const signing = await generateKeyPair('RS256', { extractable: true });
  const encryption = await generateKeyPair('RSA-OAEP-256', { extractable: true });
  const secret = randomBytes(32).toString('base64url');
  const clientKid = 'client-signing-1';
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: secret,
        token_endpoint_auth_method: 'client_secret_post',
        redirect_uris: [REDIRECT_URI],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        jwks: { keys: [await jwk(clientKeys.publicKey, clientKid, 'PS256', 'sig')] },
        request_object_signing_alg: 'PS256',
      },
    ],
    jwks: {
      keys: [
        await jwk(signing.privateKey, 'as-signing-1', 'RS256', 'sig'),
        await jwk(encryption.privateKey, 'as-encryption-1', 'RSA-OAEP-256', 'enc'),
      ],
    },
    features: {
      devInteractions: { enabled: false },
      requestObjects: { enabled: true },
      pushedAuthorizationRequests: { enabled: true },
      encryption: { enabled: true },
      dPoP: { enabled: true },
      revocation: { enabled: true },
    },
    scopes: ['openid', 'offline_access', 'mail.read', 'mail.send'],
    findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    issueRefreshToken: () => true,
    // Each refresh hands out a new refresh token, so the plugin's report of a rotation is exercised.
    rotateRefreshToken: () => true,
    cookies: { keys: [randomBytes(32).toString('base64url')] },
  });

  const server: TestAuthorizationServer = {
    issuer,
    provider,
    plugin: undefined as unknown as JartrailPlugin,
    clientKey: { privateKey: clientKeys.privateKey, kid: clientKid },
    encryptionKey: { publicKey: encryption.publicKey, kid: 'as-encryption-1' },
    config: undefined as unknown as client.Configuration,
    consent: { grant: 'all' },
    close: async () => undefined,
  };

  // The login-and-consent page: logs in alice and grants what the test says, in one submission.
  provider.use(async (ctx, next) => {
    if (!ctx.path.startsWith('/interaction/')) return next();
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const behaviour = server.consent;
    if (behaviour.grant === 'deny') {
      await provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: 'alice' }, error: 'access_denied', error_description: 'the user said no' }, { mergeWithLastSubmission: false });
      return;
    }
    const requested = String(details.params.scope ?? '').split(' ').filter(Boolean);
    const granted = behaviour.grant === 'all' ? requested : requested.filter((scope) => behaviour.scopes.includes(scope));
    const grant = new provider.Grant({ accountId: 'alice', clientId: String(details.params.client_id) });
    grant.addOIDCScope(granted.join(' '));
    const refused = requested.filter((scope) => !granted.includes(scope));
    if (refused.length > 0) grant.rejectOIDCScope(refused.join(' '));
    const grantId = await grant.save();
    await provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: 'alice' }, consent: { grantId } }, { mergeWithLastSubmission: false });
  });

  Object.assign(server, { plugin: await connectJartrail(provider, plugin) });
  const http: Server = provider.listen(port, '127.0.0.1');
  await new Promise<void>((done) => http.once('listening', () => done()));
  Object.assign(server, {
    config: await client.discovery(new URL(issuer), CLIENT_ID, { redirect_uris: [REDIRECT_URI] }, client.ClientSecretPost(secret), { execute: [client.allowInsecureRequests] }),
    close: async () => {
      await server.plugin.close();
      http.closeAllConnections();
      await new Promise<void>((done) => http.close(() => done()));
    },
  });
  return server;
}

/**
 * The user agent: follows the AS's redirects with its cookies (a fresh jar per authorization, so each one logs in
 * and consents again) until the AS sends it to the client's redirect_uri, or answers without a redirect.
 */
export async function userAgent(start: URL): Promise<{ callback?: URL; status: number; body?: string }> {
  const jar = new Map<string, string>();
  let next = start;
  for (let hop = 0; hop < 12; hop += 1) {
    const response = await fetch(next, { redirect: 'manual', headers: { cookie: [...jar].map(([name, value]) => `${name}=${value}`).join('; ') } });
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const at = pair!.indexOf('=');
      const [name, value] = [pair!.slice(0, at), pair!.slice(at + 1)];
      if (value === '' || /max-age=0|expires=Thu, 01 Jan 1970/i.test(cookie)) jar.delete(name);
      else jar.set(name, value);
    }
    const location = response.headers.get('location');
    if (location === null) return { status: response.status, body: await response.text() };
    await response.arrayBuffer();
    const target = new URL(location, next);
    if (target.href.startsWith(REDIRECT_URI)) return { callback: target, status: response.status };
    next = target;
  }
  throw new Error('too many redirects');
}
