import { EVENT_JSON_LIMITS, findJsonLimitViolation, type JsonLimits } from './json-limits';

const limits: JsonLimits = { maxDepth: 3, maxArrayItems: 4, maxObjectMembers: 5 };

/** An object nested `depth` levels deep (the top value counting as 1), built without recursion. */
function nestedObjects(depth: number, key = 'a'): unknown {
  let value: unknown = {};
  for (let level = 1; level < depth; level += 1) value = { [key]: value };
  return value;
}

function nestedArrays(depth: number): unknown {
  let value: unknown = [];
  for (let level = 1; level < depth; level += 1) value = [value];
  return value;
}

const membersObject = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, index) => [`m${index}`, index]));

describe('findJsonLimitViolation', () => {
  describe('nesting depth', () => {
    it('accepts objects nested exactly to the limit', () => {
      expect(findJsonLimitViolation(nestedObjects(3), limits)).toBeUndefined();
    });

    it('refuses objects nested one level over the limit, naming the too-deep value', () => {
      expect(findJsonLimitViolation(nestedObjects(4), limits)).toEqual({
        field: 'a.a.a',
        pointer: '/a/a/a',
        code: 'too_deep',
        detail: 'nesting deeper than 3 levels is not accepted',
      });
    });

    it('counts arrays as levels too', () => {
      expect(findJsonLimitViolation(nestedArrays(3), limits)).toBeUndefined();
      expect(findJsonLimitViolation(nestedArrays(4), limits)).toMatchObject({ code: 'too_deep', field: '0.0.0', pointer: '/0/0/0' });
    });

    it('does not count a scalar as a level', () => {
      expect(findJsonLimitViolation({ a: { b: ['deepest scalar', 1, null, true] } }, limits)).toBeUndefined();
    });

    it('accepts scalars at the top', () => {
      for (const value of ['text', 1, true, null]) expect(findJsonLimitViolation(value, limits)).toBeUndefined();
    });

    it('finds a too-deep value in the middle of a wide document', () => {
      const value = { first: { x: 1 }, second: [{ y: 2 }, { deep: { deeper: {} } }], third: 3 };
      expect(findJsonLimitViolation(value, limits)).toMatchObject({ code: 'too_deep', field: 'second.1.deep', pointer: '/second/1/deep' });
    });

    it('walks a value nested 100,000 levels deep without overflowing the stack, reporting where the limit was crossed', () => {
      const deep = nestedObjects(100_000, 'k');
      const violation = findJsonLimitViolation(deep, EVENT_JSON_LIMITS);
      const path = Array.from({ length: EVENT_JSON_LIMITS.maxDepth }, () => 'k');
      expect(violation).toEqual({
        field: path.join('.'),
        pointer: `/${path.join('/')}`,
        code: 'too_deep',
        detail: `nesting deeper than ${EVENT_JSON_LIMITS.maxDepth} levels is not accepted`,
      });
    });

    it('walks 100,000 nested arrays without overflowing the stack', () => {
      expect(findJsonLimitViolation(nestedArrays(100_000), EVENT_JSON_LIMITS)).toMatchObject({ code: 'too_deep' });
    });

    it('survives a value nested 100,000 levels deep that JSON.parse produced', () => {
      const text = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
      expect(findJsonLimitViolation(JSON.parse(text), EVENT_JSON_LIMITS)).toMatchObject({ code: 'too_deep' });
    });
  });

  describe('array items', () => {
    it('accepts an array with exactly the most items', () => {
      expect(findJsonLimitViolation({ list: [1, 2, 3, 4] }, limits)).toBeUndefined();
    });

    it('refuses an array with one item too many, naming the array', () => {
      expect(findJsonLimitViolation({ list: [1, 2, 3, 4, 5] }, limits)).toEqual({
        field: 'list',
        pointer: '/list',
        code: 'too_many_items',
        detail: 'arrays of more than 4 items are not accepted',
      });
    });

    it('refuses a top-level array with too many items', () => {
      expect(findJsonLimitViolation([1, 2, 3, 4, 5], limits)).toMatchObject({ code: 'too_many_items' });
    });
  });

  describe('object members', () => {
    it('accepts an object with exactly the most members', () => {
      expect(findJsonLimitViolation({ inner: membersObject(5) }, limits)).toBeUndefined();
    });

    it('refuses an object with one member too many, naming the object', () => {
      expect(findJsonLimitViolation({ inner: membersObject(6) }, limits)).toEqual({
        field: 'inner',
        pointer: '/inner',
        code: 'too_many_members',
        detail: 'objects of more than 5 members are not accepted',
      });
    });

    it('refuses a top-level object with too many members, pointing at the whole document', () => {
      expect(findJsonLimitViolation(membersObject(6), limits)).toMatchObject({ code: 'too_many_members', field: '', pointer: '' });
    });
  });

  describe('paths', () => {
    it('puts the prefix of a batch item in front of the path', () => {
      expect(findJsonLimitViolation({ data: { list: [1, 2, 3, 4, 5] } }, limits, [7])).toMatchObject({ field: '7.data.list', pointer: '/7/data/list' });
    });

    it('escapes "/" and "~" in member names in the pointer', () => {
      expect(findJsonLimitViolation({ 'a/b': { 'c~d': [1, 2, 3, 4, 5] } }, limits)).toMatchObject({ field: 'a/b.c~d', pointer: '/a~1b/c~0d' });
    });
  });

  it('applies the event limits of the ingest contract', () => {
    expect(EVENT_JSON_LIMITS).toEqual({ maxDepth: 12, maxArrayItems: 256, maxObjectMembers: 256 });
    expect(findJsonLimitViolation({ list: Array.from({ length: 256 }, () => 0) }, EVENT_JSON_LIMITS)).toBeUndefined();
    expect(findJsonLimitViolation({ list: Array.from({ length: 257 }, () => 0) }, EVENT_JSON_LIMITS)).toMatchObject({ code: 'too_many_items' });
  });
});
