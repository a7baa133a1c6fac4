import { fieldError, type FieldError } from './problem/problem';

/**
 * Why a string cannot be stored as it is: PostgreSQL refuses NUL in `text` and `jsonb` (the whole statement, so the
 * whole batch, fails), and a lone UTF-16 surrogate has no UTF-8 encoding (`jsonb` refuses its escape; a `text`
 * column would silently get U+FFFD, a different value than the one signed).
 */
export type UnstorableReason = 'nul_character' | 'lone_surrogate';

/** `\p{Cs}` under the `u` flag matches only a surrogate that is not half of a pair. */
// eslint-disable-next-line no-control-regex -- NUL is exactly what this looks for
export const UNSTORABLE_CHARACTER = /[\u0000\p{Cs}]/u;

export function unstorableReasonOf(text: string): UnstorableReason | undefined {
  const found = UNSTORABLE_CHARACTER.exec(text);
  if (!found) return undefined;
  return found[0] === '\u0000' ? 'nul_character' : 'lone_surrogate';
}

const DETAILS: Readonly<Record<UnstorableReason, string>> = {
  nul_character: 'holds a NUL character (\\u0000), which cannot be stored',
  lone_surrogate: 'holds a lone UTF-16 surrogate, which is not a Unicode character',
};

export function unstorableTextError(path: readonly (string | number)[], reason: UnstorableReason): FieldError {
  return fieldError(path, reason, DETAILS[reason]);
}

/** A place in the walk; its path is built only when it is reported, so deep nesting costs linear time. */
interface Place {
  readonly value: unknown;
  readonly parent: Place | undefined;
  readonly key: string | number | undefined;
}

function pathOf(place: Place, prefix: readonly (string | number)[]): (string | number)[] {
  const path: (string | number)[] = [];
  for (let current: Place | undefined = place; current?.parent !== undefined; current = current.parent) path.push(current.key!);
  return [...prefix, ...path.reverse()];
}

/**
 * The first string (a value or a member name) in a parsed JSON value that cannot be stored, in document order;
 * a bad member name is reported at the member's own path. Iterative, so that nesting cannot exhaust the stack.
 */
export function findUnstorableText(value: unknown, prefix: readonly (string | number)[] = []): FieldError | undefined {
  const pending: Place[] = [{ value, parent: undefined, key: undefined }];
  while (pending.length > 0) {
    const current = pending.pop()!;
    if (typeof current.value === 'string') {
      const reason = unstorableReasonOf(current.value);
      if (reason) return unstorableTextError(pathOf(current, prefix), reason);
    } else if (Array.isArray(current.value)) {
      // Pushed last to first, so that the stack yields them in document order and the first one is reported.
      for (let index = current.value.length - 1; index >= 0; index--) pending.push({ value: current.value[index], parent: current, key: index });
    } else if (current.value !== null && typeof current.value === 'object') {
      const keys = Object.keys(current.value);
      for (let index = keys.length - 1; index >= 0; index--) {
        const key = keys[index]!;
        // A bad name is pushed as its own string, so that it still comes out in document order, at the member's path.
        const member = unstorableReasonOf(key) ? key : (current.value as Record<string, unknown>)[key];
        pending.push({ value: member, parent: current, key });
      }
    }
  }
  return undefined;
}

const UNSTORABLE_ANYWHERE = new RegExp(UNSTORABLE_CHARACTER.source, 'gu');

/**
 * Text PostgreSQL can store: it refuses NUL in `text` and `jsonb`, and a lone surrogate in `jsonb` (and UTF-8 has
 * no encoding for one). Each becomes U+FFFD. For what jartrail writes itself about attacker-made input (a verdict's
 * reasons quote the object, an error message quotes jose): the record of it must not fail to be written.
 */
export function storableText(text: string): string {
  return text.replace(UNSTORABLE_ANYWHERE, '\uFFFD');
}

/** The same value with every string in it, member names included, made storable. */
export function storableJson<T>(value: T): T {
  if (typeof value === 'string') return storableText(value) as T;
  if (Array.isArray(value)) return value.map(storableJson) as T;
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([name, member]) => [storableText(name), storableJson(member)])) as T;
  }
  return value;
}
