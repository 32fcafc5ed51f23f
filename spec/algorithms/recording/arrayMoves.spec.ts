import fc from 'fast-check';
import { applyPatch } from '../../../src/algorithms/applyPatch.js';
import { arrayMoves, movesAcrossArrays } from '../../../src/algorithms/recording/arrayMoves.js';
import { diffArrayOps } from '../../../src/algorithms/recording/diffValue.js';
import type { JSONPatchOp } from '../../../src/types.js';

const strict = <T>(doc: T, ops: readonly JSONPatchOp[]): T => applyPatch(doc, ops, { mode: 'strict' });

describe('arrayMoves', () => {
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((n) => ({ n }));

  it('should move each element the diff would remove and re-add, to after the one before it in the new array', () => {
    expect(arrayMoves([a, b, c], [b, c, a], '/l')?.ops).toEqual([{ op: 'move', from: '/l/0', path: '/l/2' }]);
    // Two swaps: the diff keeps b and d, so a and c move.
    expect(arrayMoves([a, b, c, d], [b, a, d, c], '/l')?.ops).toEqual([
      { op: 'move', from: '/l/0', path: '/l/1' },
      { op: 'move', from: '/l/2', path: '/l/3' },
    ]);
  });

  it('should find no move in an insert, a removal, or primitives', () => {
    expect(arrayMoves([a, b], [c, a, b], '/l')).toBeUndefined();
    expect(arrayMoves([a, b, c], [a, c], '/l')).toBeUndefined();
    expect(arrayMoves(['x', 'y'], ['y', 'x'], '/l')).toBeUndefined();
  });

  it('should leave, for any reorder with inserts and removals, an array the diff turns into the new one keeping every moved element (300 runs, fixed seed)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 8 }), fc.array(fc.nat()), fc.array(fc.nat(), { maxLength: 3 }), fc.nat({ max: 3 }), (size, keys, inserts, removals) => {
        const old = Array.from({ length: size }, (_, n) => ({ n }));
        const next = old.map((item, k) => ({ item, key: keys[k] ?? k })).sort((x, y) => x.key - y.key).map(({ item }) => item as { n: number | string }).slice(removals);
        inserts.forEach((at, k) => next.splice(at % (next.length + 1), 0, { n: `new${k}` }));
        const moved = arrayMoves(old, next, '/l');
        const ops = [...(moved?.ops ?? []), ...diffArrayOps(moved?.list ?? old, next, '/l')!];
        expect(strict({ l: old }, ops)).toEqual({ l: next });
        if (moved) expect(moved.list).toEqual(strict({ l: old }, moved.ops).l);
        // What survives keeps its object: nothing of the old array is removed and re-added.
        expect(ops.filter((op) => op.op === 'add' && old.includes(op.value as { n: number }))).toEqual([]);
      }),
      { numRuns: 300, seed: 0x3ef },
    );
  });
});

describe('movesAcrossArrays', () => {
  const card = { id: 'c' };
  const base = { todo: [{ id: 'x' }, card], done: [{ id: 'y' }] };

  it('should turn a removal and an insert of one object into a move, in either order', () => {
    expect(movesAcrossArrays([{ op: 'remove', path: '/todo/1' }, { op: 'add', path: '/done/0', value: card }], base)).toEqual([{ op: 'move', from: '/todo/1', path: '/done/0' }]);
    expect(movesAcrossArrays([{ op: 'add', path: '/done/1', value: card }, { op: 'remove', path: '/todo/1' }], base)).toEqual([{ op: 'move', from: '/todo/1', path: '/done/1' }]);
  });

  it('should keep them apart for an equal copy, and when ops between them write both arrays', () => {
    const copy: JSONPatchOp[] = [{ op: 'remove', path: '/todo/1' }, { op: 'add', path: '/done/0', value: { id: 'c' } }];
    expect(movesAcrossArrays(copy, base)).toBe(copy);
    const between: JSONPatchOp[] = [
      { op: 'remove', path: '/todo/1' },
      { op: 'remove', path: '/todo/0' },
      { op: 'add', path: '/done/0', value: { id: 'z' } },
      { op: 'add', path: '/done/0', value: card },
    ];
    expect(movesAcrossArrays(between, base)).toBe(between);
    // Only the source written between: the move takes the earlier one's place.
    const sourceOnly = between.filter((op) => (op.value as { id?: string } | undefined)?.id !== 'z');
    const ops = movesAcrossArrays(sourceOnly, base);
    expect(ops).toEqual([{ op: 'move', from: '/todo/1', path: '/done/0' }, { op: 'remove', path: '/todo/0' }]);
    expect(strict(base, ops)).toEqual(strict(base, sourceOnly));
  });
});
