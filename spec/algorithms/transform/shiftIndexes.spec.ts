import { shiftIndexes } from '../../../src/algorithms/transform/shiftIndexes.js';
import type { JSONPatchOp } from '../../../src/types.js';

const frame = { otherOpsFirst: false };
const op = (name: string, path: string, value?: unknown): JSONPatchOp => (value === undefined ? { op: name, path } : { op: name, path, value });

describe('shiftIndexes', () => {
  it('should shift indexes at or above an insert up, and leave an insert at the same index first', () => {
    expect(shiftIndexes(frame, '/l/1', [op('replace', '/l/0', 'a'), op('replace', '/l/1/x', 'b'), op('add', '/l/1', 'c')], 1)).toEqual([
      op('replace', '/l/0', 'a'),
      op('replace', '/l/2/x', 'b'),
      op('add', '/l/1', 'c'),
    ]);
  });

  it('should follow the index through the other list as it runs', () => {
    // The other list inserts at 0 first: its /l/2 is the original /l/1, at the removed index.
    expect(shiftIndexes(frame, '/l/1', [op('add', '/l/0', 'x'), op('replace', '/l/3', 'y'), op('replace', '/l/2/k', 1)], -1, true)).toEqual([
      op('add', '/l/0', 'x'),
      op('replace', '/l/2', 'y'),
    ]);
  });

  it('should turn a replace of a removed element into an insert and re-create it for an in-place op', () => {
    expect(shiftIndexes(frame, '/l/1', [op('replace', '/l/1', 'x')], -1, true)).toEqual([op('add', '/l/1', 'x')]);
    expect(shiftIndexes(frame, '/l/1', [op('@inc', '/l/1', 2)], -1, true)).toEqual([op('add', '/l/1', null), op('@inc', '/l/1', 2)]);
  });

  it('should drop a move of a removed element with what addresses its destination, and keep the rest', () => {
    const ops = [{ op: 'move', from: '/l/1', path: '/m' }, op('replace', '/m/x', 1), op('replace', '/z', 1)];
    expect(shiftIndexes(frame, '/l/1', ops, -1, true)).toEqual([op('replace', '/z', 1)]);
  });

  it('should not touch other arrays, keys of the array, or appends', () => {
    const ops = [op('replace', '/ll/0', 1), op('replace', '/l', []), op('add', '/l/-', 1)];
    expect(shiftIndexes(frame, '/l/0', ops, 1)).toBe(ops);
  });
});
