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

export function credential(): Credential | undefined {
  if (current?.kind === 'oidc' && current.expiresAt <= Date.now()) current = undefined;
  if (current) return current;
  const key = sessionStorage.getItem(API_KEY_ITEM);
  return key ? (current = { kind: 'api_key', key }) : undefined;
}

export function signInWithApiKey(key: string): void {
  current = { kind: 'api_key', key };
  sessionStorage.setItem(API_KEY_ITEM, key);
}

export function signInWithToken(token: Extract<Credential, { kind: 'oidc' }>): void {
  sessionStorage.removeItem(API_KEY_ITEM);
  current = token;
}

export function signOut(): void {
  current = undefined;
  sessionStorage.removeItem(API_KEY_ITEM);
}

export function authorization(): string | undefined {
  const signedIn = credential();
  if (!signedIn) return undefined;
  return `Bearer ${signedIn.kind === 'api_key' ? signedIn.key : signedIn.accessToken}`;
}

export function describe(signedIn: Credential): string {
  return signedIn.kind === 'api_key' ? 'API key' : `${signedIn.provider}${signedIn.subject ? ` (${signedIn.subject})` : ''}`;
}
