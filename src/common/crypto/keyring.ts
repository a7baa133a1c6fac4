import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { open, seal } from './secret-box';

export const MASTER_KEY_FILE = 'master.key';

/** Names a master key without revealing it: the start of its check value. Sealed values record it. */
export type MasterKeyId = string & { readonly __brand: 'MasterKeyId' };

/** What a key derived from a master key seals: webhook secrets and decryption keys, or ledger signing keys. */
export type SealPurpose = 'secret' | 'ledger key';

/** A sealed value and the master key it was sealed under. */
export interface SealedValue {
  readonly sealed: Buffer;
  readonly sealedBy: MasterKeyId;
}

/** A value was sealed under a master key this process was not given. */
export class UnknownMasterKeyError extends Error {
  constructor(readonly keyId: string) {
    super(
      `sealed under master key ${keyId}, which this replica does not hold: give it that key in JARTRAIL_PREVIOUS_MASTER_KEYS ` +
        `until \`jartrail keys rotate-master\` has re-sealed everything under the current key`,
    );
    this.name = 'UnknownMasterKeyError';
  }
}

const derive = (masterKey: Buffer, purpose: string) => Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), `jartrail ${purpose}`, 32));
const checkValueOf = (masterKey: Buffer) => derive(masterKey, 'key check v1').toString('base64url');
const KEY_ID_LENGTH = 16;

export function masterKeyIdOf(masterKey: Buffer): MasterKeyId {
  return checkValueOf(masterKey).slice(0, KEY_ID_LENGTH) as MasterKeyId;
}

const SEALING_DERIVATIONS: Record<SealPurpose, string> = { secret: 'source secret sealing v1', 'ledger key': 'ledger signing key sealing v1' };

/**
 * The sealing keys derived from each master key this process holds: the current one seals, every one opens. A
 * value records the id of the key that sealed it, so a rotation can find what is left to re-seal.
 */
export class SealingKeys {
  private constructor(
    readonly currentId: MasterKeyId,
    private readonly keys: ReadonlyMap<MasterKeyId, Partial<Record<SealPurpose, Buffer>>>,
  ) {}

  static fromMasterKeys(current: Buffer, previous: readonly Buffer[]): SealingKeys {
    const keys = new Map<MasterKeyId, Partial<Record<SealPurpose, Buffer>>>();
    for (const masterKey of [current, ...previous]) {
      keys.set(masterKeyIdOf(masterKey), { secret: derive(masterKey, SEALING_DERIVATIONS.secret), 'ledger key': derive(masterKey, SEALING_DERIVATIONS['ledger key']) });
    }
    return new SealingKeys(masterKeyIdOf(current), keys);
  }

  /** Only the keys of one purpose, as plain data for a worker thread (which must never see a master key). */
  only(purpose: SealPurpose): { readonly currentId: MasterKeyId; readonly keys: Readonly<Record<string, string>> } {
    return { currentId: this.currentId, keys: Object.fromEntries([...this.keys].map(([id, derived]) => [id, derived[purpose]!.toString('base64url')])) };
  }

  static fromOnly(purpose: SealPurpose, data: ReturnType<SealingKeys['only']>): SealingKeys {
    return new SealingKeys(data.currentId, new Map(Object.entries(data.keys).map(([id, key]) => [id as MasterKeyId, { [purpose]: Buffer.from(key, 'base64url') }])));
  }

  /** Every key id held, the current one first. */
  get ids(): MasterKeyId[] {
    return [this.currentId, ...[...this.keys.keys()].filter((id) => id !== this.currentId)];
  }

  holds(id: string): boolean {
    return this.keys.has(id as MasterKeyId);
  }

  seal(purpose: SealPurpose, plaintext: Buffer, associatedData: string): SealedValue {
    return { sealed: seal(this.keyOf(this.currentId, purpose), plaintext, associatedData), sealedBy: this.currentId };
  }

  /** Throws UnknownMasterKeyError for a value sealed under a key this process was not given. */
  open(purpose: SealPurpose, value: SealedValue, associatedData: string): Buffer {
    return open(this.keyOf(value.sealedBy, purpose), value.sealed, associatedData);
  }

