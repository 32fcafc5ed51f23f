import fc from 'fast-check';
import { leavesAlone } from '../../../src/algorithms/transform/leavesAlone.js';
import { QueuePaths } from '../../../src/algorithms/transform/QueuePaths.js';
import { transformPatch } from '../../../src/algorithms/transformPatch.js';
import type { JSONPatchOp } from '../../../src/types.js';

// A small vocabulary, so paths meet often: at, under, beside, in one array, appends to it.
const segment = fc.constantFrom('a', 'b', '0', '-');
const path = fc.array(segment, { minLength: 0, maxLength: 2 }).map((keys) => keys.map((k) => '/' + k).join(''));
const value = fc.constantFrom<unknown>(1, 'x', {}, [], { k: 1 }, [1], [{ insert: 'q' }]);
const op = fc.oneof(
  // Mostly ops without `from`: with one in the queue the index never answers yes.
  { weight: 9, arbitrary: fc.record({ op: fc.constantFrom('add', 'remove', 'replace', 'test', '@inc', '@max', '@txt', 'nope'), path, value, soft: fc.boolean() }, { requiredKeys: ['op', 'path'] }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constantFrom('move', 'copy', 'add'), path, from: path }) },
) as fc.Arbitrary<JSONPatchOp>;
const change = fc.array(op, { minLength: 1, maxLength: 3 });
const queue = fc.array(change, { maxLength: 6 });

describe('QueuePaths', () => {
  it('should answer yes only when the committed ops and every queued change pass each other unchanged, in either frame (20,000 runs)', () => {
    let answered = 0;
    fc.assert(
      fc.property(queue, change, (queued, committed) => {
        if (!QueuePaths.of(queued).leftAloneBy(committed)) return;
        answered++;
        for (const ops of queued) {
          expect(transformPatch(committed, ops)).toBe(ops);
          expect(transformPatch(ops, committed, true)).toBe(committed);
          expect(transformPatch(ops, committed)).toBe(committed);
        }
      }),
      { numRuns: 20_000 },
    );
    // Not vacuous: a good share of the random cases are answered.
    expect(answered).toBeGreaterThan(2_000);
  });

  it('should answer yes only where leavesAlone holds both ways for every pair, as its rules say (20,000 runs)', () => {
    fc.assert(
      fc.property(queue, change, (queued, committed) => {
        if (!QueuePaths.of(queued).leftAloneBy(committed)) return;
        for (const ops of queued) {
          for (const mine of committed) expect(leavesAlone(mine, ops)).toBe(true);
          for (const theirs of ops) expect(leavesAlone(theirs, committed)).toBe(true);
        }
      }),
      { numRuns: 20_000 },
    );
  });

  it('should answer as an index built afresh after changes join, leave and are rewritten', () => {
    fc.assert(
      fc.property(queue, queue, fc.array(fc.nat(), { maxLength: 6 }), fc.array(change, { maxLength: 8 }), (kept, joined, leaving, probes) => {
        const paths = QueuePaths.of([...kept, ...joined]);
        const left = new Set(leaving.map((i) => i % Math.max(1, joined.length)));
        joined.forEach((ops, i) => left.has(i) && paths.remove(ops));
        const now = [...kept, ...joined.filter((_, i) => !left.has(i))];
        const fresh = QueuePaths.of(now);
        for (const probe of probes) expect(paths.leftAloneBy(probe)).toBe(fresh.leftAloneBy(probe));
      }),
      { numRuns: 2_000 },
    );
  });

  it('should let a burst of two writers pass at once: other keys, appends to one list', () => {
    const queued: JSONPatchOp[][] = [
      [{ op: 'add', path: '/items/-', value: 'a0' }],
      [{ op: 'replace', path: '/fields/a1', value: 1 }],
      [{ op: 'add', path: '/fields/a3', value: 3 }],
    ];
    const paths = QueuePaths.of(queued);
    expect(paths.leftAloneBy([{ op: 'add', path: '/items/-', value: 'b0' }])).toBe(true);
    expect(paths.leftAloneBy([{ op: 'add', path: '/fields/b1', value: 1 }, { op: 'replace', path: '/other', value: 2 }])).toBe(true);
  });

  it('should say no where a committed op meets a queued one, either way', () => {
    const paths = QueuePaths.of([[{ op: 'replace', path: '/fields/a1', value: 1 }], [{ op: 'add', path: '/items/3', value: 'x' }], [{ op: 'add', path: '/log/-', value: 'x' }]]);
    expect(paths.leftAloneBy([{ op: 'replace', path: '/fields/a1', value: 2 }])).toBe(false); // the same key
    expect(paths.leftAloneBy([{ op: 'remove', path: '/fields' }])).toBe(false); // above a queued op
    expect(paths.leftAloneBy([{ op: 'replace', path: '/fields/a1/deep', value: 2 }])).toBe(false); // under a queued write
    expect(paths.leftAloneBy([{ op: 'remove', path: '/items/0' }])).toBe(false); // shifts a queued index
    expect(paths.leftAloneBy([{ op: 'replace', path: '/items/7', value: 'y' }])).toBe(false); // shifted by a queued insert
    expect(paths.leftAloneBy([{ op: 'replace', path: '/log/-', value: 'y' }])).toBe(false); // at a queued append, not an append
    expect(paths.leftAloneBy([{ op: 'move', from: '/x', path: '/y' }])).toBe(false); // moves always run their rule
    paths.add([{ op: 'copy', from: '/p', path: '/q' }]);
    expect(paths.leftAloneBy([{ op: 'replace', path: '/elsewhere', value: 1 }])).toBe(false); // a queued copy: no answer
  });
});
