import { overMove } from '../../../src/algorithms/transform/overMove.js';
import type { JSONPatchOp } from '../../../src/types.js';

const mv = (from: string, path: string): JSONPatchOp => ({ op: 'move', from, path });
const r = (path: string, value: unknown): JSONPatchOp => ({ op: 'replace', path, value });
const later = { otherOpsFirst: false };
const earlier = { otherOpsFirst: true };

describe('overMove', () => {
  it('should carry ops on the moved value to its destination, untouched by the index rules after', () => {
    expect(overMove(later, mv('/l/0', '/l/2'), [r('/l/0/x', 1), r('/l/1', 'b'), r('/l/3', 'd')])).toEqual([r('/l/2/x', 1), r('/l/0', 'b'), r('/l/3', 'd')]);
  });

  it('should treat a move between arrays as a removal here and an insert there', () => {
    expect(overMove(later, mv('/l/0', '/m/1'), [r('/l/2', 'x'), r('/m/1', 'y')])).toEqual([r('/l/1', 'x'), r('/m/2', 'y')]);
  });

  it('should let the later of two moves of one value win (otherOpsFirst), and follow the earlier one otherwise', () => {
    expect(overMove(later, mv('/a', '/b'), [mv('/a', '/c')])).toEqual([mv('/b', '/c')]);
    expect(overMove(earlier, mv('/a', '/b'), [mv('/a', '/c'), r('/c/x', 1)])).toEqual([r('/b/x', 1)]);
  });

  it('should, when an earlier set of the source kills the move in the mirror, remove what the move left at its destination', () => {
    expect(overMove(earlier, mv('/a', '/b'), [r('/a', 'x')])).toEqual([{ op: 'remove', path: '/b' }, r('/a', 'x')]);
  });

  it('should return the ops themselves for a move onto itself', () => {
    const ops = [r('/a/x', 1)];
    expect(overMove(later, mv('/a', '/a'), ops)).toBe(ops);
  });
});
