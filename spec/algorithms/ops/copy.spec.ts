import { applyPatch } from '../../../src/algorithms/applyPatch.js';
import { PatchError } from '../../../src/errors.js';

describe('copy', () => {
  it('should add the value found at from', () => {
    expect(applyPatch({ a: { x: 1 } }, [{ op: 'copy', from: '/a', path: '/b' }])).toEqual({ a: { x: 1 }, b: { x: 1 } });
  });

  it('should insert into an array', () => {
    expect(applyPatch({ l: [1, 2] }, [{ op: 'copy', from: '/l/1', path: '/l/0' }])).toEqual({ l: [2, 1, 2] });
  });

  it('should keep the two copies independent when a later op edits one', () => {
    const next = applyPatch({ a: { x: 1 } }, [
      { op: 'add', path: '/a/y', value: 2 }, // the draft now owns /a
      { op: 'copy', from: '/a', path: '/b' },
      { op: 'replace', path: '/b/x', value: 9 },
      { op: 'add', path: '/a/z', value: 3 },
    ]);
    expect(next).toEqual({ a: { x: 1, y: 2, z: 3 }, b: { x: 9, y: 2 } });
  });

  it('should keep nested copies independent too', () => {
    const next = applyPatch({ a: { n: { v: 1 } } }, [
      { op: 'replace', path: '/a/n/v', value: 2 },
      { op: 'copy', from: '/a', path: '/b' },
      { op: 'replace', path: '/b/n/v', value: 3 },
    ]);
    expect(next).toEqual({ a: { n: { v: 2 } }, b: { n: { v: 3 } } });
  });

  it('should fail when from does not exist', () => {
    expect(() => applyPatch({}, [{ op: 'copy', from: '/x', path: '/y' }])).toThrow(PatchError);
  });

  it('should be a no-op when the target already holds an equal value', () => {
    const state = { a: 1, b: 1 };
    expect(applyPatch(state, [{ op: 'copy', from: '/a', path: '/b' }])).toBe(state);
  });
});
