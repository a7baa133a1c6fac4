import type { Schemas } from './api';
import { signInWithToken } from './session';

/**
 * Sign-in with the organisation's identity provider: OpenID Connect authorization code flow with PKCE (S256) as a
 * public client (RFC 9700 for browser-based apps). The access token is kept in memory only (session.ts): nothing a
 * script could find later, and no cookie, so no CSRF surface; a reload signs in again through the provider, whose
 * own session usually makes that one redirect. What must survive the redirect (the PKCE verifier, state, nonce) is
 * kept in sessionStorage for that round trip only and removed when the answer comes back.
 */
/** GET /v1/access/sign-in-options (public): the providers, each with the console's client, and whether API keys are offered. */
export type SignInOptions = Schemas['SignInOptions'];
export type IdentityProviderOption = SignInOptions['identity_providers'][number];

interface PendingSignIn {
  readonly issuer: string;
  readonly client_id: string;
  readonly token_endpoint: string;
  readonly resource: string;
  readonly redirect_uri: string;
  readonly verifier: string;
  readonly state: string;
  readonly nonce: string;
  /** The console route to go back to after signing in. */
  readonly return_to: string;
}

const PENDING_ITEM = 'jartrail.console.sign-in';

const base64url = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const random = (size: number) => base64url(crypto.getRandomValues(new Uint8Array(size)));

/** The console's redirect URI: the page itself, which finishes the sign-in when it loads with a code. */
export const redirectUri = () => `${location.origin}/review/`;

export async function startSignIn(provider: IdentityProviderOption): Promise<void> {
  if (!provider.authorization_endpoint || !provider.token_endpoint) throw new Error(`the service cannot read the discovery document of ${provider.issuer} now: try again later`);
  const verifier = random(32);
  const pending: PendingSignIn = {
    issuer: provider.issuer,
    client_id: provider.client_id,
    token_endpoint: provider.token_endpoint,
    resource: provider.resource,
    redirect_uri: redirectUri(),
    verifier,
    state: random(16),
    nonce: random(16),
    return_to: location.hash,
  };
  const challenge = base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
  sessionStorage.setItem(PENDING_ITEM, JSON.stringify(pending));
  const url = new URL(provider.authorization_endpoint);
  const parameters = {
    response_type: 'code',
    client_id: provider.client_id,
    redirect_uri: pending.redirect_uri,
    scope: provider.scope,
    // RFC 8707: the token must be for this API (its audience), as a JWT the API verifies.
    resource: provider.resource,
    state: pending.state,
    nonce: pending.nonce,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  };
  for (const [name, value] of Object.entries(parameters)) url.searchParams.set(name, value);
  location.assign(url.href);
}

export type SignInOutcome = { readonly ok: true } | { readonly ok: false; readonly error: string };

/** Finishes a sign-in when the provider sent the browser back here with a code (or an error); undefined otherwise. */
export async function completeSignIn(): Promise<SignInOutcome | undefined> {
  const answer = new URLSearchParams(location.search);
  if (!answer.has('code') && !answer.has('error')) return undefined;
  const stored = sessionStorage.getItem(PENDING_ITEM);
  sessionStorage.removeItem(PENDING_ITEM);
  const pending = stored ? (JSON.parse(stored) as PendingSignIn) : undefined;
  // The code leaves the address bar and the history at once: it is single-use, but nobody needs to see it.
  history.replaceState(null, '', `${location.pathname}${pending?.return_to ?? ''}`);
  if (!pending) return { ok: false, error: 'an answer from an identity provider arrived that this tab did not ask for' };
  if (answer.get('state') !== pending.state) return { ok: false, error: 'the identity provider’s answer does not match the request this tab sent (state)' };
  // RFC 9207: the provider names itself, so that an answer from another provider (a mix-up attack) is refused.
  if (answer.has('iss') && answer.get('iss') !== pending.issuer) return { ok: false, error: `the answer came from ${answer.get('iss') ?? ''}, not from ${pending.issuer}` };
  if (answer.has('error')) return { ok: false, error: `the identity provider refused: ${answer.get('error') ?? ''}${answer.get('error_description') ? ` (${answer.get('error_description') ?? ''})` : ''}` };
  let tokens: { access_token?: unknown; token_type?: unknown; expires_in?: unknown; id_token?: unknown; error?: unknown; error_description?: unknown };
  let status: number;
  try {
    const response = await fetch(pending.token_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: answer.get('code') ?? '',
        redirect_uri: pending.redirect_uri,
        client_id: pending.client_id,
        code_verifier: pending.verifier,
        resource: pending.resource,
      }),
      credentials: 'omit',
      cache: 'no-store',
    });
    status = response.status;
    tokens = (await response.json()) as typeof tokens;
  } catch (error) {
    return { ok: false, error: `the identity provider’s token endpoint did not answer: ${(error as Error).message}` };
  }
  if (status !== 200 || typeof tokens.access_token !== 'string') {
    return { ok: false, error: `the identity provider did not issue a token: ${String(tokens.error ?? status)}${tokens.error_description ? ` (${String(tokens.error_description)})` : ''}` };
  }
  if (typeof tokens.token_type !== 'string' || tokens.token_type.toLowerCase() !== 'bearer') return { ok: false, error: `the identity provider issued a ${String(tokens.token_type)} token; the console sends bearer tokens only` };
  const lifetime = typeof tokens.expires_in === 'number' && tokens.expires_in > 0 ? tokens.expires_in : 300;
  signInWithToken({
    kind: 'oidc',
    accessToken: tokens.access_token,
    // A little early, so that a request never leaves with a token about to expire.
    expiresAt: Date.now() + Math.max(lifetime - 15, 1) * 1000,
    provider: new URL(pending.issuer).host,
    subject: subjectOf(tokens.id_token, pending.nonce),
  });
  return { ok: true };
}

/**
 * Who signed in, for the header only: the ID token's `sub`, when its nonce is the one this tab sent. The API never
 * relies on it (it verifies the access token itself, and its access log records the token's subject and issuer).
 */
function subjectOf(idToken: unknown, nonce: string): string | undefined {
  if (typeof idToken !== 'string') return undefined;
  try {
    const payload = idToken.split('.')[1] ?? '';
    const claims = JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(payload.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0)))) as { sub?: unknown; nonce?: unknown };
    return claims.nonce === nonce && typeof claims.sub === 'string' ? claims.sub : undefined;
  } catch {
    return undefined;
  }
}
