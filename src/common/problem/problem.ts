/**
 * RFC 9457 problem details: the one error body of the service. Every problem type has a stable URN, a status and
 * a title; docs/problems.md lists them. A problem names each offending field in `errors`.
 */
export interface FieldError {
  /** Dotted path of the offending field, e.g. `data.header.alg`. */
  readonly field: string;
  /** The same location as a JSON Pointer (RFC 6901) into the request body or query. */
  readonly pointer: string;
  /** A stable machine-readable code, e.g. `missing`, `unknown_field`, `digest_length`. */
  readonly code: string;
  readonly detail: string;
}

export const PROBLEM_TYPES = {
  'malformed-json': { status: 400, title: 'The body is not valid JSON' },
  'invalid-request': { status: 400, title: 'The request is not valid' },
  'unauthenticated': { status: 401, title: 'Authentication is required' },
  'invalid-signature': { status: 401, title: 'The webhook signature does not verify' },
  'timestamp-out-of-tolerance': { status: 401, title: 'The webhook timestamp is outside the accepted tolerance' },
  'forbidden': { status: 403, title: 'The credentials do not allow this request' },
  'event-type-not-allowed': { status: 403, title: "The source's kind may not send this event type" },
  'not-found': { status: 404, title: 'Not found' },
  'event-id-conflict': { status: 409, title: 'This event id was already received with a different body' },
  'conflict': { status: 409, title: 'The request conflicts with the current state' },
  'request-timeout': { status: 408, title: 'The request was not received in time' },
  'no-checkpoint': { status: 409, title: 'The ledger has no checkpoint yet' },
  'not-in-ledger': { status: 422, title: 'The ledger does not hold this position (yet)' },
  'payload-too-large': { status: 413, title: 'The body is larger than the limit' },
  'too-many-events': { status: 413, title: 'The batch holds more events than the limit' },
  'uri-too-long': { status: 414, title: 'A path segment is longer than the limit' },
  'headers-too-large': { status: 431, title: 'The request headers are larger than the limit' },
  'unsupported-media-type': { status: 415, title: 'The content type is not supported here' },
  'invalid-event': { status: 422, title: 'The event does not match its schema' },
  'unknown-event-type': { status: 422, title: 'The event type is not known' },
  'json-too-complex': { status: 422, title: 'The JSON is nested too deeply or holds too many items' },
  'unstorable-text': { status: 422, title: 'A string holds a NUL character or a lone surrogate' },
  'ambiguous-digest': { status: 300, title: 'The digest is an alias of several chains' },
  'range-not-satisfiable': { status: 416, title: 'The requested range lies outside the file' },
  'internal': { status: 500, title: 'Internal error' },
  'unavailable': { status: 503, title: 'The service is not available' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemCode = keyof typeof PROBLEM_TYPES;

export const PROBLEM_TYPE_PREFIX = 'urn:jartrail:problem:';

export interface ProblemDocument {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail?: string;
  readonly instance?: string;
  readonly correlation_id?: string;
  readonly errors?: readonly FieldError[];
  readonly [extension: string]: unknown;
}

export interface ProblemOptions {
  readonly detail?: string;
  readonly errors?: readonly FieldError[];
  /** Extension members (RFC 9457 section 3.2). */
  readonly extensions?: Readonly<Record<string, unknown>>;
  /** Response headers that belong to the problem, such as WWW-Authenticate on a 401. */
  readonly headers?: Readonly<Record<string, string>>;
}

export class ProblemException extends Error {
  readonly status: number;

  constructor(readonly code: ProblemCode, readonly options: ProblemOptions = {}) {
    super(options.detail ?? PROBLEM_TYPES[code].title);
    this.name = 'ProblemException';
    this.status = PROBLEM_TYPES[code].status;
  }

  toDocument(instance?: string, correlationId?: string): ProblemDocument {
    return problemDocument(this.code, this.options, instance, correlationId);
  }
}

const RESERVED_MEMBERS = new Set(['type', 'title', 'status', 'detail', 'instance', 'correlation_id', 'errors']);

export function problemDocument(
  code: ProblemCode,
  options: ProblemOptions = {},
  instance?: string,
  correlationId?: string,
): ProblemDocument {
  const { status, title } = PROBLEM_TYPES[code];
  return {
    type: `${PROBLEM_TYPE_PREFIX}${code}`,
    title,
    status,
    ...(options.detail !== undefined && { detail: options.detail }),
    ...(instance !== undefined && { instance }),
    ...(correlationId !== undefined && { correlation_id: correlationId }),
    // Extensions never override the members RFC 9457 defines.
    ...Object.fromEntries(Object.entries(options.extensions ?? {}).filter(([name]) => !RESERVED_MEMBERS.has(name))),
    ...(options.errors !== undefined && options.errors.length > 0 && { errors: options.errors }),
  };
}

export function fieldError(path: readonly (string | number)[], code: string, detail: string): FieldError {
  return {
    field: path.map(String).join('.'),
    // RFC 6901: "" is the whole document, "/" would be a member named "".
    pointer: path.map((segment) => `/${String(segment).replace(/~/g, '~0').replace(/\//g, '~1')}`).join(''),
    code,
    detail,
  };
}
