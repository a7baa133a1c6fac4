import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export const MASTER_KEY_FILE = 'master.key';

/**
 * Keys derived from the one master key. Each use gets its own HKDF-derived key so that a leak of, say, the
 * pseudonyms can never help forge a fingerprint or open a sealed source secret.
 */
export class Keyring {
  /** AES-256-GCM key that seals webhook secrets at rest. */
  readonly sealingKey: Buffer;
  /** HMAC key for subject pseudonyms (stable, so a search by subject can recompute them). */
  private readonly pseudonymKey: Buffer;
  /** HMAC key for event body fingerprints (keyed, so a stored fingerprint cannot be brute-forced back to a subject). */
  private readonly fingerprintKey: Buffer;
  /** HMAC key for fingerprints of unknown API keys presented to the service (kept in the access records). */
  private readonly presentedKeyFingerprintKey: Buffer;
  /** AES-256-GCM key that seals the ledger's checkpoint signing keys at rest. */
  readonly ledgerKeySealingKey: Buffer;
  /** A value that identifies the master key without revealing it; stored in the database to catch a replica with another key. */
  readonly checkValue: string;

  constructor(masterKey: Buffer) {
    if (masterKey.length !== 32) throw new Error('the master key must be 32 bytes');
    const derive = (purpose: string) => Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), `jartrail ${purpose}`, 32));
    this.sealingKey = derive('source secret sealing v1');
    this.pseudonymKey = derive('subject pseudonym v1');
    this.fingerprintKey = derive('event fingerprint v1');
    this.ledgerKeySealingKey = derive('ledger signing key sealing v1');
    this.presentedKeyFingerprintKey = derive('presented key fingerprint v1');
    this.checkValue = derive('key check v1').toString('base64url');
  }

  pseudonymOf(subject: string): string {
    return `psn:${createHmac('sha256', this.pseudonymKey).update(subject, 'utf8').digest('base64url')}`;
  }

  fingerprintOf(canonicalJson: string): Buffer {
    return createHmac('sha256', this.fingerprintKey).update(canonicalJson, 'utf8').digest();
  }

  /**
   * Tells repeated tries with one unknown key apart without keeping the key: keyed (whatever was pasted, a password
   * even, cannot be guessed back without the master key) and cut to 96 bits, enough to tell tries apart.
   */
  presentedKeyFingerprintOf(presented: string): string {
    return `kfp:${createHmac('sha256', this.presentedKeyFingerprintKey).update(presented, 'utf8').digest().subarray(0, 12).toString('base64url')}`;
  }
}

/**
 * The master key comes from configuration, or from a key file in the data folder that is created on first start.
 * Replicas must share it: the database remembers its check value and a replica with another key refuses to start.
 */
export async function loadOrCreateMasterKey(configured: string | undefined, dataDir: string): Promise<Buffer> {
  if (configured) return Buffer.from(configured, 'base64url');
  const path = join(dataDir, MASTER_KEY_FILE);
  try {
    const stored = (await readFile(path, 'utf8')).trim();
    const key = Buffer.from(stored, 'base64url');
    if (key.length !== 32) throw new Error(`${path} does not hold a 32-byte base64url key`);
    return key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  // Written whole to a private temporary file, then linked into place: link() fails if another process won the
  // race, and then that process's key is the one to use. Nobody ever reads a half-written key.
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temporary, `${randomBytes(32).toString('base64url')}\n`, { flag: 'wx', mode: 0o600 });
  try {
    await link(temporary, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    await unlink(temporary);
  }
  return loadOrCreateMasterKey(undefined, dataDir);
}