  private keyOf(id: MasterKeyId, purpose: SealPurpose): Buffer {
    const key = this.keys.get(id)?.[purpose];
    if (!key) throw new UnknownMasterKeyError(id);
    return key;
  }
}

/** The keys that must outlive every master key: stored pseudonyms, fingerprints and searches depend on them. */
export interface ServiceKeys {
  readonly pseudonym: Buffer;
  readonly fingerprint: Buffer;
}

/**
 * Keys derived from the master keys. Each use gets its own HKDF-derived key so that a leak of, say, the
 * pseudonyms can never help forge a fingerprint or open a sealed source secret. The pseudonym and fingerprint
 * keys are derived from the first master key the database was set up with and then kept in the database, sealed
 * (DatabaseBootstrap adopts them at start), so that rotating the master key changes no pseudonym or fingerprint.
 */
export class Keyring {
  /** Seals and opens webhook secrets, decryption keys and ledger signing keys at rest. */
  readonly sealing: SealingKeys;
  /** HMAC key for subject pseudonyms (stable, so a search by subject can recompute them). */
  private pseudonymKey: Buffer;
  /** HMAC key for event body fingerprints (keyed, so a stored fingerprint cannot be brute-forced back to a subject). */
  private fingerprintKey: Buffer;
  /** A value that identifies the current master key without revealing it. */
  readonly checkValue: string;
  /** The current master key's AES-256-GCM key for secrets (what `sealing` seals them with). */
  readonly sealingKey: Buffer;
  /** The service keys each master key held would derive, by its check value; the master keys themselves are not kept. */
  private readonly derivedServiceKeys: ReadonlyMap<string, ServiceKeys>;

  constructor(masterKey: Buffer, previousMasterKeys: readonly Buffer[] = []) {
    for (const key of [masterKey, ...previousMasterKeys]) if (key.length !== 32) throw new Error('the master key must be 32 bytes');
    this.sealing = SealingKeys.fromMasterKeys(masterKey, previousMasterKeys);
    ({ pseudonym: this.pseudonymKey, fingerprint: this.fingerprintKey } = Keyring.serviceKeysOf(masterKey));
    this.checkValue = checkValueOf(masterKey);
    this.sealingKey = derive(masterKey, SEALING_DERIVATIONS.secret);
    this.derivedServiceKeys = new Map([masterKey, ...previousMasterKeys].map((key) => [checkValueOf(key), Keyring.serviceKeysOf(key)]));
  }

  /** The service keys as the master key with this check value derives them; undefined when no key held has it. */
  serviceKeysDerivedFrom(checkValue: string): ServiceKeys | undefined {
    return this.derivedServiceKeys.get(checkValue);
  }

  /** The pseudonym and fingerprint keys kept in the database replace the ones derived from the current key. */
  adoptServiceKeys(keys: ServiceKeys): void {
    this.pseudonymKey = keys.pseudonym;
    this.fingerprintKey = keys.fingerprint;
  }

  pseudonymOf(subject: string): string {
    return `psn:${createHmac('sha256', this.pseudonymKey).update(subject, 'utf8').digest('base64url')}`;
  }

  fingerprintOf(canonicalJson: string): Buffer {
    return createHmac('sha256', this.fingerprintKey).update(canonicalJson, 'utf8').digest();
  }

  /**
   * Tells repeated tries with one unknown key apart without keeping the key: keyed (whatever was pasted, a password
   * even, cannot be guessed back without the keys) and cut to 96 bits, enough to tell tries apart. Derived from the
   * fingerprint key, which outlives master-key rotations, so one key keeps one fingerprint across them.
   */
  presentedKeyFingerprintOf(presented: string): string {
    const key = Buffer.from(hkdfSync('sha256', this.fingerprintKey, Buffer.alloc(0), 'jartrail presented key fingerprint v1', 32));
    return `kfp:${createHmac('sha256', key).update(presented, 'utf8').digest().subarray(0, 12).toString('base64url')}`;
  }

  private static serviceKeysOf(masterKey: Buffer): ServiceKeys {
    return { pseudonym: derive(masterKey, 'subject pseudonym v1'), fingerprint: derive(masterKey, 'event fingerprint v1') };
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
