import { randomBytes } from 'node:crypto';
import { DamagedChunk, decodeChunk, encodeChunk } from './chunk-encoding';

describe('chunk encoding', () => {
  const lines = Buffer.from(Array.from({ length: 2000 }, (_, index) => `{"ledger_seq":${index},"kind":"event","type":"tool.call","data":{"tool":"mail"}}\n`).join(''));

  it('stores text compressed and gives back exactly the bytes it was given', async () => {
    const stored = await encodeChunk(lines);
    expect(stored.encoding).toBe('br');
    expect(stored.data.length).toBeLessThan(lines.length / 4);
    expect(Buffer.concat(await decodeChunk({ encoding: stored.encoding, pieces: [stored.data] }, lines.length, 'chunk 0')).equals(lines)).toBe(true);
  });

  it('stores bytes that do not shrink (a PDF, random bytes) and an empty chunk as they are', async () => {
    const random = randomBytes(64 * 1024);
    expect(await encodeChunk(random)).toEqual({ encoding: 'identity', data: random });
    expect(await encodeChunk(Buffer.alloc(0))).toEqual({ encoding: 'identity', data: Buffer.alloc(0) });
    expect(await decodeChunk({ encoding: 'identity', pieces: [random.subarray(0, 100), random.subarray(100)] }, random.length, 'chunk 0')).toEqual([random.subarray(0, 100), random.subarray(100)]);
  });

  it('refuses a stored chunk that is cut, altered, or decodes to more or fewer bytes than its place in the file holds', async () => {
    const stored = await encodeChunk(lines);
    const cut = { encoding: 'br' as const, pieces: [stored.data.subarray(0, stored.data.length - 10)] };
    await expect(decodeChunk(cut, lines.length, 'chunk 3 of export x')).rejects.toThrow(new DamagedChunk('chunk 3 of export x does not decode (unexpected end of file)'));
    const altered = Buffer.from(stored.data);
    altered[altered.length >> 1] ^= 0xff;
    await expect(decodeChunk({ encoding: 'br', pieces: [altered] }, lines.length, 'chunk 3')).rejects.toThrow(DamagedChunk);
    await expect(decodeChunk({ encoding: 'br', pieces: [stored.data.subarray(0, 20), stored.data.subarray(20)] }, lines.length + 1, 'chunk 3')).rejects.toThrow(`chunk 3 holds ${lines.length} bytes where the file has ${lines.length + 1}`);
    await expect(decodeChunk({ encoding: 'identity', pieces: [lines] }, lines.length - 1, 'chunk 3')).rejects.toThrow(DamagedChunk);
  });

  it('stops inflating a forged chunk past the size it may have (no decompression bomb)', async () => {
    const bomb = await encodeChunk(Buffer.alloc(64 * 1024 * 1024));
    expect(bomb.data.length).toBeLessThan(64 * 1024);
    const used = process.memoryUsage().arrayBuffers;
    await expect(decodeChunk({ encoding: 'br', pieces: [bomb.data] }, 1024 * 1024, 'chunk 0')).rejects.toThrow(/chunk 0 does not decode \(.*(exceeds|larger).*\)/);
    expect(process.memoryUsage().arrayBuffers - used).toBeLessThan(8 * 1024 * 1024);
  });
});
