import { indexAfter, isAppendPath, isIndexPath, prefixOf } from '../../../src/algorithms/transform/paths.js';

describe('isIndexPath', () => {
  it('should be true when the last segment is a canonical integer', () => {
    for (const path of ['/0', '/a/0', '/a/7', '/a/10', '/a/b/123', '/a/0/0']) expect(isIndexPath(path)).toBe(true);
  });

  it('should be false for a last segment that is not canonical: leading zero, sign, decimal, exponent, empty', () => {
    for (const path of ['/a/01', '/a/00', '/a/-1', '/a/+1', '/a/1.0', '/a/1e2', '/a/', '/a/ 1', '/a/1 ']) expect(isIndexPath(path)).toBe(false);
  });

  it('should be false for an append, an object key, or an index that is not the last segment', () => {
    for (const path of ['/a/-', '/a/b', '/a/1x', '/a/x1', '/a/0/b', '', '/']) expect(isIndexPath(path)).toBe(false);
  });
});

describe('isAppendPath', () => {
  it('should be true for a last segment that is exactly "-"', () => {
    expect(isAppendPath('/-')).toBe(true);
    expect(isAppendPath('/a/-')).toBe(true);
    expect(isAppendPath('/a/0/-')).toBe(true);
  });

  it('should be false for an index, a key holding "-", or "-" inside the path', () => {
    for (const path of ['/a/0', '/a/--', '/a/x-', '/a/-x', '/a/-/b', '/a', '']) expect(isAppendPath(path)).toBe(false);
  });
});

describe('prefixOf', () => {
  it('should keep everything up to and including the last slash', () => {
    expect(prefixOf('/a/b/3')).toBe('/a/b/');
    expect(prefixOf('/a/-')).toBe('/a/');
    expect(prefixOf('/a')).toBe('/');
    expect(prefixOf('/a/')).toBe('/a/');
  });

  it('should cut at a real slash, never inside an escaped one', () => {
    expect(prefixOf('/a~1b/c')).toBe('/a~1b/');
    expect(prefixOf('/x/a~1b')).toBe('/x/');
  });

  it('should be empty for a path without a slash', () => {
    expect(prefixOf('')).toBe('');
    expect(prefixOf('a')).toBe('');
  });
});

describe('indexAfter', () => {
  it('should read the index that follows the prefix and say where its segment ends', () => {
    expect(indexAfter('/a/3/x', 3)).toEqual({ index: 3, end: 4 });
    expect(indexAfter('/a/3', 3)).toEqual({ index: 3, end: 4 });
    expect(indexAfter('/a/12/x/y', 3)).toEqual({ index: 12, end: 5 });
    expect(indexAfter('/0', 1)).toEqual({ index: 0, end: 2 });
  });

  it('should work with what prefixOf gives for the array', () => {
    const at = '/list/4';
    const prefix = prefixOf(at);
    expect(indexAfter('/list/4/name', prefix.length)).toEqual({ index: 4, end: 7 });
    expect(indexAfter('/list/4', prefix.length)).toEqual({ index: 4, end: at.length });
  });

  it('should be undefined when the segment after the prefix is not a canonical integer', () => {
    expect(indexAfter('/a/-', 3)).toBeUndefined();
    expect(indexAfter('/a/-/x', 3)).toBeUndefined();
    expect(indexAfter('/a/03/x', 3)).toBeUndefined();
    expect(indexAfter('/a/b/3', 3)).toBeUndefined();
    expect(indexAfter('/a/', 3)).toBeUndefined();
    expect(indexAfter('/a/-1', 3)).toBeUndefined();
  });

  it('should be undefined for no path (an op without a from)', () => {
    expect(indexAfter(undefined, 3)).toBeUndefined();
  });
});

// The path arithmetic takes canonical pointers (a leading slash). A path written without one
// (`list/0`, which applyPatch reads as `/list/0`) gets its slash where it enters: the client's
// builder writes them so, and the server adds it as a commit is read (src/server/validate.ts;
// spec/server/ServerCore.spec.ts shows such a path shifted past a concurrent insert).
