/**
 * Who the console is signed in as. An API key lives in sessionStorage: it survives a reload of this tab and is gone
 * when the tab closes, is never sent anywhere but this origin's API, and no other tab or site can read it; a key
 * kept only in memory would be asked for again at every reload, which pushes people to paste it from somewhere
 * less safe. Tokens from the identity provider are kept in memory only (a reload signs in again through the IdP,
 * silently while its session lasts). Nothing secret goes into localStorage: it holds only the pinned public JWKS.
 */
export type Credential =
  | { readonly kind: 'api_key'; readonly key: string }
  | { readonly kind: 'oidc'; readonly accessToken: string; readonly expiresAt: number; readonly provider: string; readonly subject: string | undefined };

const API_KEY_ITEM = 'jartrail.console.api-key';

let current: Credential | undefined;

/** Who the service says the credential is (GET /v1/access/me), and its scopes: asked once per sign-in. */
export interface Principal {
  readonly credential: 'api_key' | 'jwt';
  readonly api_key: { readonly id: string; readonly name: string } | null;
  readonly subject: string | null;
  readonly issuer: string | null;
  readonly scopes: readonly string[];
}

let known: Principal | undefined;

export const principal = (): Principal | undefined => known;
export const setPrincipal = (value: Principal | undefined): void => {
  known = value;
};
export const hasScope = (scope: string): boolean => known?.scopes.includes(scope) ?? false;

export function credential(): Credential | undefined {
  if (current?.kind === 'oidc' && current.expiresAt <= Date.now()) current = undefined;
  if (current) return current;
  const key = sessionStorage.getItem(API_KEY_ITEM);
  return key ? (current = { kind: 'api_key', key }) : undefined;
}

export function signInWithApiKey(key: string): void {
  current = { kind: 'api_key', key };
  known = undefined;
  sessionStorage.setItem(API_KEY_ITEM, key);
}

export function signInWithToken(token: Extract<Credential, { kind: 'oidc' }>): void {
  sessionStorage.removeItem(API_KEY_ITEM);
  current = token;
  known = undefined;
}

export function signOut(): void {
  current = undefined;
  known = undefined;
  sessionStorage.removeItem(API_KEY_ITEM);
}

export function authorization(): string | undefined {
  const signedIn = credential();
  if (!signedIn) return undefined;
  return `Bearer ${signedIn.kind === 'api_key' ? signedIn.key : signedIn.accessToken}`;
}

/** For the header: the service's word on who this is when known, else what the console holds. */
export function describe(signedIn: Credential): string {
  if (known?.credential === 'api_key' && known.api_key) return `Signed in with API key ${known.api_key.name}`;
  if (known?.credential === 'jwt' && known.subject) return `Signed in as ${known.subject} (${known.issuer ? hostOf(known.issuer) : 'identity provider'})`;
  return signedIn.kind === 'api_key' ? 'Signed in with an API key' : `Signed in as ${signedIn.subject ?? 'unknown'} (${signedIn.provider})`;
}

function hostOf(url: string): string {
  return URL.canParse(url) ? new URL(url).host : url;
}
