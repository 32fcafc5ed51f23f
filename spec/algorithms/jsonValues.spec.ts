import fc from 'fast-check';
import { jsonOps, MAX_DEPTH } from '../../src/algorithms/jsonValues.js';
import { InvalidValueError } from '../../src/errors.js';
import type { JSONPatchOp } from '../../src/types.js';

const add = (value: unknown, path = '/v'): JSONPatchOp[] => [{ op: 'add', path, value }];
const written = (value: unknown, path = '/v'): unknown => jsonOps(add(value, path))[0].value;
const refused = (value: unknown, path = '/v'): InvalidValueError => {
  try {
    jsonOps(add(value, path));
  } catch (error) {
    if (error instanceof InvalidValueError) return error;
    throw error;
  }
  throw new Error('not refused');
};

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

describe('jsonOps', () => {
  it('should return the ops themselves, values and all, when every value already is JSON', () => {
    const shared = { k: [1, 'x', null, true, { deep: [] }] };
    const ops: JSONPatchOp[] = [...add(shared), { op: 'remove', path: '/old' }, { op: 'replace', path: '/s', value: 'text' }, { op: 'add', path: '/t', value: [shared, shared] }];
    const out = jsonOps(ops);
    expect(out).toBe(ops);
    expect(out[0].value).toBe(shared);
  });

  it('should write what JSON writes in another form in that form, copying only what changed', () => {
    const kept = { a: 1 };
    const value = { due: new Date(0), nan: NaN, inf: -Infinity, zero: -0, gone: undefined, list: [undefined, , 3], point: new Point(1, 2), kept, custom: { toJSON: () => 'as text' } }; // eslint-disable-line no-sparse-arrays
    const out = written(value) as Record<string, unknown>;
    expect(out).toEqual({ due: '1970-01-01T00:00:00.000Z', nan: null, inf: null, zero: 0, list: [null, null, 3], point: { x: 1, y: 2 }, kept: { a: 1 }, custom: 'as text' });
    expect(Object.is(out.zero, 0)).toBe(true);
    expect('gone' in out).toBe(false);
    expect(Object.getPrototypeOf(out.point)).toBe(Object.prototype);
    expect(out.kept).toBe(kept);
    expect(value.zero).toBe(-0); // the input is not touched
  });

  it('should write any value as JSON.stringify and JSON.parse would (2,000 runs)', () => {
    const key = fc.string({ maxLength: 4 }).filter((k) => !['__proto__', 'prototype', 'constructor'].includes(k));
    // Leaves are primitives only: fc.jsonValue() may hold a dictionary with the key __proto__, which jsonOps refuses (its own spec below).
    const leaf = fc.oneof(fc.jsonValue({ maxDepth: 0 }), fc.constant(undefined), fc.constantFrom(NaN, Infinity, -0), fc.date({ noInvalidDate: true }));
    const { tree } = fc.letrec((tie) => ({
      tree: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('tree'), { maxLength: 4 }), fc.dictionary(key, tie('tree'), { maxKeys: 4, noNullPrototype: true })),
    }));
    fc.assert(
      fc.property(tree.filter((v) => v !== undefined), (value) => {
        expect(written(value)).toStrictEqual(JSON.parse(JSON.stringify(value)));
      }),
      { numRuns: 2_000 },
    );
  });

  it.each([
    ['a BigInt', { total: 10n }, '/v/total'],
    ['a function', [1, () => 2], '/v/1'],
    ['a symbol', { s: Symbol('s') }, '/v/s'],
    ['a Map', { m: new Map([[1, 2]]) }, '/v/m'],
    ['a Set', new Set([1]), '/v'],
    ['the key __proto__', JSON.parse('{"a":{"__proto__":1}}'), '/v/a/__proto__'],
    ['the key constructor', { a: { constructor: 1 } }, '/v/a/constructor'],
    ['a key with a NUL', { 'a\u0000b': 1 }, '/v/a\u0000b'],
    ['a key with half a surrogate pair', { 'x\uD800': 1 }, '/v/x\uD800'],
    ['a key with a slash, named escaped', { 'a/b': 10n }, '/v/a~1b'],
  ])('should refuse %s, naming where it is', (_what, value, path) => {
    expect(refused(value).path).toBe(path);
  });

  it('should refuse a value that contains itself, but not one met twice', () => {
    const shared = { n: 1 };
    expect(written({ a: shared, b: [shared] })).toEqual({ a: { n: 1 }, b: [{ n: 1 }] });
    const cycle: Record<string, unknown> = { n: 1 };
    cycle.self = { back: cycle };
    expect(refused(cycle).path).toBe('/v/self/back');
  });

  it('should refuse a path holding a NUL or half of a surrogate pair, in path or from', () => {
    expect(() => jsonOps([{ op: 'remove', path: '/a\uDC00' }])).toThrow(InvalidValueError);
    expect(() => jsonOps([{ op: 'move', from: '/a\u0000', path: '/b' }])).toThrow(InvalidValueError);
    expect(jsonOps([{ op: 'remove', path: '/😀' }])).toHaveLength(1);
  });

  it('should refuse nesting deeper than the server takes, counted as it counts', () => {
    const nested = (levels: number): unknown => (levels === 0 ? 1 : { n: nested(levels - 1) });
    // Under a path of up to 3 segments a value has MAX_DEPTH - 3 levels; deeper, the path's own count.
    expect(written(nested(MAX_DEPTH - 3), '/a/b/c')).toEqual(nested(MAX_DEPTH - 3));
    expect(refused(nested(MAX_DEPTH - 2), '/a').path).toMatch(/^\/a(\/n)+$/);
    const deepPath = '/p'.repeat(10);
    expect(written(nested(MAX_DEPTH - 10), deepPath)).toEqual(nested(MAX_DEPTH - 10));
    expect(() => written(nested(MAX_DEPTH - 9), deepPath)).toThrow(InvalidValueError);
  });
});
