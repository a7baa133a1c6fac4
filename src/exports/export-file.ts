import { createHash, type Hash } from 'node:crypto';

/** Stores one chunk of an export's file; false when the job is no longer this run's (cancelled, taken over). */
export type StoreChunk = (chunk: { no: number; data: Buffer }, progress: { bytes: number }) => Promise<boolean>;

export class FileWriteStopped extends Error {}

/**
 * An export's file as it is written: hashed on the way, cut into chunks of exactly `chunkBytes` (so that a byte
 * offset names its chunk, for Range reads) and stored one chunk while the next is filled.
 *
 * Memory stays flat whatever the file's size: two chunk buffers are allocated once and used in turn (one being
 * stored, one being filled), and the text appended is copied into them, so a million-record export leaves no trail
 * of large buffers for the garbage collector to find late (bench:export measures the service's RSS).
 */
export class ExportFile {
  private readonly hash: Hash = createHash('sha256');
  private filling: Buffer;
  private spare: Buffer;
  private filled = 0;
  private chunkNo = 0;
  private bytes = 0;
  private storing: Promise<void> = Promise.resolve();

  constructor(
    private readonly chunkBytes: number,
    private readonly storeChunk: StoreChunk,
  ) {
    this.filling = Buffer.allocUnsafe(chunkBytes);
    this.spare = Buffer.allocUnsafe(chunkBytes);
  }

  /** Appends text (UTF-8). Keep pieces small (well under 128 KB): larger strings live in V8's large-object space. */
  async append(text: string): Promise<void> {
    if (text.length === 0) return;
    await this.write(Buffer.from(text, 'utf8'));
  }

  async appendBytes(data: Buffer): Promise<void> {
    await this.write(data);
  }

  /**
   * Appends bytes [start, end) of `data`, copied. Returns a promise only when the caller must wait (a filled chunk
   * waits for the one before it to be stored), so that a writer of a million small lines awaits rarely; the caller
   * awaits it before writing again.
   */
  write(data: Buffer, start = 0, end = data.length): Promise<void> | undefined {
    let offset = start;
    while (offset < end) {
      const copied = data.copy(this.filling, this.filled, offset, end);
      this.filled += copied;
      offset += copied;
      if (this.filled === this.chunkBytes) {
        const rest = offset;
        return rest < end ? this.storeFilling().then(() => this.write(data, rest, end)) : this.storeFilling();
      }
    }
    return undefined;
  }

  /** Stores what is left (an empty file is one empty chunk) and waits for every chunk to be stored. */
  async finish(): Promise<{ bytes: number; sha256: Buffer }> {
    if (this.filled > 0 || this.chunkNo === 0) await this.storeFilling();
    await this.storing;
    return { bytes: this.bytes, sha256: this.hash.digest() };
  }

  /** Waits for the chunk being stored, then stores the one filled and fills the other buffer meanwhile. */
  private async storeFilling(): Promise<void> {
    await this.storing;
    const data = this.filling.subarray(0, this.filled);
    // Hashed a chunk at a time (the chunks are the file, in order), not a call per appended piece.
    this.hash.update(data);
    const no = this.chunkNo;
    this.chunkNo += 1;
    this.bytes += data.length;
    this.storing = this.storeChunk({ no, data }, { bytes: this.bytes }).then((stored) => {
      if (!stored) throw new FileWriteStopped();
    });
    // Awaited by the next store or by finish(); a failure meanwhile is not an unhandled rejection.
    this.storing.catch(() => undefined);
    [this.filling, this.spare] = [this.spare, this.filling];
    this.filled = 0;
  }
}
