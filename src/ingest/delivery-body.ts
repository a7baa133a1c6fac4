import { ProblemException } from '../common/problem/problem';
import { duplicateMembersError, JsonInputError, parseJsonKeepingDuplicates, parseStrictJson } from '../common/strict-json';

/** One item of a batch as parsed: its value and size, or why it alone is refused. */
export type ParsedItem = { readonly value: unknown; readonly bytes: number } | { readonly problem: ProblemException };

export const SINGLE_EVENT_TYPES = new Set(['application/json']);
export const BATCH_TYPES = new Set(['application/json', 'application/x-ndjson', 'application/jsonl']);

/** The media type without parameters; only UTF-8 (the default for JSON) is accepted as a charset. */
export function mediaTypeOf(contentType: string | undefined): string | undefined {
  if (!contentType) return undefined;
  const [type, ...parameters] = contentType.split(';').map((part) => part.trim().toLowerCase());
  const charset = parameters.find((parameter) => parameter.startsWith('charset='));
  if (charset && !/^charset="?utf-8"?$/.test(charset)) return undefined;
  return type;
}

export function malformedJson(error: unknown): ProblemException {
  if (!(error instanceof JsonInputError)) throw error;
  return new ProblemException('malformed-json', { detail: error.message, errors: error.errors });
}

/** A single event's body: strict JSON (UTF-8, no duplicate member names) or a malformed-json problem. */
export function parseEventBody(body: Buffer): unknown {
  try {
    return parseStrictJson(body);
  } catch (error) {
    throw malformedJson(error);
  }
}

/** A batch's items: a JSON array, or NDJSON (one envelope a line). */
export function splitBatch(mediaType: string, body: Buffer): ParsedItem[] {
  return mediaType === 'application/json' ? splitJsonArray(body) : splitNdjson(body);
}

/** A member name twice in one event rejects that event only, as in NDJSON. */
function splitJsonArray(body: Buffer): ParsedItem[] {
  let parsed: ReturnType<typeof parseJsonKeepingDuplicates>;
  try {
    parsed = parseJsonKeepingDuplicates(body);
  } catch (error) {
    throw malformedJson(error);
  }
  const { value, duplicates } = parsed;
  if (!Array.isArray(value)) throw new ProblemException('invalid-request', { detail: 'an application/json batch is an array of envelopes' });
  return value.map((item, index) => {
    const own = duplicates.filter((duplicate) => duplicate[0] === index);
    if (own.length > 0) return { problem: malformedJson(duplicateMembersError(own)) };
    return { value: item, bytes: Buffer.byteLength(JSON.stringify(item) ?? '') };
  });
}

/**
 * NDJSON lines are independent: one malformed line (or one that is not UTF-8) rejects that item only. Split on
 * the newline byte, which UTF-8 never uses inside a multi-byte character, and decode each line on its own.
 */
function splitNdjson(body: Buffer): ParsedItem[] {
  const lines: Buffer[] = [];
  for (let start = 0; start <= body.length; ) {
    const newline = body.indexOf(0x0a, start);
    const end = newline === -1 ? body.length : newline;
    let line = body.subarray(start, end);
    if (line.at(-1) === 0x0d) line = line.subarray(0, -1);
    if (line.some((byte) => byte !== 0x20 && byte !== 0x09 && byte !== 0x0d)) lines.push(line);
    start = end + 1;
  }
  return lines.map((line, index) => {
    try {
      return { value: parseStrictJson(line, [index]), bytes: line.length };
    } catch (error) {
      return { problem: malformedJson(error) };
    }
  });
}
