import { applyPatch } from '../../../src/algorithms/applyPatch.js';
import { PatchError } from '../../../src/errors.js';

describe('move', () => {
  it('should move an object member', () => {
    expect(applyPatch({ a: { x: 1 }, b: {} }, [{ op: 'move', from: '/a/x', path: '/b/y' }])).toEqual({ a: {}, b: { y: 1 } });
  });

  it('should count the target index after the removal (RFC 6902)', () => {
    const state = { l: ['a', 'b', 'c', 'd'] };
    expect(applyPatch(state, [{ op: 'move', from: '/l/0', path: '/l/2' }])).toEqual({ l: ['b', 'c', 'a', 'd'] });
    expect(applyPatch(state, [{ op: 'move', from: '/l/3', path: '/l/0' }])).toEqual({ l: ['d', 'a', 'b', 'c'] });
    expect(applyPatch(state, [{ op: 'move', from: '/l/1', path: '/l/-' }])).toEqual({ l: ['a', 'c', 'd', 'b'] });
  });

  it('should move between arrays', () => {
    expect(applyPatch({ a: [1, 2], b: [3] }, [{ op: 'move', from: '/a/0', path: '/b/0' }])).toEqual({ a: [2], b: [1, 3] });
  });

  it('should be a no-op for the same path, returning the same object', () => {
    const state = { a: { b: 1 } };
    expect(applyPatch(state, [{ op: 'move', from: '/a/b', path: '/a/b' }])).toBe(state);
    expect(applyPatch(state, [{ op: 'move', from: 'a/b', path: '/a/b' }])).toBe(state);
  });

  it('should fail when moving a value into its own child', () => {
    expect(() => applyPatch({ a: { b: {} } }, [{ op: 'move', from: '/a', path: '/a/b/c' }])).toThrow(PatchError);
  });

  it('should fail when from does not exist or is not a string', () => {
    expect(() => applyPatch({ a: 1 }, [{ op: 'move', from: '/x', path: '/y' }])).toThrow(PatchError);
    expect(() => applyPatch({ l: [] }, [{ op: 'move', from: '/l/0', path: '/y' }])).toThrow(PatchError);
    expect(() => applyPatch({ a: 1 }, [{ op: 'move', path: '/y' }])).toThrow(PatchError);
  });

  it('should leave the source in place when the add half fails (lenient)', () => {
    const state = { a: 1, l: [] as number[] };
    const next = applyPatch(state, [
      { op: 'replace', path: '/b', value: 2 },
      { op: 'move', from: '/a', path: '/l/5' },
    ], { mode: 'lenient' });
    expect(next).toEqual({ a: 1, b: 2, l: [] });
  });

  it('should work on frozen input', () => {
    const state = Object.freeze({ a: Object.freeze([1, 2]), b: Object.freeze({}) });
    expect(applyPatch(state, [{ op: 'move', from: '/a/1', path: '/b/x' }])).toEqual({ a: [1], b: { x: 2 } });
  });
});
