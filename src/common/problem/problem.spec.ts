import { fieldError, PROBLEM_TYPE_PREFIX, PROBLEM_TYPES, problemDocument, ProblemException, type ProblemCode } from './problem';

describe('problem documents', () => {
  it('carry the type URN, title and status of their problem type', () => {
    expect(problemDocument('invalid-event')).toEqual({
      type: 'urn:jartrail:problem:invalid-event',
      title: 'The event does not match its schema',
      status: 422,
    });
  });

  it('give every problem type a URN under the jartrail prefix, a title and an HTTP status', () => {
    for (const code of Object.keys(PROBLEM_TYPES) as ProblemCode[]) {
      const document = problemDocument(code);
      expect(document.type).toBe(`${PROBLEM_TYPE_PREFIX}${code}`);
      expect(document.title.length).toBeGreaterThan(0);
      expect(document.status).toBeGreaterThanOrEqual(300);
      expect(document.status).toBeLessThan(600);
    }
  });

  it('carry detail, instance and correlation id when given', () => {
    const error = fieldError(['data', 'digest'], 'digest_length', 'must be exactly 43 characters');
    expect(problemDocument('invalid-event', { detail: 'bad digest', errors: [error] }, '/v1/events', 'corr-1')).toEqual({
      type: 'urn:jartrail:problem:invalid-event',
      title: 'The event does not match its schema',
      status: 422,
      detail: 'bad digest',
      instance: '/v1/events',
      correlation_id: 'corr-1',
      errors: [error],
    });
  });

  it('leave out members that have no value rather than sending them as undefined', () => {
    const document = problemDocument('not-found', {});
    expect(Object.keys(document).sort()).toEqual(['status', 'title', 'type']);
  });

  it('leave out an empty errors list', () => {
    expect(problemDocument('invalid-request', { errors: [] })).not.toHaveProperty('errors');
  });

  it('carry extension members', () => {
    expect(problemDocument('ambiguous-digest', { extensions: { chains: ['a', 'b'] } })).toMatchObject({ status: 300, chains: ['a', 'b'] });
  });

  it('never let an extension override a member RFC 9457 defines', () => {
    const error = fieldError(['type'], 'unknown_type', 'is not a known event type');
    const document = problemDocument(
      'unknown-event-type',
      {
        detail: 'the real detail',
        errors: [error],
        extensions: {
          type: 'about:blank',
          title: 'forged',
          status: 200,
          detail: 'forged',
          instance: '/forged',
          correlation_id: 'forged',
          errors: [],
          kept: true,
        },
      },
      '/v1/events',
      'corr-2',
    );
    expect(document).toEqual({
      type: 'urn:jartrail:problem:unknown-event-type',
      title: 'The event type is not known',
      status: 422,
      detail: 'the real detail',
      instance: '/v1/events',
      correlation_id: 'corr-2',
      errors: [error],
      kept: true,
    });
  });

  it('do not gain an instance or correlation id from extensions when none was given', () => {
    const document = problemDocument('internal', { extensions: { instance: '/forged', correlation_id: 'forged' } });
    expect(document).not.toHaveProperty('instance');
    expect(document).not.toHaveProperty('correlation_id');
  });
});

describe('ProblemException', () => {
  it('takes its status from the problem type and its message from the detail', () => {
    const problem = new ProblemException('event-type-not-allowed', { detail: 'agents may not send token.issued' });
    expect(problem).toBeInstanceOf(Error);
    expect(problem.name).toBe('ProblemException');
    expect(problem.status).toBe(403);
    expect(problem.message).toBe('agents may not send token.issued');
  });

  it('falls back to the title as its message', () => {
    expect(new ProblemException('payload-too-large').message).toBe('The body is larger than the limit');
  });

  it('renders the same document as problemDocument', () => {
    const options = { detail: 'd', errors: [fieldError(['x'], 'missing', 'this field is required')] };
    expect(new ProblemException('invalid-request', options).toDocument('/i', 'c')).toEqual(problemDocument('invalid-request', options, '/i', 'c'));
  });
});

describe('fieldError', () => {
  it('names the field by a dotted path and by a JSON Pointer', () => {
    expect(fieldError(['data', 'claims', 'aud', 2], 'invalid_type', 'must be a string')).toEqual({
      field: 'data.claims.aud.2',
      pointer: '/data/claims/aud/2',
      code: 'invalid_type',
      detail: 'must be a string',
    });
  });

  it('escapes "~" as ~0 and "/" as ~1 in the pointer (RFC 6901)', () => {
    expect(fieldError(['authorization_details', 0, 'urn:x/y', 'a~b'], 'c', 'd').pointer).toBe('/authorization_details/0/urn:x~1y/a~0b');
  });

  it('escapes "~" before "/", so that a literal "~1" does not turn into a slash', () => {
    expect(fieldError(['~1', '/0'], 'c', 'd').pointer).toBe('/~01/~10');
  });

  it('points at the whole document with an empty pointer and at a member named "" with "/"', () => {
    expect(fieldError([], 'invalid_type', 'must be an object').pointer).toBe('');
    expect(fieldError([''], 'unknown_field', 'd').pointer).toBe('/');
  });
});
