import { deepEqual } from '../../src/algorithms/deepEqual.js';

describe('deepEqual', () => {
  it('should compare primitives by value', () => {
    expect(deepEqual(1, 1)).toBe(true);
    expect(deepEqual('a', 'a')).toBe(true);
    expect(deepEqual(null, null)).toBe(true);
    expect(deepEqual(1, '1')).toBe(false);
    expect(deepEqual(0, false)).toBe(false);
    expect(deepEqual(null, undefined)).toBe(false);
    expect(deepEqual(null, {})).toBe(false);
  });

  it('should ignore object key order', () => {
    expect(deepEqual({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 })).toBe(true);
  });

  it('should find nested differences', () => {
    expect(deepEqual({ a: [1, { c: 2 }] }, { a: [1, { c: 3 }] })).toBe(false);
    expect(deepEqual([1, 2], [1, 2, 3])).toBe(false);
    expect(deepEqual({ a: 1 }, { a: 1, b: 2 })).toBe(false);
  });

  it('should not equate arrays with objects', () => {
    expect(deepEqual([], {})).toBe(false);
    expect(deepEqual({ 0: 'a', length: 1 }, ['a'])).toBe(false);
  });

  it('should count own keys only', () => {
    // Same key count, but "toString" exists on the right only through the prototype.
    expect(deepEqual({ toString: 1 }, { other: 1 })).toBe(false);
    expect(deepEqual({ a: undefined }, { b: undefined })).toBe(false);
  });

  it('should treat an own "__proto__" key as data', () => {
    const a = JSON.parse('{"__proto__": {"x": 1}}') as unknown;
    const b = JSON.parse('{"__proto__": {"x": 2}}') as unknown;
    expect(deepEqual(a, b)).toBe(false);
    expect(deepEqual(a, JSON.parse('{"__proto__": {"x": 1}}'))).toBe(true);
  });
});

describe('deepEqual in key order', () => {
  it('should tell objects with their keys in another order apart, at any depth, and only then', () => {
    expect(deepEqual({ a: 1, b: 2 }, { b: 2, a: 1 }, true)).toBe(false);
    expect(deepEqual({ x: [{ a: 1, b: 2 }] }, { x: [{ b: 2, a: 1 }] }, true)).toBe(false);
    expect(deepEqual({ x: [{ a: 1, b: 2 }] }, { x: [{ a: 1, b: 2 }] }, true)).toBe(true);
    expect(deepEqual({ x: [{ a: 1, b: 2 }] }, { x: [{ b: 2, a: 1 }] })).toBe(true);
  });

  it('should compare the values of keys listed in the same order, a wide map and an own "__proto__" key too', () => {
    const wide = (changed?: string) => Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${i}`, `k${i}` === changed ? { v: -1 } : { v: i }]));
    expect(deepEqual(wide(), wide(), true)).toBe(true);
    expect(deepEqual(wide(), wide('k299'), true)).toBe(false);
    expect(deepEqual({ a: 1, b: { c: 2 } }, { a: 1, b: { c: 3 } }, true)).toBe(false);
    expect(deepEqual({ a: 1, b: 2 }, { a: 1, c: 2 }, true)).toBe(false);
    expect(deepEqual(JSON.parse('{"a": 1, "__proto__": {"x": 1}}'), JSON.parse('{"a": 1, "__proto__": {"x": 1}}'), true)).toBe(true);
    expect(deepEqual(JSON.parse('{"a": 1, "__proto__": {"x": 1}}'), JSON.parse('{"a": 1, "__proto__": {"x": 2}}'), true)).toBe(false);
    // A key deleted (V8 keeps such an object in another mode) compares the same.
    const deleted = wide();
    delete deleted.k5;
    const without = wide();
    delete without.k5;
    expect(deepEqual(deleted, without, true)).toBe(true);
    without.k7 = { v: 0 };
    expect(deepEqual(deleted, without, true)).toBe(false);
  });
});
