import fc from 'fast-check';
import { applyPatch } from '../../src/algorithms/applyPatch.js';
import { transformPatch } from '../../src/algorithms/transformPatch.js';
import type { JSONPatchOp } from '../../src/types.js';
import { randomDoc, randomOps, type Rand } from '../helpers/otSimulation.js';
import { enableRichText } from '../../src/txt/enableRichText.js';

const apply = <T>(doc: T, ops: readonly JSONPatchOp[]): T => applyPatch(doc, ops, { mode: 'strict' });
const fromGen = (g: fc.GeneratorValue): Rand => ({ int: (n) => g(fc.nat, { max: n - 1 }) });

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
  return v;
}

/** FC_SEED / FC_PATH replay a failure fast-check printed. */
const replay = process.env.FC_SEED ? { seed: Number(process.env.FC_SEED), path: process.env.FC_PATH } : {};

// @txt goes through quill-delta once enabled, as in an app (`patches-rx/txt`).
beforeAll(enableRichText);

describe('transformPatch', () => {
  const op = (o: string, path: string, value?: unknown, extra: Partial<JSONPatchOp> = {}): JSONPatchOp =>
    value === undefined ? { op: o, path, ...extra } : { op: o, path, value, ...extra };
  const mv = (from: string, path: string): JSONPatchOp => ({ op: 'move', from, path });
  const cp = (from: string, path: string): JSONPatchOp => ({ op: 'copy', from, path });

  describe('general', () => {
    it('should return otherOps itself when thisOps cannot affect it', () => {
      const other = [op('replace', '/b/0', 1), op('@inc', '/n', 1)];
      expect(transformPatch([op('replace', '/a', 1), op('add', '/c/0', 'x')], other)).toBe(other);
    });

    it('should return otherOps itself for an empty thisOps or otherOps', () => {
      const other = [op('replace', '/a', 1)];
      expect(transformPatch([], other)).toBe(other);
      const none: JSONPatchOp[] = [];
      expect(transformPatch(other, none)).toBe(none);
    });

    it('should keep unknown fields on a rewritten op and not mutate its input', () => {
      const other = [{ op: 'replace', path: '/l/3', value: 1, meta: 'x' }];
      const frozen = Object.freeze(other.map((o) => Object.freeze(o)));
      expect(transformPatch([op('add', '/l/0', 'a')], frozen)).toEqual([{ op: 'replace', path: '/l/4', value: 1, meta: 'x' }]);
      expect(other[0].path).toBe('/l/3');
    });

    it('should treat a path ending in an integer as an array index even under an object', () => {
      expect(transformPatch([op('remove', '/o/0')], [op('replace', '/o/1', 'x')])).toEqual([op('replace', '/o/0', 'x')]);
    });

    it('should drop everything under a root replace except another root write', () => {
      expect(transformPatch([op('replace', '', { a: 1 })], [op('replace', '/a', 2), op('add', '/l/0', 1)])).toEqual([]);
      expect(transformPatch([op('replace', '', { a: 1 })], [op('replace', '', { b: 2 })])).toEqual([op('replace', '', { b: 2 })]);
    });

    it('should drop a move onto itself', () => {
      expect(transformPatch([op('replace', '/x', 1)], [mv('/a', '/a'), op('replace', '/b', 1)])).toEqual([op('replace', '/b', 1)]);
    });

    // Reference rule: a copy onto its own path is dropped like a move onto itself, even at an
    // array index (where it would insert a duplicate).
    it('should drop a copy onto its own path, even at an array index', () => {
      expect(transformPatch([op('replace', '/x', 1)], [cp('/l/0', '/l/0')])).toEqual([]);
    });
  });

  describe('array insert (add/copy/move-in at an index)', () => {
    it('should shift other indexes at or above the insert up', () => {
      expect(transformPatch([op('add', '/l/1', 'a')], [op('replace', '/l/1', 'x'), op('replace', '/l/3', 'y'), op('replace', '/l/0', 'z')])).toEqual([
        op('replace', '/l/2', 'x'),
        op('replace', '/l/4', 'y'),
        op('replace', '/l/0', 'z'),
      ]);
    });

    it('should shift sub-paths of shifted elements', () => {
      expect(transformPatch([op('add', '/l/0', {})], [op('@inc', '/l/2/n', 1)])).toEqual([op('@inc', '/l/3/n', 1)]);
    });

    // Reference rule: the insert being transformed stays at the index (lands first) in both
    // orders, so two concurrent inserts at one index end in the server's order, not by TP1
    // (corpus tp-0656; clients adopt the server's committed ops).
    it('should keep the transformed insert first at the same index, whichever side came first', () => {
      expect(transformPatch([op('add', '/l/1', 'a')], [op('add', '/l/1', 'b')])).toEqual([op('add', '/l/1', 'b')]);
      expect(transformPatch([op('add', '/l/1', 'a')], [op('add', '/l/1', 'b')], true)).toEqual([op('add', '/l/1', 'b')]);
    });

    it('should drop a soft insert at the same index as a concurrent insert', () => {
      expect(transformPatch([op('add', '/l/1', 'a')], [op('add', '/l/1', 'b', { soft: true })])).toEqual([]);
    });

    it('should track the other side\'s own inserts and removes before comparing indexes', () => {
      // other inserts at 0, so its /l/3 is the original /l/2, which this side's insert at /l/2 pushes up.
      expect(transformPatch([op('add', '/l/2', 'a')], [op('add', '/l/0', 'b'), op('replace', '/l/3', 'y')])).toEqual([
        op('add', '/l/0', 'b'),
        op('replace', '/l/4', 'y'),
      ]);
    });

    it('should not shift other ops on other arrays or on keys of the array\'s parent', () => {
      const other = [op('replace', '/m/0', 1), op('replace', '/ll/0', 1), op('replace', '/l', [])];
      expect(transformPatch([op('add', '/l/0', 'a')], other)).toBe(other);
    });
  });

  describe('array remove', () => {
    it('should shift indexes above the removed one down and drop ops inside it', () => {
      expect(transformPatch([op('remove', '/l/1')], [op('replace', '/l/3', 'x'), op('replace', '/l/1/name', 'y'), op('replace', '/l/0', 'z')])).toEqual([
        op('replace', '/l/2', 'x'),
        op('replace', '/l/0', 'z'),
      ]);
    });

    it('should keep an insert at the removed index', () => {
      const other = [op('add', '/l/1', 'x')];
      expect(transformPatch([op('remove', '/l/1')], other)).toBe(other);
    });

    it('should turn a replace of the removed element into an insert of its value', () => {
      expect(transformPatch([op('remove', '/l/1')], [op('replace', '/l/1', 'x')])).toEqual([op('add', '/l/1', 'x')]);
    });

    // Reference rule: in both orders (ours dropped the earlier writer's op).
    it('should re-create the element for an in-place op of it', () => {
      expect(transformPatch([op('remove', '/l/1')], [op('@inc', '/l/1', 2)])).toEqual([op('add', '/l/1', null), op('@inc', '/l/1', 2)]);
      expect(transformPatch([op('remove', '/l/1')], [op('@inc', '/l/1', 2)], true)).toEqual([op('add', '/l/1', null), op('@inc', '/l/1', 2)]);
    });

    it('should drop a second removal of the same element and keep the rest as written', () => {
      // The other side's /l/1 after its own removal is the original /l/2: already right.
      expect(transformPatch([op('remove', '/l/1')], [op('remove', '/l/1'), op('replace', '/l/1', 'x')])).toEqual([op('replace', '/l/1', 'x')]);
    });

    // Reference rule: the move and what follows the moved value die; what the move overwrote
    // at a key is not removed (ours removed it).
    it('should drop a move from the removed element and everything that follows the moved value', () => {
      expect(transformPatch([op('remove', '/l/1')], [mv('/l/1', '/m'), op('replace', '/m/x', 1), op('replace', '/z', 1)])).toEqual([op('replace', '/z', 1)]);
    });
  });

  describe('remove at a key', () => {
    it('should drop other ops inside the removed value and a second removal', () => {
      expect(transformPatch([op('remove', '/o')], [op('replace', '/o/a', 1), op('remove', '/o'), op('replace', '/p', 1)])).toEqual([op('replace', '/p', 1)]);
    });

    it('should keep a set of the removed path and everything after it (it re-creates the value)', () => {
      const other = [op('replace', '/o', { a: 1 }), op('replace', '/o/b', 2)];
      expect(transformPatch([op('remove', '/o')], other)).toBe(other);
    });

    it('should let a set win over a removal in both orders', () => {
      expect(transformPatch([op('replace', '/t', 'x')], [op('remove', '/t')])).toEqual([]);
      expect(transformPatch([op('replace', '/t', 'x')], [op('remove', '/t')], true)).toEqual([]);
    });

    it('should let a removal win over a soft write', () => {
      expect(transformPatch([op('remove', '/t')], [op('add', '/t', 'd', { soft: true })])).toEqual([]);
    });
  });

  describe('set (replace, add at a key)', () => {
    it('should let the later writer win two sets of one path', () => {
      const other = [op('replace', '/t', 'b')];
      expect(transformPatch([op('replace', '/t', 'a')], other)).toBe(other);
      expect(transformPatch([op('replace', '/t', 'a')], other, true)).toEqual([]);
    });

    it('should drop other ops inside the overwritten value', () => {
      expect(transformPatch([op('add', '/o', { a: 1 })], [op('replace', '/o/b', 2), op('add', '/o/l/0', 1)])).toEqual([]);
    });

    it('should drop a soft write of a path the other side set', () => {
      expect(transformPatch([op('replace', '/t', 'a')], [op('add', '/t', 'd', { soft: true })])).toEqual([]);
      expect(transformPatch([op('add', '/t', 'd', { soft: true })], [op('replace', '/t', 'a')], true)).toEqual([op('replace', '/t', 'a')]);
    });

    it('should merge two empty-container adds of the same kind and keep the ops under them', () => {
      expect(transformPatch([op('add', '/m', {})], [op('add', '/m', {}), op('add', '/m/a', 1)])).toEqual([op('add', '/m/a', 1)]);
    });

    it('should keep an empty-container add of the other kind, and ops under a soft add', () => {
      const other = [op('add', '/m', []), op('replace', '/m/x', 1)];
      expect(transformPatch([op('add', '/m', {})], other)).toBe(other);
    });

    it('should not shift an insert at the index an element replace targets', () => {
      const other = [op('add', '/l/1', 'x')];
      expect(transformPatch([op('replace', '/l/1', 'a')], other)).toBe(other);
    });
  });

  describe('in-place ops (@inc, @bit, @max, @min, @txt)', () => {
    it('should keep concurrent counters as they are (they commute)', () => {
      for (const name of ['@inc', '@max', '@min']) {
        const other = [op(name, '/n', 3)];
        expect(transformPatch([op(name, '/n', 1)], other)).toBe(other);
        expect(transformPatch([op(name, '/n', 1)], other, true)).toBe(other);
      }
    });

    it('should drop ops addressing inside an in-place value', () => {
      expect(transformPatch([op('@inc', '/n', 1)], [op('replace', '/n/x', 1)])).toEqual([]);
    });

    it('should keep a later set of the path and a later in-place op after a set', () => {
      expect(transformPatch([op('@inc', '/n', 1)], [op('replace', '/n', 5)])).toEqual([op('replace', '/n', 5)]);
      expect(transformPatch([op('replace', '/n', 5)], [op('@inc', '/n', 1)])).toEqual([op('@inc', '/n', 1)]);
    });

    // Reference rule: an in-place op leaves a set or removal of its path as it is in both
    // orders (ours folded the increment into the earlier set so both frames matched).
    it('should keep a set or removal of its path as it is, whichever side came first', () => {
      expect(transformPatch([op('@inc', '/n', 2)], [op('replace', '/n', 5)], true)).toEqual([op('replace', '/n', 5)]);
      expect(transformPatch([op('@inc', '/n', 2)], [op('remove', '/n')], true)).toEqual([op('remove', '/n')]);
    });

    // Reference rule: @bit masks are kept as they are in both orders (ours let the later
    // writer win a bit both touched).
    it('should keep concurrent @bit masks as they are', () => {
      const on0 = 1; // bit 0 on
      const off0 = 1 << 15; // bit 0 off
      const other = [op('@bit', '/b', off0 | 2)];
      expect(transformPatch([op('@bit', '/b', on0)], other)).toBe(other);
      expect(transformPatch([op('@bit', '/b', on0)], other, true)).toBe(other);
    });

    // Reference rule: thisOps' insert goes first at a tie in both orders (corpus tp-1271).
    it('should transform @txt deltas, thisOps\' insert first on a tie whichever side came first', () => {
      expect(transformPatch([op('@txt', '/t', [{ insert: 'A' }])], [op('@txt', '/t', [{ insert: 'B' }])])).toEqual([op('@txt', '/t', [{ retain: 1 }, { insert: 'B' }])]);
      expect(transformPatch([op('@txt', '/t', [{ insert: 'A' }])], [op('@txt', '/t', [{ insert: 'B' }])], true)).toEqual([op('@txt', '/t', [{ retain: 1 }, { insert: 'B' }])]);
    });

    it('should carry this side\'s delta past each of the other side\'s deltas', () => {
      // other: insert "xy" at 0, then insert "!" at 3 (after "xy" and the first original char).
      const other = [op('@txt', '/t', [{ insert: 'xy' }]), op('@txt', '/t', [{ retain: 3 }, { insert: '!' }])];
      // this: delete the first original char.
      expect(transformPatch([op('@txt', '/t', [{ delete: 1 }])], other)).toEqual([op('@txt', '/t', [{ insert: 'xy' }]), op('@txt', '/t', [{ retain: 2 }, { insert: '!' }])]);
    });

    // Reference rule: only a bare array of Delta ops is transformed; a legacy {ops} value is kept.
    it('should keep a legacy {ops} delta as it is', () => {
      const other = [op('@txt', '/t', { ops: [{ insert: 'B' }] })];
      expect(transformPatch([op('@txt', '/t', [{ insert: 'A' }])], other)).toBe(other);
    });
  });

  describe('move', () => {
    it('should re-root other ops on the moved value under its destination', () => {
      expect(transformPatch([mv('/a', '/b')], [op('replace', '/a/x', 1), op('@inc', '/a/n', 1)])).toEqual([op('replace', '/b/x', 1), op('@inc', '/b/n', 1)]);
    });

    it('should shift only the indexes between the two ends of a same-array move', () => {
      // [a b c d e] → move 1 → 3 → [a c d b e]
      expect(
        transformPatch([mv('/l/1', '/l/3')], [op('replace', '/l/0', 'A'), op('replace', '/l/1', 'B'), op('replace', '/l/2', 'C'), op('replace', '/l/3', 'D'), op('replace', '/l/4', 'E')]),
      ).toEqual([op('replace', '/l/0', 'A'), op('replace', '/l/3', 'B'), op('replace', '/l/1', 'C'), op('replace', '/l/2', 'D'), op('replace', '/l/4', 'E')]);
    });

    it('should treat a move between arrays as a remove here and an insert there', () => {
      expect(transformPatch([mv('/l/0', '/m/1')], [op('replace', '/l/2', 'x'), op('replace', '/m/1', 'y'), op('replace', '/l/0/k', 1)])).toEqual([
        op('replace', '/l/1', 'x'),
        op('replace', '/m/2', 'y'),
        op('replace', '/m/1/k', 1),
      ]);
    });

    it('should drop other ops under a key the move overwrote', () => {
      expect(transformPatch([mv('/a', '/b')], [op('replace', '/b/x', 1)])).toEqual([]);
    });

    // Reference rule: a move of a removed value goes nowhere and is dropped with what follows it
    // (ours also removed what the move would have overwritten).
    it('should follow a concurrent removal of the moved value (concurrent move vs remove of the same source)', () => {
      expect(transformPatch([mv('/a', '/b')], [op('remove', '/a')])).toEqual([op('remove', '/b')]);
      expect(transformPatch([op('remove', '/a')], [mv('/a', '/b'), op('replace', '/b/x', 1)])).toEqual([]);
      expect(transformPatch([op('remove', '/l/0')], [mv('/l/0', '/l/2')])).toEqual([]);
    });

    it('should let the later of two moves of one value decide where it ends', () => {
      expect(transformPatch([mv('/a', '/b')], [mv('/a', '/c')])).toEqual([mv('/b', '/c')]);
      expect(transformPatch([mv('/a', '/b')], [mv('/a', '/c')], true)).toEqual([]); // reference: the later move wins outright
      expect(transformPatch([mv('/a', '/b')], [mv('/a', '/b')])).toEqual([]);
    });

    // Reference rule: a set of the source wins over a concurrent move of it: the move never got
    // the value (dropped); seen from the move's frame, what it left at its destination goes.
    it('should drop a move whose source a concurrent set overwrote', () => {
      expect(transformPatch([op('replace', '/a', 'x')], [mv('/a', '/b')])).toEqual([]);
      expect(transformPatch([mv('/a', '/b')], [op('replace', '/a', 'x')], true)).toEqual([op('remove', '/b'), op('replace', '/a', 'x')]);
    });

    it('should keep the source removal of a move whose destination a later set took', () => {
      expect(transformPatch([op('replace', '/b', 'x')], [mv('/a', '/b')], true)).toEqual([op('remove', '/a')]);
    });

    // Reference rule: edits of the moved value follow it even to an append, as `/l/-/x` (a
    // pointer no strict apply resolves; a known limit of `-`).
    it('should re-root edits of a value moved to an append under `-`', () => {
      expect(transformPatch([mv('/a', '/l/-')], [op('replace', '/a/x', 1)])).toEqual([op('replace', '/l/-/x', 1)]);
    });
  });

  describe('copy', () => {
    // Reference rule: a copy keeps what its author copied; a concurrent edit of the source is
    // not made to the copy (ours made it to both).
    it('should leave the copy alone when the source is edited concurrently', () => {
      const other = [op('replace', '/a/x', 1)];
      expect(transformPatch([cp('/a', '/b')], other)).toBe(other);
    });

    // Reference rule: a copy of a removed source never happened (dropped); a removal of the
    // source does not remove the copy (ours removed it, corpus tp-1884).
    it('should drop a copy of a concurrently removed source, and keep a copy when its source goes', () => {
      expect(transformPatch([op('remove', '/a')], [cp('/a', '/b')])).toEqual([]);
      const other = [op('remove', '/a')];
      expect(transformPatch([cp('/a', '/b')], other)).toBe(other);
    });

    it('should shift a copy\'s source and destination like any index', () => {
      expect(transformPatch([op('add', '/l/0', 'x')], [cp('/l/1', '/l/3')])).toEqual([cp('/l/2', '/l/4')]);
    });
  });

  describe('append (/arr/-)', () => {
    it('should not shift the other side\'s concrete indexes', () => {
      const other = [op('replace', '/l/2', 'x'), op('add', '/l/0', 'y')];
      expect(transformPatch([op('add', '/l/-', 'a')], other)).toBe(other);
    });

    it('should leave the other side\'s append alone', () => {
      const other = [op('add', '/l/-', 'b')];
      expect(transformPatch([op('add', '/l/0', 'a'), op('remove', '/l/3')], other)).toBe(other);
    });
  });

  describe('test', () => {
    it('should never change the other side\'s ops', () => {
      const other = [op('replace', '/a', 1), op('add', '/l/0', 1)];
      expect(transformPatch([op('test', '/a', 0), op('test', '/l', [])], other)).toBe(other);
    });

    it('should shift a test like any op when only the array moved under it', () => {
      expect(transformPatch([op('add', '/l/0', 'x')], [op('test', '/l/2', 'c'), op('replace', '/l/2', 'd')])).toEqual([op('test', '/l/3', 'c'), op('replace', '/l/3', 'd')]);
    });

    // Reference rule: a test is kept even where a concurrent write falsifies it (the change
    // then fails to apply and the server drops it); ours dropped such tests (90 corpus cases).
    it('should keep a test a concurrent write may falsify', () => {
      for (const [mine, test] of [
        [op('replace', '/a', 1), op('test', '/a', 0)],
        [op('replace', '/a/x', 1), op('test', '/a', { x: 0 })],
        [op('add', '/l/0', 1), op('test', '/l', [])],
      ]) {
        expect(transformPatch([mine], [test])).toEqual([test]);
      }
    });

    it('should keep a test after a rewritten op', () => {
      expect(transformPatch([op('add', '/l/0', 'x')], [op('replace', '/l/0', 'y'), op('test', '/z', 1)])).toEqual([op('replace', '/l/1', 'y'), op('test', '/z', 1)]);
    });

    it('should drop a test inside a value the other side removed', () => {
      expect(transformPatch([op('remove', '/a')], [op('test', '/a/x', 1), op('replace', '/b', 1)])).toEqual([op('replace', '/b', 1)]);
    });
  });

  describe('cases that converge in both orders of the diamond', () => {
    /** Both orders of the diamond, applied strictly, must reach one state. */
    const converges = (doc: unknown, a: JSONPatchOp[], b: JSONPatchOp[]): unknown => {
      const left = apply(apply(doc, a), transformPatch(a, b));
      const right = apply(apply(doc, b), transformPatch(b, a, true));
      expect(sortKeys(left)).toEqual(sortKeys(right));
      return left;
    };
    const item = { n0: 0, s0: 'p' };

    it('an empty-container add yields to a removal of the value a move brought there', () => {
      converges({ l1: [item] }, [op('remove', '/l1'), op('add', '/l0', [])], [mv('/l1', '/l0')]);
    });

    it('an edit copied onto a copy dies when the copy is overwritten', () => {
      converges({ n0: 0, n1: 0, l0: [item] }, [cp('/l0/0/n0', '/n1'), mv('/l0/0/n0', '/n1')], [op('@inc', '/l0/0/n0', 1), cp('/l0/0/n0', '/n0')]);
    });
  });

  // No longer claimed, because the reference's rules win (the corpus spec pins them case for
  // case): TP1 (both orders of the diamond reach one state; about 12 % of random pairs do not,
  // even without moves: an in-place op against a set, two @bit masks, two inserts at one index)
  // and strict applicability of every result (a kept `test` can fail, a move's source can be
  // gone). Nine regression cases of our former rules went with them. What still holds, and
  // matters, is convergence through a server: `transformIncomingChanges.spec.ts`.

  describe('purity', () => {
    const deepFreeze = <T>(value: T): T => {
      if (value && typeof value === 'object') {
        for (const child of Object.values(value)) deepFreeze(child);
        Object.freeze(value);
      }
      return value;
    };

    it('should never mutate its inputs', () => {
      fc.assert(
        fc.property(fc.gen(), fc.boolean(), (g, otherOpsFirst) => {
          const rand = fromGen(g);
          const doc = randomDoc(rand);
          const a = deepFreeze(randomOps(doc, rand, 1 + rand.int(7)));
          const b = deepFreeze(randomOps(doc, rand, 1 + rand.int(7)));
          const before = JSON.stringify([a, b]);
          transformPatch(a, b, otherOpsFirst);
          expect(JSON.stringify([a, b])).toBe(before);
        }),
        { numRuns: 1000, ...replay },
      );
    });
  });
});
