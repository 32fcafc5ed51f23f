import fc from 'fast-check';
import { highestTs, raisedFloor, raisedFloorBy } from '../../../src/algorithms/lww/stampFloor.js';
import type { Change, JSONPatchOp } from '../../../src/types.js';

const set = (path: string, ts?: number): JSONPatchOp => ({ op: 'replace', path, value: 1, ...(ts === undefined ? {} : { ts }) });
const change = (rev: number, ops: JSONPatchOp[]): Change => ({ id: `c${rev}`, ops, baseRev: rev - 1, rev, createdAt: 0, committedAt: 1 });

/** An op with or without a stamp, as stores take them (an op of a build before stamps has none). */
const op = fc.record({ path: fc.constantFrom('/a', '/b', '/a/b'), ts: fc.option(fc.integer({ min: 0, max: 1e13 }), { nil: undefined }) }).map(({ path, ts }) => set(path, ts));
const floor = fc.option(fc.integer({ min: 0, max: 1e13 }), { nil: undefined });
const stamps = (ops: readonly JSONPatchOp[]) => ops.flatMap(o => (typeof o.ts === 'number' ? [o.ts] : []));

describe('highestTs', () => {
  it.each<[string, JSONPatchOp[], number]>([
    ['the highest stamp, wherever it is', [set('/a', 5), set('/b', 9), set('/c', 7)], 9],
    ['a stamp of 0', [set('/a', 0)], 0],
    ['the stamped ones only', [set('/a'), set('/b', 3), { op: 'remove', path: '/c' }], 3],
    ['−∞ for ops with no stamp', [set('/a'), { op: 'remove', path: '/b' }], -Infinity],
    ['−∞ for no ops', [], -Infinity],
  ])('should give %s', (_case, ops, highest) => {
    expect(highestTs(ops)).toBe(highest);
  });

  it('should ignore a stamp that is no number (JSON from elsewhere)', () => {
    expect(highestTs([set('/a', 2), { op: 'replace', path: '/b', value: 1, ts: '99' as unknown as number }])).toBe(2);
  });

  it('should read any iterable once, as a store passes its ops', () => {
    function* ops() {
      yield set('/a', 4);
      yield set('/b', 6);
    }
    expect(highestTs(ops())).toBe(6);
  });
});

describe('raisedFloor', () => {
  it.each<[string, number | undefined, JSONPatchOp[], number | undefined]>([
    ['raise a floor to a higher stamp', 3, [set('/a', 5)], 5],
    ['keep a floor above every stamp', 9, [set('/a', 5)], 9],
    ['keep a floor equal to the highest stamp', 5, [set('/a', 5)], 5],
    ['start a floor at the first stamp', undefined, [set('/a', 5), set('/b', 2)], 5],
    ['start a floor at a stamp of 0', undefined, [set('/a', 0)], 0],
    ['keep no floor while no op carries a stamp', undefined, [set('/a')], undefined],
    ['keep the floor for ops with no stamp', 4, [set('/a')], 4],
    ['keep the floor for no ops', 4, [], 4],
  ])('should %s', (_case, before, ops, after) => {
    expect(raisedFloor(before, ops)).toBe(after);
  });

  it('should be the highest of the floor and every stamp taken, never lower than the floor', () => {
    fc.assert(
      fc.property(floor, fc.array(op, { maxLength: 6 }), (before, ops) => {
        const all = [...(before === undefined ? [] : [before]), ...stamps(ops)];
        expect(raisedFloor(before, ops)).toBe(all.length === 0 ? undefined : Math.max(...all));
      }),
    );
  });

  it('should not depend on how the writes were split: a floor raised by one write then another is the floor raised by both at once', () => {
    fc.assert(
      fc.property(floor, fc.array(op, { maxLength: 6 }), fc.array(op, { maxLength: 6 }), (before, first, second) => {
        expect(raisedFloor(raisedFloor(before, first), second)).toBe(raisedFloor(before, [...second, ...first]));
      }),
    );
  });
});

describe('raisedFloorBy', () => {
  it('should raise the floor by the ops of every change', () => {
    expect(raisedFloorBy(3, [change(1, [set('/a', 8)]), change(2, [set('/b', 5), set('/c', 11)]), change(3, [])])).toBe(11);
    expect(raisedFloorBy(20, [change(1, [set('/a', 8)])])).toBe(20);
  });

  it('should keep the floor for no changes, or changes with no stamp', () => {
    expect(raisedFloorBy(undefined, [])).toBeUndefined();
    expect(raisedFloorBy(7, [])).toBe(7);
    expect(raisedFloorBy(undefined, [change(1, [set('/a')])])).toBeUndefined();
  });

  it('should be raisedFloor over the ops of all the changes', () => {
    fc.assert(
      fc.property(floor, fc.array(fc.array(op, { maxLength: 4 }), { maxLength: 4 }), (before, opsOfChanges) => {
        const changes = opsOfChanges.map((ops, i) => change(i + 1, ops));
        expect(raisedFloorBy(before, changes)).toBe(raisedFloor(before, opsOfChanges.flat()));
      }),
    );
  });
});
