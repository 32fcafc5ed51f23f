import { applyPatch } from '../../../src/algorithms/applyPatch.js';
import { PatchError } from '../../../src/errors.js';

describe('@inc', () => {
  it('should add to a number, negative values decrement', () => {
    expect(applyPatch({ n: 5 }, [{ op: '@inc', path: '/n', value: 2 }])).toEqual({ n: 7 });
    expect(applyPatch({ n: 5 }, [{ op: '@inc', path: '/n', value: -7 }])).toEqual({ n: -2 });
  });

  it('should count a missing or null value as 0, creating parents', () => {
    expect(applyPatch({}, [{ op: '@inc', path: '/stats/views', value: 1 }])).toEqual({ stats: { views: 1 } });
    expect(applyPatch({ n: null }, [{ op: '@inc', path: '/n', value: 3 }])).toEqual({ n: 3 });
  });

  it('should increment an array element', () => {
    expect(applyPatch({ l: [1, 2] }, [{ op: '@inc', path: '/l/1', value: 1 }])).toEqual({ l: [1, 3] });
  });

  it('should return the same object for an increment of 0', () => {
    const state = { n: 1 };
    expect(applyPatch(state, [{ op: '@inc', path: '/n', value: 0 }])).toBe(state);
  });

  it('should fail on a sum JSON cannot write (Infinity would be null in every store and reply)', () => {
    expect(() => applyPatch({ n: 1e308 }, [{ op: '@inc', path: '/n', value: 1e308 }])).toThrow(/overflows/);
    expect(() => applyPatch({ n: -1e308 }, [{ op: '@inc', path: '/n', value: -1e308 }])).toThrow(PatchError);
    expect(applyPatch({ n: 1e308 }, [{ op: '@inc', path: '/n', value: -1e308 }])).toEqual({ n: 0 });
  });

  it('should fail on a non-number operand or current value', () => {
    expect(() => applyPatch({ n: 1 }, [{ op: '@inc', path: '/n', value: '1' }])).toThrow(PatchError);
    expect(() => applyPatch({ n: 'a' }, [{ op: '@inc', path: '/n', value: 1 }])).toThrow(PatchError);
    expect(() => applyPatch({ n: {} }, [{ op: '@inc', path: '/n', value: 1 }])).toThrow(PatchError);
  });
});
