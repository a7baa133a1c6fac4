import { BadRequestException, NotFoundException, ServiceUnavailableException } from '@nestjs/common';
import { UnknownMasterKeyError } from '../crypto/keyring';
import { toProblem } from './problem.filter';
import { ProblemException } from './problem';

describe('toProblem', () => {
  it('keeps a problem as it is', () => {
    const problem = new ProblemException('invalid-event', { detail: 'x' });
    expect(toProblem(problem)).toBe(problem);
  });

  it.each([
    ['FST_ERR_CTP_BODY_TOO_LARGE', 413, 'payload-too-large'],
    ['FST_ERR_CTP_INVALID_MEDIA_TYPE', 415, 'unsupported-media-type'],
    ['FST_ERR_CTP_EMPTY_JSON_BODY', 400, 'malformed-json'],
    ['FST_ERR_CTP_INVALID_CONTENT_LENGTH', 400, 'invalid-request'],
    ['FST_ERR_BAD_URL', 400, 'invalid-request'],
    ['FST_ERR_MAX_PARAM_LENGTH', 414, 'uri-too-long'],
  ])('maps fastify %s to %i %s', (code, status, problemCode) => {
    const problem = toProblem(Object.assign(new Error('fastify says no'), { code, statusCode: status }));
    expect({ status: problem.status, code: problem.code }).toEqual({ status, code: problemCode });
  });

  it.each([
    ['ECONNREFUSED', undefined],
    ['57P01', undefined],
    ['53300', undefined],
    [undefined, '57P03'],
  ])('answers 503 unavailable when the database cannot be reached (%s %s)', (code, driverCode) => {
    const error = Object.assign(new Error('connection failure'), code ? { code } : { driverError: { code: driverCode } });
    expect(toProblem(error).code).toBe('unavailable');
  });

  it.each(['Connection terminated unexpectedly', 'Query read timeout', 'timeout exceeded when trying to connect', 'Connection terminated due to connection timeout'])(
    'answers 503 with Retry-After when node-postgres says %s',
    (message) => {
      const problem = toProblem(Object.assign(new Error(message), { driverError: new Error(message) }));
      expect({ code: problem.code, retryAfter: problem.options.headers?.['Retry-After'] }).toEqual({ code: 'unavailable', retryAfter: '5' });
    },
  );

  it('answers 503 when PostgreSQL cancelled a statement at statement_timeout', () => {
    expect(toProblem(Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' })).code).toBe('unavailable');
  });

  it('answers 503 unavailable naming the key id for a value sealed under a master key the replica lacks', () => {
    const problem = toProblem(new UnknownMasterKeyError('AbCdEfGhIjKlMnOp'));
    expect({ status: problem.status, code: problem.code }).toEqual({ status: 503, code: 'unavailable' });
    expect(problem.options.detail).toContain('master key AbCdEfGhIjKlMnOp');
  });

  it('maps Nest HTTP exceptions by status, keeping their message below 500 only', () => {
    expect(toProblem(new NotFoundException('Cannot GET /nowhere'))).toMatchObject({ code: 'not-found', status: 404 });
    expect(toProblem(new BadRequestException('bad')).code).toBe('invalid-request');
    expect(toProblem(new ServiceUnavailableException('db down'))).toMatchObject({ code: 'unavailable', options: { detail: undefined } });
  });

  it('answers anything else as a 500 that says nothing of its cause', () => {
    const problem = toProblem(new TypeError('secret internals at /app/src/x.ts:12'));
    expect(problem.code).toBe('internal');
    expect(JSON.stringify(problem.toDocument('/v1/events', 'id-1'))).not.toContain('internals');
    // A constraint violation is not a connection failure.
    expect(toProblem(Object.assign(new Error('duplicate'), { code: '23505' })).code).toBe('internal');
  });
});
