import { parseStrictJson } from '../strict-json';

export type JsonObject = Record<string, unknown>;

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
