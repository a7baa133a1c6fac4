import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';

/** The browser's sha256.ts (same contract): synchronous, which WebCrypto's digest is not, and a few kilobytes. */
export function sha256(...parts: readonly Uint8Array[]): Uint8Array {
  const hash = nobleSha256.create();
  for (const part of parts) hash.update(part);
  return hash.digest();
}
