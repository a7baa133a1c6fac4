import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { UnknownMasterKeyError } from '../crypto/keyring';
import { PROBLEM_TYPES, ProblemException, type ProblemCode } from './problem';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** Fastify's own 4xx errors (body parsing, limits), told apart by their codes. */
const FASTIFY_ERRORS: Readonly<Record<string, ProblemCode>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload-too-large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported-media-type',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'malformed-json',
  FST_ERR_CTP_INVALID_JSON_BODY: 'malformed-json',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid-request',
  FST_ERR_CTP_EMPTY_TYPE: 'unsupported-media-type',
  FST_ERR_CTP_INVALID_TYPE: 'unsupported-media-type',
  FST_ERR_BAD_URL: 'invalid-request',
  FST_ERR_MAX_PARAM_LENGTH: 'uri-too-long',
};

/** Fastify's router errors quote the whole path; the problem's `instance` already names it. */
const FASTIFY_DETAILS: Readonly<Record<string, string>> = {
  FST_ERR_BAD_URL: 'the path is not valid percent-encoded UTF-8',
  FST_ERR_MAX_PARAM_LENGTH: 'a path parameter is longer than the router accepts',
};

/** The problem for an error that only says its HTTP status (Nest's HttpExceptions, other fastify errors). */
const STATUS_CODES: ReadonlyMap<number, ProblemCode> = new Map([
  [400, 'invalid-request'],
  [401, 'unauthenticated'],
  [403, 'forbidden'],
  [404, 'not-found'],
  [409, 'conflict'],
  [413, 'payload-too-large'],
  [414, 'uri-too-long'],
  [415, 'unsupported-media-type'],
  [422, 'invalid-request'],
  [503, 'unavailable'],
]);

/**
 * Connection-level failures: the database is down, restarting, full, or did not answer within
 * DATABASE_STATEMENT_TIMEOUT_MS (57014, PostgreSQL's statement_timeout). Retryable, so 503 rather than 500.
 */
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', '57P01', '57P02', '57P03', '53300', '57014']);

/**
 * The same failures as node-postgres reports them without a code: a connection lost mid-statement, a server that
 * did not answer within query_timeout or connectionTimeoutMillis, a pooled client already broken.
 */
const UNAVAILABLE_MESSAGES = [
  /^Connection terminated/,
  /^Query read timeout$/,
  /^timeout exceeded when trying to connect$/,
  /^Client has encountered a connection error and is not queryable$/,
  /^Client was closed and is not queryable$/,
];

/** Seconds a client should wait before sending again when the database is unavailable. */
const RETRY_AFTER_SECONDS = 5;

function isDatabaseUnavailable(exception: unknown): boolean {
  const error = exception as { code?: unknown; message?: unknown; driverError?: { code?: unknown; message?: unknown } } | undefined;
  const code = error?.driverError?.code ?? error?.code;
  if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
  const message = error?.driverError?.message ?? error?.message;
  return typeof message === 'string' && UNAVAILABLE_MESSAGES.some((pattern) => pattern.test(message));
}

export function toProblem(exception: unknown): ProblemException {
  if (exception instanceof ProblemException) return exception;
  if (isDatabaseUnavailable(exception)) {
    // Every write is one transaction: when it fails, nothing was written. When the connection was lost during the
    // commit itself the outcome is unknown, and sending again is still right (an event id is recorded once).
    return new ProblemException('unavailable', {
      detail: 'the database is not available or did not answer in time; send again later',
      headers: { 'Retry-After': String(RETRY_AFTER_SECONDS) },
    });
  }
  // A value sealed under a master key this replica was not given: a deployment fault the operator can fix, so
  // retryable; the message names only the key id.
  if (exception instanceof UnknownMasterKeyError) return new ProblemException('unavailable', { detail: `a value this needs is ${exception.message}` });
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const code = STATUS_CODES.get(status) ?? (status >= 500 ? 'internal' : 'invalid-request');
    return new ProblemException(code, { detail: status >= 500 ? undefined : exception.message });
  }
  const fastifyError = exception as { code?: unknown; statusCode?: unknown; message?: unknown };
  if (typeof fastifyError?.code === 'string' && fastifyError.code.startsWith('FST_')) {
    const code = FASTIFY_ERRORS[fastifyError.code] ?? (typeof fastifyError.statusCode === 'number' ? STATUS_CODES.get(fastifyError.statusCode) : undefined);
    if (code && PROBLEM_TYPES[code].status < 500) return new ProblemException(code, { detail: FASTIFY_DETAILS[fastifyError.code] ?? String(fastifyError.message) });
  }
  return new ProblemException('internal');
}

/**
 * The one exception filter: every error leaves as RFC 9457 problem details with the correlation id, and a 500
 * says nothing of its cause (which goes to the log, with the same correlation id).
 */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger('ProblemFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const context = host.switchToHttp();
    replyWithProblem(context.getRequest<FastifyRequest>(), context.getResponse<FastifyReply>(), exception, this.logger);
  }
}

/** Writes an error as problem details; also used for the errors fastify's router answers before Nest sees them. */
export function replyWithProblem(request: FastifyRequest | undefined, reply: FastifyReply, exception: unknown, logger: Pick<Logger, 'error'>): void {
  const problem = toProblem(exception);
  if (problem.status >= 500) {
    logger.error({ err: exception, correlationId: request?.id === undefined ? undefined : String(request.id) }, 'request failed');
  }
  void sendProblem(request, reply, problem);
}

/** Answers with problem details, outside Nest too (fastify hooks that refuse a request before it reaches Nest). */
export function sendProblem(request: FastifyRequest | undefined, reply: FastifyReply, problem: ProblemException): FastifyReply {
  const correlationId = request?.id === undefined ? undefined : String(request.id);
  const path = request?.url?.split('?')[0];
  return reply
    .status(problem.status)
    // The correlation id header is set here too: router errors and early refusals do not pass the app's onSend hook.
    .headers({ ...problem.options.headers, 'content-type': `${PROBLEM_CONTENT_TYPE}; charset=utf-8`, ...(correlationId !== undefined && { 'x-request-id': correlationId }) })
    .send(JSON.stringify(problem.toDocument(path, correlationId)));
}
