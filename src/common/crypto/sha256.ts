import { createHash } from 'node:crypto';

/**
 * SHA-256 of the parts, concatenated. The review console's browser bundle swaps this file for sha256.browser.ts
 * (src/console/console-build.ts), so that the ledger's proof checks run unchanged in the service, the CLI and the
 * browser; the service keeps Node's native hash.
 */
export function sha256(...parts: readonly Uint8Array[]): Uint8Array {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
}
