import { fieldError, ProblemException } from './problem/problem';

const ID = /^[1-9]\d{0,18}$/;
const MAX_BIGINT = 2n ** 63n - 1n;

/**
 * Keyset cursors over a bigint id (newest first), opaque to clients in the style of the chain search: base64url JSON
 * of the last id read. Decoding refuses anything this API did not write, naming the `cursor` field.
 */
export function encodeIdCursor(id: string): string {
  return Buffer.from(JSON.stringify([id]), 'utf8').toString('base64url');
}

export function decodeIdCursor(cursor: string): string {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(parsed) && parsed.length === 1 && typeof parsed[0] === 'string' && ID.test(parsed[0]) && BigInt(parsed[0]) <= MAX_BIGINT) return parsed[0];
  } catch {
    // Falls through to the problem below: whatever was sent, it is not one of our cursors.
  }
  throw new ProblemException('invalid-request', {
    detail: 'the cursor is not one this API returned',
    errors: [fieldError(['cursor'], 'invalid_cursor', 'pass next_cursor of the previous page unchanged')],
  });
}
