import secureJson from 'secure-json-parse';
import { fieldError, type FieldError } from './problem/problem';

/**
 * A body that is not acceptable JSON text, with the field errors that say where when it can tell: RFC 8259 JSON
 * exchanged between systems is UTF-8, and a parse must not turn two different byte strings into one value.
 */
export class JsonInputError extends Error {
  constructor(
    message: string,
    readonly errors: readonly FieldError[] = [],
  ) {
    super(message);
    this.name = 'JsonInputError';
  }
}

// fatal: a byte sequence that is not UTF-8 throws instead of becoming U+FFFD, so that two different signed bodies
// can never decode to one text; ignoreBOM keeps a BOM in the text, where the JSON parser decides about it.
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The bytes as text, refusing anything that is not UTF-8. */
export function decodeUtf8(bytes: Uint8Array, path: readonly (string | number)[] = []): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    throw new JsonInputError('the body is not valid UTF-8', [fieldError(path, 'invalid_utf8', 'is not valid UTF-8')]);
  }
}

/** The most duplicate members reported for one body, or for one item of a body that is an array (a batch). */
const MAX_REPORTED_DUPLICATES = 16;

/**
 * The paths of members whose name repeats an earlier member of the same object (I-JSON, RFC 7493 section 2.3):
 * JSON.parse keeps the last, another consumer may keep the first, and the two would read different evidence.
 * Runs over text that JSON.parse accepted, so it only tracks structure and member names; names are compared
 * decoded ("a" and "\u0061" are the same name). One pass, no recursion. When the text is an array, every item is
 * scanned to the end (a batch rejects each item with a duplicate), with at most 16 reported per item.
 */
export function findDuplicateMembers(text: string): (string | number)[][] {
  const found: (string | number)[][] = [];
  const topIsArray = text.trimStart().startsWith('[');
  // Items of a top-level array come one after the other: a count for the current one is enough.
  let countedItem: string | number | undefined;
  let count = 0;
  // Per open container: the names seen so far (objects) or null (arrays); and the current member name or index.
  const names: (Set<string> | null)[] = [];
  const path: (string | number)[] = [];
  let expectName = false;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code === 0x22 /* " */) {
      let end = index;
      // The closing quote is the next one not escaped, i.e. not preceded by an odd run of backslashes.
      for (;;) {
        end = text.indexOf('"', end + 1);
        let backslash = end - 1;
        while (text.charCodeAt(backslash) === 0x5c) backslash--;
        if ((end - 1 - backslash) % 2 === 0) break;
      }
      if (expectName) {
        const raw = text.slice(index + 1, end);
        const name = raw.includes('\\') ? (JSON.parse(text.slice(index, end + 1)) as string) : raw;
        const seen = names[names.length - 1]!;
        path[path.length - 1] = name;
        if (seen.has(name)) {
          const item = topIsArray ? path[0] : undefined;
          if (item !== countedItem) [countedItem, count] = [item, 0];
          if (count < MAX_REPORTED_DUPLICATES) {
            found.push([...path]);
            count++;
          } else if (!topIsArray) {
            return found;
          }
        } else {
          seen.add(name);
        }
        expectName = false;
      }
      index = end;
    } else if (code === 0x7b /* { */) {
      names.push(new Set());
      path.push('');
      expectName = true;
    } else if (code === 0x5b /* [ */) {
      names.push(null);
      path.push(0);
    } else if (code === 0x7d /* } */ || code === 0x5d /* ] */) {
      names.pop();
      path.pop();
      expectName = false;
    } else if (code === 0x2c /* , */) {
      if (names[names.length - 1] === null) path[path.length - 1] = (path[path.length - 1] as number) + 1;
      else expectName = true;
    }
  }
  return found;
}

/** Parsed JSON and the paths of its duplicate members, for callers that reject parts of a body (batch items). */
export function parseJsonKeepingDuplicates(input: Uint8Array | string, path: readonly (string | number)[] = []): { value: unknown; duplicates: (string | number)[][] } {
  const text = typeof input === 'string' ? input : decodeUtf8(input, path);
  let value: unknown;
  try {
    value = secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (error) {
    throw new JsonInputError((error as Error).message);
  }
  // A scalar has no members; skipping it keeps the common small bodies cheap.
  const duplicates = value !== null && typeof value === 'object' ? findDuplicateMembers(text) : [];
  return { value, duplicates: duplicates.map((duplicate) => [...path, ...duplicate]) };
}

export function duplicateMembersError(duplicates: readonly (readonly (string | number)[])[]): JsonInputError {
  return new JsonInputError(
    `a member name appears twice in one object (${duplicates.map((duplicate) => fieldError(duplicate, '', '').pointer).join(', ')})`,
    duplicates.map((duplicate) => fieldError(duplicate, 'duplicate_member', 'this member name appears earlier in the same object')),
  );
}

/**
 * Parses JSON as the service accepts it: UTF-8 only, no `__proto__` or `constructor.prototype` members (refused
 * rather than carried into a record), and no member name twice in one object. Throws JsonInputError.
 */
export function parseStrictJson(input: Uint8Array | string, path: readonly (string | number)[] = []): unknown {
  const { value, duplicates } = parseJsonKeepingDuplicates(input, path);
  if (duplicates.length > 0) throw duplicateMembersError(duplicates);
  return value;
}
