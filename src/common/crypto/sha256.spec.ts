import { randomBytes } from 'node:crypto';
import { sha256 as browserSha256 } from './sha256.browser';
import { sha256 } from './sha256';

describe('SHA-256 in the service and in the review console', () => {
  it('gives the same hash for the same parts, whichever way they are split', () => {
    for (const size of [0, 1, 55, 56, 64, 1000]) {
      const bytes = new Uint8Array(randomBytes(size));
      const cut = Math.floor(size / 3);
      const expected = Buffer.from(sha256(bytes)).toString('hex');
      expect(Buffer.from(browserSha256(bytes.subarray(0, cut), bytes.subarray(cut))).toString('hex')).toBe(expected);
      expect(Buffer.from(sha256(bytes.subarray(0, cut), bytes.subarray(cut))).toString('hex')).toBe(expected);
    }
    expect(Buffer.from(browserSha256()).toString('hex')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });
});
