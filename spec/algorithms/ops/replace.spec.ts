import { applyPatch } from '../../../src/algorithms/applyPatch.js';
import { PatchError } from '../../../src/errors.js';

describe('replace', () => {
  it('should overwrite an object key', () => {
    expect(applyPatch({ a: 1 }, [{ op: 'replace', path: '/a', value: 2 }])).toEqual({ a: 2 });
  });

  it('should set a missing object key', () => {
    expect(applyPatch({}, [{ op: 'replace', path: '/a', value: 2 }])).toEqual({ a: 2 });
  });

  it('should replace an array element in place', () => {
    expect(applyPatch({ l: [1, 2, 3] }, [{ op: 'replace', path: '/l/1', value: 9 }])).toEqual({ l: [1, 9, 3] });
  });

  it.each(['3', '-', 'x'])('should fail for the array index %p', (index) => {
    expect(() => applyPatch({ l: [1, 2, 3] }, [{ op: 'replace', path: `/l/${index}`, value: 9 }])).toThrow(PatchError);
  });

  it('should create missing parents as {} even before "0"', () => {
    expect(applyPatch({}, [{ op: 'replace', path: '/a/0', value: 1 }])).toEqual({ a: { 0: 1 } });
    expect(applyPatch(null, [{ op: 'replace', path: '/a/b', value: 1 }])).toEqual({ a: { b: 1 } });
  });

  it('should return the same object when the value is deep-equal', () => {
    const state = { a: [{ b: 1 }], l: [{ c: 2 }] };
    expect(applyPatch(state, [
      { op: 'replace', path: '/a', value: [{ b: 1 }] },
      { op: 'replace', path: '/l/0', value: { c: 2 } },
    ])).toBe(state);
  });

  it('should replace the whole document at path ""', () => {
    expect(applyPatch({ a: 1 }, [{ op: 'replace', path: '', value: { b: 2 } }])).toEqual({ b: 2 });
  });

  it('should fail when the value is undefined', () => {
    expect(() => applyPatch({ a: 1 }, [{ op: 'replace', path: '/a' }])).toThrow(PatchError);
  });
});
