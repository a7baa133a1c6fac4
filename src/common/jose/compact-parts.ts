export type JsonObject = Record<string, unknown>;

/**
 * One base64url part of a compact JWS or JWE, as the JSON object it must be, or undefined. A lenient reader for
 * telling a sender exactly what is wrong before any signature is checked; jose verifies the token itself.
 */
export function decodeJsonPart(part: string): JsonObject | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonObject) : undefined;
  } catch {
    return undefined;
  }
}
