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

/**
 * Parses JSON as the service accepts it: UTF-8 only, and no `__proto__` or `constructor.prototype` members
 * (refused rather than carried into a record). Throws JsonInputError.
 */
export function parseStrictJson(input: Uint8Array | string, path: readonly (string | number)[] = []): unknown {
  const text = typeof input === 'string' ? input : decodeUtf8(input, path);
  try {
    return secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (error) {
    throw new JsonInputError((error as Error).message);
  }
}
