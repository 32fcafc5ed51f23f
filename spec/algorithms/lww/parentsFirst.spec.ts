import { opsParentsFirst, parentsFirst } from '../../../src/algorithms/lww/parentsFirst.js';
import type { Change, JSONPatchOp } from '../../../src/types.js';

const row = (path: string, value: unknown): JSONPatchOp => ({ op: 'replace', path, value, ts: 5, rev: 2 });
const change = (ops: JSONPatchOp[]): Change => ({ id: 'c', baseRev: 1, rev: 2, ops, createdAt: 1, committedAt: 1 });

describe('parentsFirst', () => {
  it('should put every row before the rows below it', () => {
    const ops = [row('/p/a/b', 2), row('/x', 1), row('/p/a', {}), row('', {})];
    expect(parentsFirst(change(ops)).ops.map(op => op.path)).toEqual(['', '/x', '/p/a', '/p/a/b']);
  });

  it('should keep the order of rows at one depth, and hand back a change already in order as it is', () => {
    const mixed = change([row('/b/x', 1), row('/a', 2), row('/c/y', 3), row('/d', 4)]);
    expect(parentsFirst(mixed).ops.map(op => op.path)).toEqual(['/a', '/d', '/b/x', '/c/y']);
    expect(mixed.ops.map(op => op.path)).toEqual(['/b/x', '/a', '/c/y', '/d']);
    const ordered = change([row('/b', 1), row('/a', 2), row('/a/x', 3)]);
    expect(parentsFirst(ordered)).toBe(ordered);
  });

  it('should give what the rows mean: applied in order, the field written with its object stays', () => {
    expect(opsParentsFirst([change([row('/a/b', 2), row('/a', {})]), change([row('/n', 1)])])).toEqual([row('/a', {}), row('/a/b', 2), row('/n', 1)]);
  });
});
