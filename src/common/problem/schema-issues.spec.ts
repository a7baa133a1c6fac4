import { z } from 'zod';
import { fieldErrorsFromIssues } from './schema-issues';

const schema = z.strictObject({
  name: z.string(),
  mode: z.enum(['value', 'reference']),
  kind: z.literal('fixed'),
  token_type: z.union([z.enum(['access', 'refresh']), z.string().regex(/^urn:/)]),
  header: z.strictObject({ alg: z.string(), kid: z.string().optional() }),
  list: z.array(z.number()).optional(),
  code: z
    .string()
    .refine((value) => value.startsWith('c-'), { message: 'must start with c-', params: { code: 'code_prefix' } })
    .optional(),
});

const valid = { name: 'n', mode: 'value', kind: 'fixed', token_type: 'access', header: { alg: 'ES256' } };

function errorsFor(input: unknown, prefix: readonly (string | number)[] = []) {
  const result = schema.safeParse(input);
  if (result.success) throw new Error('the input was expected to fail');
  return fieldErrorsFromIssues(result.error.issues, input, prefix);
}

const codeOf = (input: unknown, field: string) => errorsFor(input).find((error) => error.field === field)?.code;

describe('field errors from schema issues', () => {
  it('the schema of these tests accepts its valid input', () => {
    expect(schema.safeParse(valid).success).toBe(true);
  });

  describe('a missing field', () => {
    it.each(['name', 'header'])('is reported as missing when a %s is absent', (field) => {
      const { [field as keyof typeof valid]: _removed, ...input } = valid;
      expect(errorsFor(input)).toEqual([{ field, pointer: `/${field}`, code: 'missing', detail: 'this field is required' }]);
    });

    it('is reported as missing for an absent enum, although zod calls it an invalid value', () => {
      const { mode: _mode, ...input } = valid;
      expect(codeOf(input, 'mode')).toBe('missing');
    });

    it('is reported as missing for an absent literal', () => {
      const { kind: _kind, ...input } = valid;
      expect(codeOf(input, 'kind')).toBe('missing');
    });

    it('is reported as missing for an absent union, although zod calls it an invalid union', () => {
      const { token_type: _tokenType, ...input } = valid;
      expect(codeOf(input, 'token_type')).toBe('missing');
    });

    it('is reported as missing inside a nested object', () => {
      expect(errorsFor({ ...valid, header: {} })).toEqual([{ field: 'header.alg', pointer: '/header/alg', code: 'missing', detail: 'this field is required' }]);
    });

    it('lists every missing field of an empty object', () => {
      expect(errorsFor({}).map((error) => [error.field, error.code])).toEqual([
        ['name', 'missing'],
        ['mode', 'missing'],
        ['kind', 'missing'],
        ['token_type', 'missing'],
        ['header', 'missing'],
      ]);
    });
  });

  describe('a field of the wrong type', () => {
    it('is reported as invalid_type with the schema message, not as missing', () => {
      expect(errorsFor({ ...valid, name: 42 })).toEqual([
        { field: 'name', pointer: '/name', code: 'invalid_type', detail: 'Invalid input: expected string, received number' },
      ]);
    });

    it('is reported as invalid_type when the value is null: present, but not a value of the type', () => {
      expect(codeOf({ ...valid, name: null }, 'name')).toBe('invalid_type');
      expect(codeOf({ ...valid, header: null }, 'header')).toBe('invalid_type');
    });

    it('is reported as invalid_value for a value outside an enum', () => {
      expect(codeOf({ ...valid, mode: 'par' }, 'mode')).toBe('invalid_value');
    });

    it('names the array item by its index', () => {
      expect(errorsFor({ ...valid, list: [1, 'two', 3] })).toEqual([
        expect.objectContaining({ field: 'list.1', pointer: '/list/1', code: 'invalid_type' }),
      ]);
    });

    it('is reported as a wrong type when the whole input is not an object', () => {
      expect(errorsFor([])).toEqual([expect.objectContaining({ field: '', pointer: '', code: 'invalid_type' })]);
    });
  });

  describe('an unknown field', () => {
    it('is named as its own field', () => {
      expect(errorsFor({ ...valid, extra: 1 })).toEqual([
        { field: 'extra', pointer: '/extra', code: 'unknown_field', detail: 'this field is not part of the schema' },
      ]);
    });

    it('is named once per unknown key, nested ones included', () => {
      const errors = errorsFor({ ...valid, first: 1, second: 2, header: { alg: 'ES256', x5c: [] } });
      expect(errors.map((error) => error.field).sort()).toEqual(['first', 'header.x5c', 'second']);
      expect(errors.every((error) => error.code === 'unknown_field')).toBe(true);
    });

    it('escapes a slash in an unknown key in the pointer', () => {
      expect(errorsFor({ ...valid, 'a/b': 1 })).toEqual([expect.objectContaining({ field: 'a/b', pointer: '/a~1b' })]);
    });
  });

  it('uses the stable code a refinement carries in its params', () => {
    expect(errorsFor({ ...valid, code: 'x-1' })).toEqual([{ field: 'code', pointer: '/code', code: 'code_prefix', detail: 'must start with c-' }]);
  });

  it('puts the prefix in front of every path, while judging absence in the input itself', () => {
    const { name: _name, ...input } = valid;
    expect(errorsFor(input, [3, 'data'])).toEqual([{ field: '3.data.name', pointer: '/3/data/name', code: 'missing', detail: 'this field is required' }]);
  });

  it('reads Standard Schema path segments given as objects', () => {
    const errors = fieldErrorsFromIssues([{ message: 'bad', code: 'custom', path: [{ key: 'items' }, { key: 2 }] }], { items: [0, 1, 2] });
    expect(errors).toEqual([{ field: 'items.2', pointer: '/items/2', code: 'custom', detail: 'bad' }]);
  });

  it('falls back to "invalid" for an issue without any code', () => {
    expect(fieldErrorsFromIssues([{ message: 'bad', path: ['x'] }], { x: 1 })).toEqual([{ field: 'x', pointer: '/x', code: 'invalid', detail: 'bad' }]);
  });
});
