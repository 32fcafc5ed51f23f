import { applyPatch } from '../../../src/algorithms/applyPatch.js';
import { PatchError } from '../../../src/errors.js';

describe('test', () => {
  it('should pass on a deep-equal value, whatever the key order', () => {
    const state = { a: { x: [1, { y: 2, z: 3 }] } };
    expect(applyPatch(state, [{ op: 'test', path: '/a', value: { x: [1, { z: 3, y: 2 }] } }])).toBe(state);
  });

  it('should fail with a PatchError naming the op and path', () => {
    expect(() => applyPatch({ a: 1 }, [{ op: 'add', path: '/b', value: 1 }, { op: 'test', path: '/a', value: 2 }])).toThrow(
      expect.objectContaining({ name: 'PatchError', opIndex: 1, path: '/a' }),
    );
  });

  it('should fail when the path does not exist', () => {
    expect(() => applyPatch({}, [{ op: 'test', path: '/a', value: null }])).toThrow(PatchError);
    expect(() => applyPatch({ l: [] }, [{ op: 'test', path: '/l/0', value: null }])).toThrow(PatchError);
  });

  it('should not confuse a number with a string', () => {
    expect(() => applyPatch({ a: 1 }, [{ op: 'test', path: '/a', value: '1' }])).toThrow(PatchError);
  });

  it('should test the whole document at path ""', () => {
    expect(applyPatch([1], [{ op: 'test', path: '', value: [1] }])).toEqual([1]);
  });

  it('should abort the whole patch in lenient mode, returning the input', () => {
    const state = { a: 1 };
    const next = applyPatch(state, [
      { op: 'replace', path: '/a', value: 2 },
      { op: 'test', path: '/a', value: 3 },
      { op: 'replace', path: '/b', value: 4 },
    ], { mode: 'lenient' });
    expect(next).toBe(state);
    expect(state).toEqual({ a: 1 });
  });
});
