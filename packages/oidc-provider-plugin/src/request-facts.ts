import { digestOf, jsonDigest, sha256Base64Url, type RequestObjectVerificationData } from '@jartrail/agent-sdk';

/** The part of a verification report that the request itself determines (the rest is the AS's verdict). */
export type RequestFacts = Pick<RequestObjectVerificationData, 'digest' | 'unsigned' | 'header' | 'encryption' | 'inner_digest' | 'claims' | 'request_object'>;

type Json = Record<string, unknown>;

function decodePart(part: string | undefined): Json | undefined {
  if (part === undefined || !/^[A-Za-z0-9_-]+$/.test(part)) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
  } catch {
    return undefined;
  }
}

const text = (value: unknown, max: number): string | undefined => (typeof value === 'string' && value.length > 0 && value.length <= max ? value : undefined);
const numericDate = (value: unknown): number | undefined => (Number.isSafeInteger(value) && (value as number) >= 0 && (value as number) <= 253402300799 ? (value as number) : undefined);
const absoluteUri = (value: unknown): string | undefined => (typeof value === 'string' && value.length <= 2048 && URL.canParse(value) ? value : undefined);
const SCOPE = /^[\x21\x23-\x5B\x5D-\x7E]+( [\x21\x23-\x5B\x5D-\x7E]+)*$/;

function oneOrMany<T>(value: unknown, item: (value: unknown) => T | undefined): T | T[] | undefined {
  if (Array.isArray(value)) {
    const items = value.map(item);
    return items.length > 0 && items.length <= 32 && items.every((entry) => entry !== undefined) ? (items as T[]) : undefined;
  }
  return item(value);
}

function authorizationDetails(value: unknown): { type: string }[] | undefined {
  // RFC 9396 details arrive as a JSON array in the object (or as a JSON string in a plain request).
  const parsed: unknown = typeof value === 'string' ? (() => { try { return JSON.parse(value); } catch { return undefined; } })() : value;
  if (!Array.isArray(parsed) || parsed.length === 0 || parsed.length > 64) return undefined;
  const valid = parsed.every((detail) => typeof detail === 'object' && detail !== null && text((detail as Json).type, 256) !== undefined);
  return valid ? (parsed as { type: string }[]) : undefined;
}

/**
 * The claim facts jartrail keeps (SPEC "Event types"): each claim only when it has the shape jartrail accepts, so
 * that one odd claim in a refused object cannot get the whole report refused; `state` and `nonce` only as hashes.
 */
export function claimFacts(payload: Json): RequestFacts['claims'] {
  const facts: Record<string, unknown> = {
    iss: text(payload.iss, 2048),
    aud: oneOrMany(payload.aud, (value) => text(value, 2048)),
    exp: numericDate(payload.exp),
    iat: numericDate(payload.iat),
    nbf: numericDate(payload.nbf),
    jti: text(payload.jti, 256),
    response_type: text(payload.response_type, 256),
    redirect_uri: absoluteUri(payload.redirect_uri),
    scope: typeof payload.scope === 'string' && payload.scope.length <= 4096 && SCOPE.test(payload.scope) ? payload.scope : undefined,
    resource: oneOrMany(payload.resource, absoluteUri),
    authorization_details: authorizationDetails(payload.authorization_details),
    state_hash: typeof payload.state === 'string' ? sha256Base64Url(payload.state) : undefined,
    nonce_hash: typeof payload.nonce === 'string' ? sha256Base64Url(payload.nonce) : undefined,
  };
  return Object.fromEntries(Object.entries(facts).filter(([, value]) => value !== undefined));
}

function jwsHeader(header: Json | undefined): NonNullable<RequestFacts['header']> {
  // A header jartrail cannot read: `alg` says so rather than the report being refused for want of one.
  const alg = text(header?.alg, 64) ?? 'unreadable';
  const kid = text(header?.kid, 1024);
  const typ = text(header?.typ, 256);
  return { alg, ...(kid !== undefined && { kid }), ...(typ !== undefined && { typ }) };
}

const COMPACT = /^[A-Za-z0-9_-]*(\.[A-Za-z0-9_-]*){2}((\.[A-Za-z0-9_-]*){2})?$/;

export interface RequestObjectOptions {
  /** Send the compact serialization itself, so jartrail can verify it independently (default true). */
  readonly includeRequestObject?: boolean;
}

/**
 * The facts of a request object as the AS received it. `received` is the compact JWS or JWE exactly as it arrived
 * (its digest is the chain's key); `decrypted` is the JWS the AS found inside a JWE, when it could decrypt it
 * (its digest is reported as `inner_digest`, which jartrail keeps as an alias of the chain).
 */
export function requestObjectFacts(received: string, decrypted: string | undefined, options: RequestObjectOptions = {}): RequestFacts {
  const parts = received.split('.');
  const encrypted = parts.length === 5;
  const jws = encrypted ? decrypted : received;
  const jwsParts = jws?.split('.');
  const facts: RequestFacts = {
    digest: digestOf(received),
    header: jwsHeader(decodePart(jwsParts?.[0])),
    claims: claimFacts(decodePart(jwsParts?.[1]) ?? {}),
  };
  const withEncryption: RequestFacts = encrypted
    ? {
        ...facts,
        encryption: (() => {
          const header = decodePart(parts[0]);
          const kid = text(header?.kid, 1024);
          return { alg: text(header?.alg, 64) ?? 'unreadable', enc: text(header?.enc, 64) ?? 'unreadable', ...(kid !== undefined && { kid }) };
        })(),
        ...(jws !== undefined && { inner_digest: digestOf(jws) }),
      }
    : facts;
  const include = (options.includeRequestObject ?? true) && COMPACT.test(received) && received.length <= 192 * 1024;
  return include ? { ...withEncryption, request_object: received } : withEncryption;
}

/** Client authentication travels beside the authorization request; it is not part of what the client asked. */
const NOT_REQUEST_PARAMETERS = new Set(['client_secret', 'client_assertion', 'client_assertion_type']);

/**
 * A plain authorization request (no request object): jartrail's digest of it is base64url(SHA-256(RFC 8785 JSON of
 * its parameters)), here every parameter as received (strings, or arrays for repeated ones) except client
 * authentication, and the chain is marked unsigned.
 */
export function plainRequestFacts(parameters: Readonly<Record<string, unknown>>): RequestFacts {
  const kept = Object.fromEntries(Object.entries(parameters).filter(([name, value]) => !NOT_REQUEST_PARAMETERS.has(name) && value !== undefined));
  return { digest: jsonDigest(kept), unsigned: true, claims: claimFacts({ ...kept, aud: undefined, iss: undefined }) };
}

/** The facts of an object the AS stored earlier (a pushed request), read back to report a later use of it. */
export function storedObjectFacts(stored: string): Pick<RequestFacts, 'header' | 'claims'> {
  const [header, payload] = stored.split('.');
  return { header: jwsHeader(decodePart(header)), claims: claimFacts(decodePart(payload) ?? {}) };
}
