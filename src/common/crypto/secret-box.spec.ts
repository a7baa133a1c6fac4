import { randomBytes } from 'node:crypto';
import { open, seal } from './secret-box';

const key = randomBytes(32);
const secret = Buffer.from('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'utf8');
const sourceRow = 'source:7f1c2d4e-0000-4000-8000-000000000001';

function flipBit(sealed: Buffer, index: number): Buffer {
  const copy = Buffer.from(sealed);
  copy[index] ^= 0x01;
  return copy;
}

describe('sealing a source secret', () => {
  it('opens to the sealed plaintext with the same key and associated data', () => {
    expect(open(key, seal(key, secret, sourceRow), sourceRow).equals(secret)).toBe(true);
  });

  it('round-trips an empty plaintext', () => {
    expect(open(key, seal(key, Buffer.alloc(0), sourceRow), sourceRow)).toHaveLength(0);
  });

  it('does not contain the plaintext', () => {
    expect(seal(key, secret, sourceRow).includes(secret)).toBe(false);
  });

  it('uses a fresh nonce each time, so sealing the same secret twice gives different bytes', () => {
    const first = seal(key, secret, sourceRow);
    const second = seal(key, secret, sourceRow);
    expect(first.equals(second)).toBe(false);
    expect(first.subarray(0, 12).equals(second.subarray(0, 12))).toBe(false);
  });

  it('adds exactly a 12-byte nonce and a 16-byte tag to the plaintext', () => {
    expect(seal(key, secret, sourceRow)).toHaveLength(secret.length + 12 + 16);
  });

  it('does not open when copied onto another row (other associated data)', () => {
    const sealed = seal(key, secret, sourceRow);
    expect(() => open(key, sealed, 'source:7f1c2d4e-0000-4000-8000-000000000002')).toThrow();
  });

  it('does not open with another key', () => {
    expect(() => open(randomBytes(32), seal(key, secret, sourceRow), sourceRow)).toThrow();
  });

  it('does not open when any single bit was flipped: nonce, ciphertext or tag', () => {
    const sealed = seal(key, secret, sourceRow);
    for (let index = 0; index < sealed.length; index += 1) {
      expect(() => open(key, flipBit(sealed, index), sourceRow)).toThrow();
    }
  });

  it('does not open when truncated', () => {
    const sealed = seal(key, secret, sourceRow);
    expect(() => open(key, sealed.subarray(0, sealed.length - 1), sourceRow)).toThrow();
  });

  it('refuses a value too short to hold a nonce and a tag', () => {
    expect(() => open(key, Buffer.alloc(27), sourceRow)).toThrow('sealed value is too short');
  });
});
