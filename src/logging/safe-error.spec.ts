import { QueryFailedError } from 'typeorm';
import { safeDatabaseMessage, safeErrorSerializer } from './safe-error';

function pgError(message: string, members: Record<string, unknown>): Error {
  return Object.assign(new Error(message), members);
}

describe('safeErrorSerializer', () => {
  it('keeps the statement, SQLSTATE and constraint of a failed query, and drops its parameters and row values', () => {
    const driverError = pgError('null value in column "subject" violates not-null constraint', {
      code: '23502',
      column: 'subject',
      detail: 'Failing row contains (secret-subject, evidence-body).',
      where: 'COPY events, line 1: "evidence-body"',
    });
    const error = new QueryFailedError('INSERT INTO events VALUES ($1, $2)', ['secret-subject', 'evidence-body'], driverError);
    const serialized = safeErrorSerializer(error);
    const text = JSON.stringify(serialized);
    expect(text).not.toContain('secret-subject');
    expect(text).not.toContain('evidence-body');
    expect(serialized).toMatchObject({
      type: 'QueryFailedError',
      query: 'INSERT INTO events VALUES ($1, $2)',
      code: '23502',
      driverError: { code: '23502', column: 'subject', message: 'null value in column "subject" violates not-null constraint' },
    });
  });

  it('leaves out the value a data exception quotes in its message and stack', () => {
    const error = pgError('invalid input syntax for type uuid: "alice@example.com"', { code: '22P02' });
    const serialized = safeErrorSerializer(error) as { message: string; stack: string };
    expect(serialized.message).toBe('invalid input syntax for type uuid: "[value left out]"');
    expect(serialized.stack).not.toContain('alice@example.com');
  });

  it('scrubs a cause too, and passes anything that is not an object through', () => {
    const error = new Error('outer', { cause: pgError('inner', { parameters: ['evidence-body'] }) });
    expect(JSON.stringify(safeErrorSerializer(error))).not.toContain('evidence-body');
    expect(safeErrorSerializer('text')).toBe('text');
    expect(safeErrorSerializer(undefined)).toBeUndefined();
  });
});

describe('safeDatabaseMessage', () => {
  it('keeps quoted names outside data exceptions', () => {
    expect(safeDatabaseMessage('duplicate key value violates unique constraint "uq_x"', '23505')).toContain('"uq_x"');
  });
});
