/**
 * A reader of PostgreSQL's binary COPY format ("COPY ... TO STDOUT (FORMAT binary)", PostgreSQL docs, COPY, "Binary
 * Format"): an 11-byte signature, a 32-bit flags field and a header extension, then one tuple per row (a 16-bit field
 * count, and per field a 32-bit length, -1 for NULL, then the value's bytes), then a 16-bit -1.
 *
 * Written here rather than taken from npm: the one package for it (pg-copy-streams-binary) decodes every value into a
 * new object per row; an export wants the bytes of a text value as they arrived, copied once into its file.
 */
const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const TRAILER = -1;

export class BinaryCopyError extends Error {}

/**
 * Where the fields of the tuple at hand are in `data`: field i is bytes [start(i), end(i)), or NULL. Valid until the
 * reader moves to the next tuple (the offsets are reused).
 */
export class Tuple {
  data: Buffer = Buffer.alloc(0);
  private readonly offsets: Int32Array;

  constructor(readonly fieldCount: number) {
    this.offsets = new Int32Array(fieldCount * 2);
  }

  start(field: number): number {
    return this.offsets[field * 2]!;
  }

  end(field: number): number {
    return this.offsets[field * 2 + 1]!;
  }

  isNull(field: number): boolean {
    return this.offsets[field * 2]! < 0;
  }

  /** A bigint column (int8) as a number: ledger seqs stay far below 2^53. */
  int8(field: number): number {
    const at = this.start(field);
    return this.data.readInt32BE(at) * 2 ** 32 + this.data.readUInt32BE(at + 4);
  }

  bool(field: number): boolean {
    return this.data[this.start(field)] === 1;
  }

  text(field: number): string {
    return this.data.toString('utf8', this.start(field), this.end(field));
  }

  /** @internal */
  set(field: number, start: number, end: number): void {
    this.offsets[field * 2] = start;
    this.offsets[field * 2 + 1] = end;
  }
}

/** Bytes of the next chunk first tried for completing a tuple that spans two chunks (grown while it is not enough). */
const SPAN_BYTES = 4096;

/**
 * Reads the tuples of a binary COPY stream as its chunks arrive (a tuple may span chunks), each with `fieldCount`
 * fields; `end()` checks that the stream ended where the format says it does. One Tuple is reused for every row: a
 * million rows make no garbage here.
 */
export class BinaryCopyReader {
  private readonly tuple: Tuple;
  private rest: Buffer | undefined;
  private headerRead = false;
  private ended = false;
  rows = 0;

  constructor(fieldCount: number) {
    this.tuple = new Tuple(fieldCount);
  }

  /** The whole tuples the chunk completes, one at a time (the same Tuple, moved on). */
  *tuples(chunk: Buffer): Generator<Tuple, void, undefined> {
    let data = chunk;
    let at = 0;
    if (!this.headerRead) {
      data = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
      this.rest = undefined;
      if (data.length < SIGNATURE.length + 8) {
        this.rest = data;
        return;
      }
      if (!data.subarray(0, SIGNATURE.length).equals(SIGNATURE)) throw new BinaryCopyError('not a binary COPY stream (signature)');
      const extension = data.readUInt32BE(SIGNATURE.length + 4);
      if (data.length < SIGNATURE.length + 8 + extension) {
        this.rest = data;
        return;
      }
      at = SIGNATURE.length + 8 + extension;
      this.headerRead = true;
    } else if (this.rest) {
      // The tuple that spans the two chunks is completed in a buffer of its own, from the rest and as much of the
      // chunk as it needs: copying the whole chunk behind the rest would allocate the stream again, outside V8's
      // heap, which V8 answers with full collections (docs/PERFORMANCE.md, exports).
      const rest = this.rest;
      this.rest = undefined;
      for (let take = Math.min(chunk.length, SPAN_BYTES); ; take = Math.min(chunk.length, take * 4)) {
        const joined = Buffer.concat([rest, chunk.subarray(0, take)]);
        const wasEnded = this.ended;
        const next = this.step(joined, 0);
        if (next >= 0) {
          at = next - rest.length;
          if (!wasEnded && !this.ended) yield this.tuple;
          break;
        }
        if (take === chunk.length) {
          this.rest = joined;
          return;
        }
      }
    }
    while (at < data.length) {
      const wasEnded = this.ended;
      const next = this.step(data, at);
      if (next < 0) break;
      at = next;
      if (!wasEnded && this.ended) continue;
      yield this.tuple;
    }
    if (at < data.length) this.rest = data.subarray(at);
  }

  /**
   * Reads the tuple (or the trailer) at `at`: the offset after it, or -1 when `data` ends inside it. A tuple read is
   * counted and left in this.tuple; the trailer sets `ended`.
   */
  private step(data: Buffer, at: number): number {
    if (this.ended) throw new BinaryCopyError('data after the binary COPY trailer');
    if (data.length - at < 2) return -1;
    const fields = data.readInt16BE(at);
    if (fields === TRAILER) {
      this.ended = true;
      return at + 2;
    }
    const tuple = this.tuple;
    if (fields !== tuple.fieldCount) throw new BinaryCopyError(`a tuple of ${fields} fields where ${tuple.fieldCount} were expected`);
    tuple.data = data;
    let next = at + 2;
    for (let field = 0; field < fields; field++) {
      if (data.length - next < 4) return -1;
      const length = data.readInt32BE(next);
      next += 4;
      if (length < 0) {
        tuple.set(field, -1, -1);
        continue;
      }
      if (data.length - next < length) return -1;
      tuple.set(field, next, next + length);
      next += length;
    }
    // Counted before it is handed out: the consumer may stop here (an error), and the reader stays consistent.
    this.rows += 1;
    return next;
  }

  /** The stream ended: it must have ended with the trailer and nothing pending. */
  end(): void {
    if (!this.ended || this.rest !== undefined) throw new BinaryCopyError('the binary COPY stream ended before its trailer');
  }
}
