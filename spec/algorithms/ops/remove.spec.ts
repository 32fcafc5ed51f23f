import { applyPatch } from '../../../src/algorithms/applyPatch.js';
import { PatchError } from '../../../src/errors.js';

describe('remove', () => {
  it('should delete an object key', () => {
    expect(applyPatch({ a: 1, b: 2 }, [{ op: 'remove', path: '/a' }])).toEqual({ b: 2 });
  });

  it('should splice an array element out', () => {
    expect(applyPatch({ l: ['a', 'b', 'c'] }, [{ op: 'remove', path: '/l/1' }])).toEqual({ l: ['a', 'c'] });
  });

  it('should be a silent no-op when the parent is missing, returning the same object', () => {
    const state = { a: {} };
    expect(applyPatch(state, [{ op: 'remove', path: '/x/y' }])).toBe(state);
    expect(applyPatch(state, [{ op: 'remove', path: '/a/b/c' }])).toBe(state);
    expect(applyPatch(null, [{ op: 'remove', path: '/a' }])).toBeNull();
  });

  it('should be a no-op when the object key is missing', () => {
    const state = { a: { b: 1 } };
    expect(applyPatch(state, [{ op: 'remove', path: '/a/c' }])).toBe(state);
  });

  it.each(['1', '-', 'x', '01'])('should fail for the bad array index %p', (index) => {
    expect(() => applyPatch({ l: ['a'] }, [{ op: 'remove', path: `/l/${index}` }])).toThrow(PatchError);
  });

  it('should leave null when the root is removed', () => {
    expect(applyPatch({ a: 1 }, [{ op: 'remove', path: '' }])).toBeNull();
  });

  it('should keep untouched siblings identical', () => {
    const state = { a: { x: 1 }, b: { y: 2 } };
    const next = applyPatch(state, [{ op: 'remove', path: '/a/x' }]);
    expect(next).toEqual({ a: {}, b: { y: 2 } });
    expect(next.b).toBe(state.b);
    expect(state.a).toEqual({ x: 1 });
  });
});
