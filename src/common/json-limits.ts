import { fieldError, type FieldError } from './problem/problem';

export interface JsonLimits {
  /** Deepest nesting of objects and arrays, the top value counting as depth 1. */
  readonly maxDepth: number;
  /** Most items in any one array. */
  readonly maxArrayItems: number;
  /** Most members in any one object. */
  readonly maxObjectMembers: number;
}

export const EVENT_JSON_LIMITS: JsonLimits = { maxDepth: 12, maxArrayItems: 256, maxObjectMembers: 256 };

/**
 * Every other JSON body (client registrations with their JWKS, sources, API keys): roomier than an event, but bounded,
 * so that no schema check or library walking the value (Nest's pipe strips prototype keys recursively) meets a
 * nesting deep enough to exhaust the stack.
 */
export const BODY_JSON_LIMITS: JsonLimits = { maxDepth: 16, maxArrayItems: 1024, maxObjectMembers: 256 };

/**
 * Finds the first place where a parsed JSON value exceeds the limits, walking iteratively so that a hostile
 * nesting depth cannot exhaust the stack. Run before schema validation, which recurses.
 */
export function findJsonLimitViolation(value: unknown, limits: JsonLimits, prefix: readonly (string | number)[] = []): FieldError | undefined {
  const pending: { value: unknown; path: readonly (string | number)[]; depth: number }[] = [{ value, path: prefix, depth: 1 }];
  while (pending.length > 0) {
    const current = pending.pop()!;
    if (current.value === null || typeof current.value !== 'object') continue;
    if (current.depth > limits.maxDepth) {
      return fieldError(current.path, 'too_deep', `nesting deeper than ${limits.maxDepth} levels is not accepted`);
    }
    if (Array.isArray(current.value)) {
      if (current.value.length > limits.maxArrayItems) {
        return fieldError(current.path, 'too_many_items', `arrays of more than ${limits.maxArrayItems} items are not accepted`);
      }
      // Pushed last to first, so that the stack yields them in document order and the first violation is reported.
      for (let index = current.value.length - 1; index >= 0; index--) {
        pending.push({ value: current.value[index], path: [...current.path, index], depth: current.depth + 1 });
      }
    } else {
      const entries = Object.entries(current.value);
      if (entries.length > limits.maxObjectMembers) {
        return fieldError(current.path, 'too_many_members', `objects of more than ${limits.maxObjectMembers} members are not accepted`);
      }
      for (let index = entries.length - 1; index >= 0; index--) {
        const [key, member] = entries[index]!;
        pending.push({ value: member, path: [...current.path, key], depth: current.depth + 1 });
      }
    }
  }
  return undefined;
}
