import { fromKeys, isProperPrefix, sameKeys } from '../../../src/algorithms/ops/fromPath.js';
import type { JSONPatchOp } from '../../../src/types.js';
import { outcome } from '../../helpers/arbitraryOps.js';

describe('fromKeys', () => {
  it('should parse the from pointer of a move or copy into unescaped segments', () => {
    expect(fromKeys({ op: 'move', from: '/a/0', path: '/b' })).toEqual(['a', '0']);
    expect(fromKeys({ op: 'copy', from: '/a~1b/c~0d', path: '/b' })).toEqual(['a/b', 'c~d']);
    expect(fromKeys({ op: 'copy', from: 'a/b', path: '/b' })).toEqual(['a', 'b']);
  });

  it('should read the empty from as the whole document, not as a missing one', () => {
    expect(fromKeys({ op: 'copy', from: '', path: '/b' })).toEqual([]);
  });

  it('should refuse a missing or non-string from, naming the op', () => {
    expect(outcome(() => fromKeys({ op: 'move', path: '/b' }))).toBe('OpFailure: move requires a string "from"');
    expect(outcome(() => fromKeys({ op: 'copy', from: 3, path: '/b' } as unknown as JSONPatchOp))).toBe('OpFailure: copy requires a string "from"');
    expect(outcome(() => fromKeys({ op: 'copy', from: ['a'], path: '/b' } as unknown as JSONPatchOp))).toBe('OpFailure: copy requires a string "from"');
  });

  it('should refuse a from the pointer rules refuse', () => {
    expect(outcome(() => fromKeys({ op: 'copy', from: '/__proto__', path: '/b' }))).toBe('OpFailure: forbidden path segment "__proto__"');
    expect(outcome(() => fromKeys({ op: 'move', from: '/a~2', path: '/b' }))).toBe('OpFailure: invalid escape "~2" in JSON Pointer');
  });
});

describe('isProperPrefix', () => {
  it('should be true for a path strictly inside the prefix', () => {
    expect(isProperPrefix(['a'], ['a', 'b'])).toBe(true);
    expect(isProperPrefix(['a', '0'], ['a', '0', 'x', 'y'])).toBe(true);
    expect(isProperPrefix([], ['a'])).toBe(true);
  });

  it('should be false for the same path (a path is not inside itself)', () => {
    expect(isProperPrefix(['a', 'b'], ['a', 'b'])).toBe(false);
    expect(isProperPrefix([], [])).toBe(false);
  });

  it('should be false for a longer prefix or one that parts at any segment', () => {
    expect(isProperPrefix(['a', 'b'], ['a'])).toBe(false);
    expect(isProperPrefix(['x', 'b'], ['a', 'b', 'c'])).toBe(false);
    expect(isProperPrefix(['a', 'x'], ['a', 'b', 'c'])).toBe(false);
  });

  it('should compare whole segments, not characters', () => {
    expect(isProperPrefix(['a'], ['ab', 'c'])).toBe(false);
    expect(isProperPrefix(['a'], ['a/b'])).toBe(false);
    expect(isProperPrefix(['1'], ['10', '0'])).toBe(false);
  });
});

describe('sameKeys', () => {
  it('should be true for equal segment lists, the empty one included', () => {
    expect(sameKeys(['a', '0'], ['a', '0'])).toBe(true);
    expect(sameKeys([], [])).toBe(true);
  });

  it('should be false when the lengths differ, either way round', () => {
    expect(sameKeys(['a'], ['a', 'b'])).toBe(false);
    expect(sameKeys(['a', 'b'], ['a'])).toBe(false);
    expect(sameKeys([], ['a'])).toBe(false);
  });

  it('should be false when any segment differs, the last or an earlier one', () => {
    expect(sameKeys(['a', 'b'], ['a', 'c'])).toBe(false);
    expect(sameKeys(['x', 'b'], ['a', 'b'])).toBe(false);
    expect(sameKeys(['a/b'], ['a', 'b'])).toBe(false);
    expect(sameKeys(['0'], ['00'])).toBe(false);
  });
});
