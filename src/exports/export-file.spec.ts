import { createHash } from 'node:crypto';
import { ExportFile, FileWriteStopped } from './export-file';

describe('ExportFile', () => {
  it('cuts the file into chunks of exactly the chunk size, in order, and hashes the whole file', async () => {
    const stored: { no: number; data: Buffer; bytes: number }[] = [];
    const file = new ExportFile(10, async (chunk, progress) => {
      // The buffer handed over is reused once this resolves: copy it, as the database driver has sent it by then.
      stored.push({ no: chunk.no, data: Buffer.from(chunk.data), bytes: progress.bytes });
      return true;
    });
    // Multi-byte characters land across chunk boundaries: chunks are cut by bytes, not characters.
    const pieces = ['abc', 'défghijklmnopq', '', 'r'.repeat(25), 'ü'];
    for (const piece of pieces) await file.append(piece);
    const result = await file.finish();
    const whole = Buffer.from(pieces.join(''), 'utf8');
    expect(result).toEqual({ bytes: whole.length, sha256: createHash('sha256').update(whole).digest() });
    expect(stored.map((chunk) => chunk.no)).toEqual([0, 1, 2, 3, 4]);
    expect(stored.map((chunk) => chunk.data.length)).toEqual([10, 10, 10, 10, whole.length - 40]);
    expect(Buffer.concat(stored.map((chunk) => chunk.data))).toEqual(whole);
    expect(stored.map((chunk) => chunk.bytes)).toEqual([10, 20, 30, 40, whole.length]);
  });

  it('hands over chunks whose bytes are not overwritten while they are being stored', async () => {
    const received: Buffer[] = [];
    const file = new ExportFile(4, async (chunk) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      received.push(Buffer.from(chunk.data));
      return true;
    });
    for (let index = 0; index < 20; index++) await file.append(String(index % 10).repeat(3));
    await file.finish();
    expect(Buffer.concat(received).toString('utf8')).toBe(Array.from({ length: 20 }, (_, index) => String(index % 10).repeat(3)).join(''));
  });

  it('stores an empty file as one empty chunk', async () => {
    const stored: number[] = [];
    const file = new ExportFile(8, async (chunk) => {
      stored.push(chunk.data.length);
      return true;
    });
    expect((await file.finish()).bytes).toBe(0);
    expect(stored).toEqual([0]);
  });

  it('stops when a chunk is refused (the job is no longer this run), and passes a storage failure on', async () => {
    const refused = new ExportFile(2, async (chunk) => chunk.no === 0);
    await refused.append('abcd');
    await expect(refused.append('ef')).rejects.toBeInstanceOf(FileWriteStopped);

    const failing = new ExportFile(2, async () => {
      throw new Error('connection lost');
    });
    await failing.append('ab');
    await expect(failing.finish()).rejects.toThrow('connection lost');
  });
});
