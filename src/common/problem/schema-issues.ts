import type { StandardSchemaV1 } from '@standard-schema/spec';
import { fieldError, type FieldError } from './problem';

type IssuePathSegment = PropertyKey | StandardSchemaV1.PathSegment;

/** The subset of a zod issue this module reads; any Standard Schema issue fits it. */
interface SchemaIssue {
  readonly message: string;
  readonly path?: readonly IssuePathSegment[] | undefined;
  readonly code?: string;
  readonly keys?: readonly string[];
  readonly params?: { readonly code?: string };
}

/** The issue codes with which a schema refuses an absent value. */
const ABSENCE_CODES = new Set(['invalid_type', 'invalid_value', 'invalid_union']);

function segmentOf(segment: IssuePathSegment): string | number {
  const key = typeof segment === 'object' && segment !== null ? segment.key : segment;
  return typeof key === 'number' ? key : String(key);
}

function isAbsent(input: unknown, path: readonly (string | number)[]): boolean {
  let current: unknown = input;
  for (const segment of path) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, segment)) return true;
    current = (current as Record<string | number, unknown>)[segment];
  }
  return current === undefined;
}

/**
 * Turns schema issues into field errors: one per offending field, an unknown key named as its own field, and a
 * missing field told apart from a field of the wrong type (by looking at the validated input itself).
 */
export function fieldErrorsFromIssues(
  issues: readonly SchemaIssue[],
  input: unknown,
  prefix: readonly (string | number)[] = [],
): FieldError[] {
  const errors: FieldError[] = [];
  for (const issue of issues) {
    const relativePath = (issue.path ?? []).map(segmentOf);
    const path = [...prefix, ...relativePath];
    if (issue.code === 'unrecognized_keys' && issue.keys) {
      for (const key of issue.keys) errors.push(fieldError([...path, key], 'unknown_field', 'this field is not part of the schema'));
    } else if (ABSENCE_CODES.has(issue.code ?? '') && isAbsent(input, relativePath)) {
      // An absent enum or literal fails as invalid_value in zod 4, an absent union as invalid_union; for the client
      // it is missing all the same.
      errors.push(fieldError(path, 'missing', 'this field is required'));
    } else {
      errors.push(fieldError(path, issue.params?.code ?? issue.code ?? 'invalid', issue.message));
    }
  }
  return errors;
}
