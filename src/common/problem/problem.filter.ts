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
};

/** The problem for an error that only says its HTTP status (Nest's HttpExceptions, other fastify errors). */
const STATUS_CODES: ReadonlyMap<number, ProblemCode> = new Map([
  [400, 'invalid-request'],
  [401, 'unauthenticated'],
  [403, 'forbidden'],
  [404, 'not-found'],
  [409, 'conflict'],
  [413, 'payload-too-large'],
  [415, 'unsupported-media-type'],
  [422, 'invalid-request'],
  [503, 'unavailable'],
]);

/** Connection-level failures: the database is down, restarting or full. Retryable, so 503 rather than 500. */
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', '57P01', '57P02', '57P03', '53300']);

export function toProblem(exception: unknown): ProblemException {
  if (exception instanceof ProblemException) return exception;
  const code = (exception as { code?: unknown; driverError?: { code?: unknown } })?.driverError?.code ?? (exception as { code?: unknown })?.code;
  if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) {
    return new ProblemException('unavailable', { detail: 'the database is not available; nothing was written, send again later' });
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
    if (code && PROBLEM_TYPES[code].status < 500) return new ProblemException(code, { detail: String(fastifyError.message) });
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
    const request = context.getRequest<FastifyRequest>();
    const reply = context.getResponse<FastifyReply>();
    const problem = toProblem(exception);
    const correlationId = request?.id === undefined ? undefined : String(request.id);
    if (problem.status >= 500) {
      this.logger.error({ err: exception, correlationId }, 'request failed');
    }
    const path = request?.url?.split('?')[0];
    void reply
      .status(problem.status)
      .headers({ ...problem.options.headers, 'content-type': `${PROBLEM_CONTENT_TYPE}; charset=utf-8` })
      .send(JSON.stringify(problem.toDocument(path, correlationId)));
  }
}
