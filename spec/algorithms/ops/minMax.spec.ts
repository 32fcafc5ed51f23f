import { applyPatch } from '../../../src/algorithms/applyPatch.js';
import { PatchError } from '../../../src/errors.js';

describe('@max', () => {
  it('should set the value when it is greater', () => {
    expect(applyPatch({ v: 3 }, [{ op: '@max', path: '/v', value: 5 }])).toEqual({ v: 5 });
  });

  it('should keep the current value (same object) when it is not smaller', () => {
    const state = { v: 5 };
    expect(applyPatch(state, [{ op: '@max', path: '/v', value: 3 }])).toBe(state);
    expect(applyPatch(state, [{ op: '@max', path: '/v', value: 5 }])).toBe(state);
  });

  it('should set the operand on a missing or null value', () => {
    expect(applyPatch({}, [{ op: '@max', path: '/a/v', value: -1 }])).toEqual({ a: { v: -1 } });
    expect(applyPatch({ v: null }, [{ op: '@max', path: '/v', value: -1 }])).toEqual({ v: -1 });
  });

  it('should compare ISO date strings', () => {
    const state = { seen: '2024-05-01T00:00:00Z' };
    expect(applyPatch(state, [{ op: '@max', path: '/seen', value: '2024-06-01T00:00:00Z' }])).toEqual({ seen: '2024-06-01T00:00:00Z' });
    expect(applyPatch(state, [{ op: '@max', path: '/seen', value: '2023-01-01T00:00:00Z' }])).toBe(state);
  });

  it('should fail for a value that is neither a number nor a string', () => {
    expect(() => applyPatch({}, [{ op: '@max', path: '/v', value: {} }])).toThrow(PatchError);
    expect(() => applyPatch({}, [{ op: '@max', path: '/v' }])).toThrow(PatchError);
  });
});

describe('@min', () => {
  it('should set the value when it is smaller', () => {
    expect(applyPatch({ v: 3 }, [{ op: '@min', path: '/v', value: 1 }])).toEqual({ v: 1 });
  });

  it('should keep the current value when it is not greater', () => {
    const state = { v: 3 };
    expect(applyPatch(state, [{ op: '@min', path: '/v', value: 4 }])).toBe(state);
  });

  it('should set the operand on a missing value', () => {
    expect(applyPatch({}, [{ op: '@min', path: '/created', value: '2024-01-01' }])).toEqual({ created: '2024-01-01' });
  });

  it('should fail for a boolean value', () => {
    expect(() => applyPatch({}, [{ op: '@min', path: '/v', value: true }])).toThrow(PatchError);
  });
});
