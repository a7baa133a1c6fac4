// A whole authorization server wired to jartrail, and a client driving it: run against a jartrail you started
// (README "Connect your authorization server"). It starts oidc-provider on http://127.0.0.1:4000 with the plugin,
// a client "demo-app" that signs request objects (PS256), a login-and-consent page that logs in "alice" and grants
// what is asked, then runs two flows with openid-client: JAR by value, and PAR + JAR with DPoP. It prints each
// chain's digest: read each with GET /v1/chains/DIGEST.
//
//   JARTRAIL_URL=http://localhost:3000 AS_SOURCE=as-1.json TOKENS_SOURCE=tokens-1.json \
//     node packages/oidc-provider-plugin/example/demo.mjs
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectJartrail } from '@jartrail/oidc-provider';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';
import * as client from 'openid-client';

const source = async (file) => {
  const { id, secret } = JSON.parse(await readFile(file, 'utf8'));
  return { id, secret };
};
const jwk = async (key, kid, alg, use) => {
  const { key_ops: _operations, ext: _extractable, ...exported } = await exportJWK(key);
  return { ...exported, kid, alg, use };
};

const issuer = 'http://127.0.0.1:4000';
const redirectUri = 'https://demo-app.example.com/callback';
const clientSecret = randomBytes(32).toString('base64url');
const clientKeys = await generateKeyPair('PS256', { extractable: true });
const asKey = await generateKeyPair('RS256', { extractable: true });

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'demo-app',
      client_secret: clientSecret,
      token_endpoint_auth_method: 'client_secret_post',
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code', 'refresh_token'],
      jwks: { keys: [await jwk(clientKeys.publicKey, 'demo-app-1', 'PS256', 'sig')] },
      request_object_signing_alg: 'PS256',
    },
  ],
  jwks: { keys: [await jwk(asKey.privateKey, 'as-1', 'RS256', 'sig')] },
  features: {
    devInteractions: { enabled: false },
    requestObjects: { enabled: true },
    pushedAuthorizationRequests: { enabled: true },
    dPoP: { enabled: true },
    revocation: { enabled: true },
  },
  scopes: ['openid', 'offline_access', 'mail.send'],
  findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  issueRefreshToken: () => true,
  cookies: { keys: [randomBytes(32).toString('base64url')] },
});

// The demo's login-and-consent page: alice, granting what the request asks.
provider.use(async (ctx, next) => {
  if (!ctx.path.startsWith('/interaction/')) return next();
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const grant = new provider.Grant({ accountId: 'alice', clientId: details.params.client_id });
  grant.addOIDCScope(details.params.scope);
  await provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: 'alice' }, consent: { grantId: await grant.save() } });
});

// The one call: every request object, verdict, consent and token from here on is reported to jartrail.
const jartrail = await connectJartrail(provider, {
  url: process.env.JARTRAIL_URL ?? 'http://localhost:3000',
  authorizationServer: await source(process.env.AS_SOURCE ?? 'as-1.json'),
  tokenService: await source(process.env.TOKENS_SOURCE ?? 'tokens-1.json'),
  outboxDirectory: process.env.OUTBOX_DIRECTORY ?? (await mkdtemp(join(tmpdir(), 'jartrail-demo-outbox-'))),
  onNotice: (notice) => console.error('jartrail:', JSON.stringify(notice)),
});
const server = provider.listen(4000, '127.0.0.1');

/** A browser that follows the AS's redirects with its cookies until the AS sends it back to the client. */
async function browse(start) {
  const jar = new Map();
  let next = start;
  for (;;) {
    const response = await fetch(next, { redirect: 'manual', headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } });
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const at = pair.indexOf('=');
      jar.set(pair.slice(0, at), pair.slice(at + 1));
    }
    const location = response.headers.get('location');
    if (!location) throw new Error(`the AS answered ${response.status} without a redirect`);
    next = new URL(location, next);
    if (next.href.startsWith(redirectUri)) return next;
  }
}

const digest = (jws) => createHash('sha256').update(jws).digest('base64url');
const config = await client.discovery(new URL(issuer), 'demo-app', undefined, client.ClientSecretPost(clientSecret), { execute: [client.allowInsecureRequests] });
const signingKey = { key: clientKeys.privateKey, kid: 'demo-app-1' };

async function flow(name, build, dpop) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const parameters = { redirect_uri: redirectUri, scope: 'openid offline_access mail.send', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state };
  const jar = await client.buildAuthorizationUrlWithJAR(config, parameters, signingKey);
  const start = await build(jar);
  const tokens = await client.authorizationCodeGrant(config, await browse(start), { pkceCodeVerifier: verifier, expectedState: state }, undefined, dpop && { DPoP: dpop });
  console.log(`${name}: chain ${digest(jar.searchParams.get('request'))} (token_type ${tokens.token_type})`);
  return tokens;
}

await flow('JAR by value', (jar) => jar);
const dpop = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'));
await flow('PAR + JAR, DPoP', (jar) => client.buildAuthorizationUrlWithPAR(config, jar.searchParams, { DPoP: dpop }), dpop);

await jartrail.flush(30_000);
console.log('every report is in jartrail');
await jartrail.close();
server.close();
