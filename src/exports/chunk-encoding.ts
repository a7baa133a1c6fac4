import { promisify } from 'node:util';
import { brotliCompress, brotliDecompress, constants } from 'node:zlib';

/**
 * How a stored chunk of an export's file is encoded. Brotli at quality 1 compresses NDJSON and CSV about five to six
 * times at several hundred MB/s (docs/PERFORMANCE.md, exports): writing the file to PostgreSQL and reading it back
 * for a download cost more than compressing it. A chunk that does not shrink (a PDF, already compressed) is stored
 * as it is. The file's SHA-256, Range offsets and Content-Length are of the file itself, never of a stored encoding.
 */
export type ChunkEncoding = 'identity' | 'br';

const compress = promisify(brotliCompress);
const decompress = promisify(brotliDecompress);

/** Quality 1 of 11: the fastest setting that still finds the repetition of JSON members and CSV cells. */
const BROTLI_QUALITY = 1;
const BROTLI_WINDOW_BITS = 20;

/** zlib's smallest output buffer is 64 bytes; a tiny chunk still gets a usable one. */
const MIN_OUTPUT_BUFFER = 1024;

/** Encodes a chunk for storage (on libuv's thread pool: the file's next chunk fills meanwhile). */
export async function encodeChunk(data: Buffer): Promise<{ encoding: ChunkEncoding; data: Buffer }> {
  if (data.length === 0) return { encoding: 'identity', data };
  const compressed = await compress(data, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
      [constants.BROTLI_PARAM_SIZE_HINT]: data.length,
      // A window of 1 MiB (the default chunk) rather than 4: as small, no worse, and the decoder's ring buffer (one
      // per chunk a download reads ahead) is sized by it.
      [constants.BROTLI_PARAM_LGWIN]: BROTLI_WINDOW_BITS,
    },
    // Output buffers of a quarter of the chunk (it shrinks about six times, so usually one): zlib's default (16 KiB)
    // makes a trip between the thread pool and the event loop for every 16 KiB written, and one buffer of the chunk's
    // size would allocate the whole file again outside V8's heap, which V8 answers with full collections.
    chunkSize: Math.max(data.length >> 2, MIN_OUTPUT_BUFFER),
  });
  return compressed.length < data.length ? { encoding: 'br', data: compressed } : { encoding: 'identity', data };
}

/** A stored chunk that does not decode to exactly the bytes its place in the file holds. */
export class DamagedChunk extends Error {}

/**
 * The bytes of a stored chunk (read in pieces), which must be exactly `expectedBytes` long (every chunk but the last
 * is a whole chunk): a changed or truncated row is refused here rather than sent as part of the file. Decompression
 * stops past the expected size, so a forged row cannot make the service inflate a bomb. An uncompressed chunk keeps
 * its pieces.
 */
export async function decodeChunk(stored: { encoding: ChunkEncoding; pieces: Buffer[] }, expectedBytes: number, name: string): Promise<Buffer[]> {
  let pieces = stored.pieces;
  if (stored.encoding === 'br') {
    try {
      pieces = [await decompress(Buffer.concat(pieces), { maxOutputLength: Math.max(expectedBytes, 1), chunkSize: Math.max(expectedBytes, MIN_OUTPUT_BUFFER) })];
    } catch (error) {
      throw new DamagedChunk(`${name} does not decode (${(error as Error).message})`);
    }
  }
  const bytes = pieces.reduce((sum, piece) => sum + piece.length, 0);
  if (bytes !== expectedBytes) throw new DamagedChunk(`${name} holds ${bytes} bytes where the file has ${expectedBytes}`);
  return pieces;
}
