import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Keyring, loadOrCreateMasterKey, MASTER_KEY_FILE, masterKeyIdOf, SealingKeys, UnknownMasterKeyError } from './keyring';
import { open, seal } from './secret-box';

const FIXED_MASTER_KEY = Buffer.alloc(32, 7);

describe('Keyring', () => {
  const keyring = new Keyring(FIXED_MASTER_KEY);
  const otherKeyring = new Keyring(Buffer.alloc(32, 8));

  it('refuses a master key that is not 32 bytes', () => {
    expect(() => new Keyring(Buffer.alloc(16))).toThrow('the master key must be 32 bytes');
    expect(() => new Keyring(Buffer.alloc(33))).toThrow('the master key must be 32 bytes');
  });

  it('derives the same keys from the same master key in every release (stored pseudonyms and sealed secrets depend on it)', () => {
    // Pinned values: a change to the derivation would orphan every stored pseudonym, fingerprint and sealed secret.
    expect(keyring.checkValue).toBe('odpv_wu1cqyBi3g4xZKn6xYeXX7sYxqio7uqJxLv_LU');
    expect(keyring.pseudonymOf('alice')).toBe('psn:dKlmTNrxyMe5jqpC8sxSVOuRPXF-J7mvLpIvstR11No');
    expect(keyring.fingerprintOf('{}').toString('base64url')).toBe('wOJdweXpzi1h9YdKghwby3oZi_ESA7jz6yhb2jvALTo');
    expect(keyring.sealingKey.toString('base64url')).toBe('X4oIF6C8PNv1tYcPXSsfLpUMUgI7mGUpk8mz-LqMyu8');
  });

  it('derives a different key for each purpose', () => {
    const sealing = keyring.sealingKey.toString('base64url');
    const check = keyring.checkValue;
    // The pseudonym and fingerprint keys are HMAC keys: the same input under each gives different outputs.
    const pseudonym = keyring.pseudonymOf('same input').slice('psn:'.length);
    const fingerprint = keyring.fingerprintOf('same input').toString('base64url');
    expect(new Set([sealing, check, pseudonym, fingerprint]).size).toBe(4);
    expect(keyring.sealingKey).toHaveLength(32);
  });

  it('never uses the master key itself for any purpose', () => {
    expect(keyring.sealingKey.equals(FIXED_MASTER_KEY)).toBe(false);
    expect(keyring.checkValue).not.toBe(FIXED_MASTER_KEY.toString('base64url'));
  });

  it('gives a subject the same pseudonym every time under the same master key', () => {
    expect(keyring.pseudonymOf('user-42')).toBe(new Keyring(Buffer.from(FIXED_MASTER_KEY)).pseudonymOf('user-42'));
    expect(keyring.pseudonymOf('user-42')).toMatch(/^psn:[A-Za-z0-9_-]{43}$/);
  });

  it('gives different subjects different pseudonyms', () => {
    expect(keyring.pseudonymOf('user-42')).not.toBe(keyring.pseudonymOf('user-43'));
    expect(keyring.pseudonymOf('Zoë')).not.toBe(keyring.pseudonymOf('Zoe'));
  });

  it('gives the same subject different pseudonyms under different master keys', () => {
    expect(keyring.pseudonymOf('user-42')).not.toBe(otherKeyring.pseudonymOf('user-42'));
  });

  it('fingerprints the same content alike and other content or another key differently', () => {
    expect(keyring.fingerprintOf('{"a":1}').equals(keyring.fingerprintOf('{"a":1}'))).toBe(true);
    expect(keyring.fingerprintOf('{"a":1}').equals(keyring.fingerprintOf('{"a":2}'))).toBe(false);
    expect(keyring.fingerprintOf('{"a":1}').equals(otherKeyring.fingerprintOf('{"a":1}'))).toBe(false);
  });

  it('identifies the master key by a check value that differs between keys', () => {
    expect(keyring.checkValue).not.toBe(otherKeyring.checkValue);
  });

  it('seals with a key that another master key cannot open', () => {
    const sealed = seal(keyring.sealingKey, Buffer.from('whsec_x'), 'source:1');
    expect(open(new Keyring(FIXED_MASTER_KEY).sealingKey, sealed, 'source:1').toString()).toBe('whsec_x');
    expect(() => open(otherKeyring.sealingKey, sealed, 'source:1')).toThrow();
  });
});

