import { parseStrictJson } from '../strict-json';

export type JsonObject = Record<string, unknown>;

/**
 * Canonical base64url (RFC 7515 section 2, RFC 4648 sections 3.5 and 5): the URL-safe alphabet only, no padding,
 * and zero bits in what the last character holds beyond the last byte. A lenient decoder (Node's, jose's) maps
 * up to 16 spellings of one last character to the same bytes, so that one signed object would have 16
 * serializations that all verify, each with its own digest. Canonical is exactly what re-encoding gives back.
 */
export function isCanonicalBase64Url(part: string): boolean {
  return Buffer.from(part, 'base64url').toString('base64url') === part;
}

/** The names of the parts, in order, for saying which one is wrong. */
const JWS_PARTS = ['header', 'payload', 'signature'] as const;
const JWE_PARTS = ['header', 'encrypted key', 'initialization vector', 'ciphertext', 'authentication tag'] as const;

export type CompactParts =
  | { readonly ok: true; readonly kind: 'jws'; readonly parts: readonly [string, string, string] }
  | { readonly ok: true; readonly kind: 'jwe'; readonly parts: readonly [string, string, string, string, string] }
  | { readonly ok: false; readonly problem: string };

/**
 * The one reader of compact serializations, for SETs and request objects alike: three parts (a JWS) or five (a
 * JWE), each canonical base64url, or why not. Anything it refuses has no single digest and is never verified.
 */
export function readCompactParts(compact: string): CompactParts {
  const parts = compact.split('.');
  const names = parts.length === 3 ? JWS_PARTS : parts.length === 5 ? JWE_PARTS : undefined;
  if (!names) return { ok: false, problem: `a compact JWS has 3 parts and a JWE 5; this has ${parts.length}` };
  const bad = parts.findIndex((part) => !isCanonicalBase64Url(part));
  if (bad >= 0) return { ok: false, problem: `the ${names[bad]!} is not canonical base64url (padding, a character outside the alphabet, or non-zero unused bits)` };
  return parts.length === 3
    ? { ok: true, kind: 'jws', parts: parts as unknown as readonly [string, string, string] }
    : { ok: true, kind: 'jwe', parts: parts as unknown as readonly [string, string, string, string, string] };
}

/**
 * One base64url part of a compact JWS or JWE, as the JSON object it must be, or undefined. A lenient reader for
 * telling a sender exactly what is wrong before any signature is checked; jose verifies the token itself.
 */
export function decodeJsonPart(part: string): JsonObject | undefined {
  try {
    // Strict: UTF-8 only and no member name twice, so that the claims read here are the ones every reader sees.
    const value: unknown = parseStrictJson(Buffer.from(part, 'base64url'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonObject) : undefined;
  } catch {
    return undefined;
  }
}


/** Why a JOSE header's `kid` is unusable, or undefined: when present it is a string (RFC 7515 section 4.1.4). */
export function kidProblem(header: JsonObject): string | undefined {
  return header.kid === undefined || typeof header.kid === 'string' ? undefined : `kid must be a string, not ${header.kid === null ? 'null' : Array.isArray(header.kid) ? 'an array' : typeof header.kid}`;
}
