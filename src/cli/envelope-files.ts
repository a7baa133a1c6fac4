import { createHash } from 'node:crypto';
import { canonicalJson } from '../common/canonical-json';

/** What one file asks to send: a single event (POST /v1/events) or a batch (POST /v1/events/batch). */
export type EnvelopeDelivery =
  | {
      readonly kind: 'event';
      /** The event id, sent as webhook-id: the envelope's own "id", or one derived from its content. */
      readonly eventId: string;
      /** The file's text as written (less a byte-order mark): what gets signed and sent. */
      readonly body: string;
    }
  | {
      readonly kind: 'batch';
      /** One NDJSON line per item, in file order, each envelope with its "id". */
      readonly lines: readonly string[];
    };

/** A file the CLI cannot send: not JSON, or not envelopes. */
export class EnvelopeFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnvelopeFileError';
  }
}

const NDJSON_NAME = /\.(ndjson|jsonl)$/i;

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function tryParse(text: string): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return { ok: false, message: (error as Error).message };
  }
}

/**
 * The id of an envelope that has none: a hash of its content (RFC 8785 canonical JSON). Sending the same file
 * again then finds the same ids, and the service answers "duplicate" instead of recording every event twice,
 * which matters for evidence (a verification recorded twice would look like a replayed request_uri).
 */
export function contentEventId(envelope: JsonObject): string {
  return `evt_${createHash('sha256').update(canonicalJson(envelope), 'utf8').digest('base64url')}`;
}

/** The webhook-id of a single event; it must be a string, since it goes in a header. */
function eventIdOf(name: string, envelope: JsonObject): string {
  if (!('id' in envelope)) return contentEventId(envelope);
  if (typeof envelope.id !== 'string' || envelope.id === '') throw new EnvelopeFileError(`${name}: "id" must be a non-empty string`);
  return envelope.id;
}

/**
 * A batch item as one NDJSON line, given an id first if it has none. Anything else about the item (not an object,
 * an id that is not a string) is for the service to judge: it rejects that item alone, at its index.
 */
function batchLine(item: unknown): string {
  return JSON.stringify(isObject(item) && !('id' in item) ? { id: contentEventId(item), ...item } : item);
}

function ndjsonLines(name: string, text: string): string[] {
  const lines: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') continue;
    const parsed = tryParse(line);
    // An unreadable line still goes, as it is: the service then rejects that item alone, at its index, like
    // any other bad item, and the rest of the file is recorded.
    lines.push(parsed.ok ? batchLine(parsed.value) : line);
  }
  if (lines.length === 0) throw new EnvelopeFileError(`${name}: holds no envelopes`);
  return lines;
}

/**
 * Reads a file's text as envelopes: a JSON object is one event, a JSON array or NDJSON (by the name .ndjson or
 * .jsonl, or by content: several lines that are each JSON) is a batch. `name` only labels errors.
 */
export function envelopesOf(name: string, text: string): EnvelopeDelivery {
  const content = text.replace(/^\uFEFF/, '');
  if (NDJSON_NAME.test(name)) return { kind: 'batch', lines: ndjsonLines(name, content) };

  const whole = tryParse(content);
  if (whole.ok) {
    if (isObject(whole.value)) return { kind: 'event', eventId: eventIdOf(name, whole.value), body: content };
    if (Array.isArray(whole.value)) {
      if (whole.value.length === 0) throw new EnvelopeFileError(`${name}: holds no envelopes`);
      return { kind: 'batch', lines: whole.value.map(batchLine) };
    }
    throw new EnvelopeFileError(`${name}: holds neither an envelope (a JSON object) nor envelopes (an array or NDJSON)`);
  }
  // Several lines whose first is JSON on its own: NDJSON. Otherwise it is one broken document, and its own
  // parse error says more than one error per line would.
  const nonBlank = content.split('\n').filter((line) => line.trim() !== '');
  if (nonBlank.length > 1 && tryParse(nonBlank[0]!).ok) return { kind: 'batch', lines: ndjsonLines(name, content) };
  throw new EnvelopeFileError(content.trim() === '' ? `${name}: is empty` : `${name}: is not JSON: ${whole.message}`);
}

/** Splits a batch into requests of at most `size` items, so that a large file stays under the service's limit. */
export function chunksOf<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let start = 0; start < items.length; start += size) chunks.push(items.slice(start, start + size));
  return chunks;
}