describe('loadOrCreateMasterKey', () => {
  let dataDir: string;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'jartrail-keyring-'));
  });

  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('uses the configured key and writes no file', async () => {
    const configured = randomBytes(32);
    const key = await loadOrCreateMasterKey(configured.toString('base64url'), dataDir);
    expect(key.equals(configured)).toBe(true);
    await expect(stat(join(dataDir, MASTER_KEY_FILE))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('creates a 32-byte key file readable by its owner only on first start', async () => {
    const key = await loadOrCreateMasterKey(undefined, dataDir);
    const path = join(dataDir, MASTER_KEY_FILE);
    expect(key).toHaveLength(32);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await readFile(path, 'utf8')).trim()).toBe(key.toString('base64url'));
  });

  it('reads the same key back on the next start', async () => {
    const first = await loadOrCreateMasterKey(undefined, dataDir);
    const second = await loadOrCreateMasterKey(undefined, dataDir);
    expect(second.equals(first)).toBe(true);
  });

  it('creates the data folder when it does not exist yet', async () => {
    const nested = join(dataDir, 'a', 'b');
    const key = await loadOrCreateMasterKey(undefined, nested);
    expect((await readFile(join(nested, MASTER_KEY_FILE), 'utf8')).trim()).toBe(key.toString('base64url'));
  });

  it('reads a key file written by hand, with or without a trailing newline', async () => {
    const stored = randomBytes(32);
    await writeFile(join(dataDir, MASTER_KEY_FILE), stored.toString('base64url'), { mode: 0o600 });
    expect((await loadOrCreateMasterKey(undefined, dataDir)).equals(stored)).toBe(true);
  });

  it.each([
    ['a 16-byte key', randomBytes(16).toString('base64url')],
    ['a 33-byte key', randomBytes(33).toString('base64url')],
    ['an empty file', ''],
  ])('refuses a key file holding %s rather than replacing it', async (_name, content) => {
    const path = join(dataDir, MASTER_KEY_FILE);
    await writeFile(path, content, { mode: 0o600 });
    await expect(loadOrCreateMasterKey(undefined, dataDir)).rejects.toThrow(`${path} does not hold a 32-byte base64url key`);
    expect(await readFile(path, 'utf8')).toBe(content);
  });

  it('reports a data folder it cannot read instead of creating a new key', async () => {
    // The key file's place is taken by a directory: reading it fails with something other than ENOENT.
    await mkdir(join(dataDir, MASTER_KEY_FILE));
    await expect(loadOrCreateMasterKey(undefined, dataDir)).rejects.toMatchObject({ code: 'EISDIR' });
  });

  it('never overwrites a key that a concurrent first start wrote', async () => {
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => loadOrCreateMasterKey(undefined, dataDir)));
    const onDisk = Buffer.from((await readFile(join(dataDir, MASTER_KEY_FILE), 'utf8')).trim(), 'base64url');
    const keys = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) expect(key.equals(onDisk)).toBe(true);
  });
});

describe('SealingKeys', () => {
  const current = Buffer.alloc(32, 9);
  const previous = Buffer.alloc(32, 7);
  const rotated = new Keyring(current, [previous]);
  const before = new Keyring(previous);

  it('seals under the current key and names it; opens what any held key sealed', () => {
    const sealed = rotated.sealing.seal('secret', Buffer.from('whsec_x'), 'source:1');
    expect(sealed.sealedBy).toBe(masterKeyIdOf(current));
    expect(rotated.sealing.open('secret', sealed, 'source:1').toString()).toBe('whsec_x');
    const old = before.sealing.seal('secret', Buffer.from('whsec_y'), 'source:2');
    expect(old.sealedBy).toBe(masterKeyIdOf(previous));
    expect(rotated.sealing.open('secret', old, 'source:2').toString()).toBe('whsec_y');
  });

  it('names the key when a value was sealed under one it does not hold', () => {
    const sealed = rotated.sealing.seal('secret', Buffer.from('whsec_x'), 'source:1');
    expect(() => before.sealing.open('secret', sealed, 'source:1')).toThrow(UnknownMasterKeyError);
    expect(() => before.sealing.open('secret', sealed, 'source:1')).toThrow(`sealed under master key ${masterKeyIdOf(current)}, which this replica does not hold`);
  });

  it('keeps the sealing key of the pinned derivation, so values sealed before rotation existed still open', () => {
    const sealed = seal(before.sealingKey, Buffer.from('whsec_x'), 'source:1');
    expect(rotated.sealing.open('secret', { sealed, sealedBy: masterKeyIdOf(previous) }, 'source:1').toString()).toBe('whsec_x');
    expect(masterKeyIdOf(previous)).toBe(before.checkValue.slice(0, 16));
  });

  it('hands a worker only the keys of one purpose, which open that purpose alone', () => {
    const forWorker = rotated.sealing.only('ledger key');
    expect(JSON.stringify(forWorker)).not.toContain(current.toString('base64url'));
    const worker = SealingKeys.fromOnly('ledger key', forWorker);
    const ledgerKey = rotated.sealing.seal('ledger key', Buffer.from('{"d":"x"}'), 'kid-1');
    expect(worker.open('ledger key', ledgerKey, 'kid-1').toString()).toBe('{"d":"x"}');
    const secret = rotated.sealing.seal('secret', Buffer.from('whsec_x'), 'kid-1');
    expect(() => worker.open('secret', secret, 'kid-1')).toThrow(UnknownMasterKeyError);
  });

  it('derives pseudonyms from the adopted service keys, not from the current master key', () => {
    const keyring = new Keyring(current, [previous]);
    expect(keyring.pseudonymOf('alice')).not.toBe(before.pseudonymOf('alice'));
    keyring.adoptServiceKeys(keyring.serviceKeysDerivedFrom(before.checkValue)!);
    expect(keyring.pseudonymOf('alice')).toBe(before.pseudonymOf('alice'));
    expect(keyring.fingerprintOf('{}').equals(before.fingerprintOf('{}'))).toBe(true);
    expect(keyring.serviceKeysDerivedFrom(new Keyring(Buffer.alloc(32, 1)).checkValue)).toBeUndefined();
  });
});
