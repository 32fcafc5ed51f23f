import { clearPath, removePath } from '../../../src/algorithms/transform/clearPath.js';
import type { JSONPatchOp } from '../../../src/types.js';

const op = (name: string, path: string, value?: unknown, extra: Partial<JSONPatchOp> = {}): JSONPatchOp =>
  value === undefined ? { op: name, path, ...extra } : { op: name, path, value, ...extra };
const later = { otherOpsFirst: false };
const earlier = { otherOpsFirst: true };

describe('clearPath', () => {
  it('should drop ops inside the cleared value and keep a new write of the path with all that follows', () => {
    expect(clearPath(later, '/o', [op('replace', '/o/a', 1), op('replace', '/p', 1)])).toEqual([op('replace', '/p', 1)]);
    const rewrite = [op('replace', '/o', {}), op('replace', '/o/a', 1)];
    expect(clearPath(later, '/o', rewrite)).toBe(rewrite);
  });

  it('should keep a test of the path and go on', () => {
    expect(clearPath(later, '/o', [op('test', '/o', 1), op('replace', '/o/a', 1)])).toEqual([op('test', '/o', 1)]);
  });

  it('should let a soft write yield, and then keep the ops under it', () => {
    expect(clearPath(later, '/o', [op('add', '/o', {}, { soft: true }), op('replace', '/o/a', 1)])).toEqual([op('replace', '/o/a', 1)]);
  });

  it('should drop an earlier hard set of the path superseded by the setter (otherOpsFirst), with its dependants', () => {
    const setter = op('replace', '/o', 2);
    expect(clearPath(earlier, '/o', [op('replace', '/o', 1), op('replace', '/o/a', 1)], { setter })).toEqual([]);
    expect(clearPath(later, '/o', [op('replace', '/o', 1), op('replace', '/o/a', 1)], { setter })).toEqual([op('replace', '/o', 1), op('replace', '/o/a', 1)]);
  });

  it('should compose a superseded set that a later move takes elsewhere into a set there', () => {
    const ops = [op('replace', '/o', { a: 1 }), op('replace', '/o/a', 2), { op: 'move', from: '/o', path: '/p' }];
    expect(clearPath(earlier, '/o', ops, { setter: op('replace', '/o', 0) })).toEqual([op('add', '/p', { a: 1 }), op('replace', '/p/a', 2)]);
  });

  it('should keep ops at the path of an in-place op and drop only those inside it', () => {
    expect(clearPath(later, '/n', [op('replace', '/n', 1), op('replace', '/n/x', 1)], { inPlace: true })).toEqual([op('replace', '/n', 1), op('replace', '/n/x', 1)]);
    expect(clearPath(later, '/n', [op('replace', '/n/x', 1), op('remove', '/n')], { inPlace: true })).toEqual([op('remove', '/n')]);
  });

  it('should drop a copy out of the path and carry what followed it past the removal of both', () => {
    const ops = [{ op: 'copy', from: '/o', path: '/c' }, op('replace', '/c/a', 1), op('replace', '/z', 1)];
    expect(clearPath(later, '/o', ops)).toEqual([op('replace', '/z', 1)]);
  });
});

describe('removePath', () => {
  it('should shift an array and clear a key', () => {
    expect(removePath(later, '/l/0', [op('replace', '/l/2', 1)])).toEqual([op('replace', '/l/1', 1)]);
    expect(removePath(later, '/k', [op('replace', '/k/a', 1)])).toEqual([]);
  });
});
