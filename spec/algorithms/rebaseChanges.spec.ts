import fc from 'fast-check';
import { applyPatch } from '../../src/algorithms/applyPatch.js';
import { rebaseChanges, walkQueue } from '../../src/algorithms/rebaseChanges.js';
import { transformPatch } from '../../src/algorithms/transformPatch.js';
import type { Change, JSONPatchOp } from '../../src/types.js';

const apply = <T>(doc: T, ops: readonly JSONPatchOp[]): T => applyPatch(doc, ops, { mode: 'strict' });

function change(id: string, rev: number, ops: JSONPatchOp[], extra: Partial<Change> = {}): Change {
  return { id, rev, baseRev: rev - 1, ops, createdAt: 1, committedAt: 0, ...extra };
}
const committed = (id: string, rev: number, ops: JSONPatchOp[]): Change => change(id, rev, ops, { committedAt: 100 + rev });

describe('rebaseChanges', () => {
  it('should return the local changes themselves when there are no server changes or no local changes', () => {
    const local = [change('l1', 4, [{ op: 'replace', path: '/a', value: 1 }])];
    expect(rebaseChanges([], local)).toBe(local);
    const none: Change[] = [];
    expect(rebaseChanges([committed('s', 4, [])], none)).toBe(none);
  });

  it('rebase drops a change the server already committed, untransformed, and keeps the ones written on it', () => {
    // The server committed l1 transformed (index shifted by something we never saw); l2 was
    // written on top of our l1 and must not be transformed against its own echo.
    const local = [change('l1', 4, [{ op: 'add', path: '/l/0', value: 'a' }]), change('l2', 5, [{ op: 'replace', path: '/l/0', value: 'A' }], { baseRev: 3 })];
    const result = rebaseChanges([committed('l1', 7, [{ op: 'add', path: '/l/0', value: 'a' }])], local);
    expect(result).toEqual([{ ...local[1], baseRev: 7, rev: 8 }]);
    expect(result[0].ops).toBe(local[1].ops);
  });

  it('should transform each queued change in its own frame (sequential programs, not all against the raw server ops)', () => {
    const doc = { l: ['x'] };
    const server = [committed('f', 4, [{ op: 'add', path: '/l/1', value: 'f' }])];
    // l1 inserts "a" at 0; l2 then renames "x", which l1 moved to index 1.
    const local = [change('l1', 4, [{ op: 'add', path: '/l/0', value: 'a' }]), change('l2', 5, [{ op: 'replace', path: '/l/1', value: 'X' }], { baseRev: 3 })];
    const result = rebaseChanges(server, local);
    // Against the raw server op, l2 would have been pushed to /l/2 and renamed "f".
    expect(result.map((c) => c.ops)).toEqual([[{ op: 'add', path: '/l/0', value: 'a' }], [{ op: 'replace', path: '/l/1', value: 'X' }]]);
    const serverState = apply(doc, server[0].ops);
    expect(result.reduce((state, c) => apply(state, c.ops), serverState)).toEqual({ l: ['a', 'X', 'f'] });
  });

  it('should stamp survivors with baseRev = the last server rev and consecutive revs, dropping emptied changes without using a rev', () => {
    const server = [committed('f', 5, [{ op: 'remove', path: '/o' }]), committed('g', 6, [{ op: 'replace', path: '/z', value: 1 }])];
    const local = [
      change('l1', 5, [{ op: 'replace', path: '/o/x', value: 1 }], { baseRev: 4 }),
      change('l2', 6, [{ op: 'replace', path: '/p', value: 2 }], { baseRev: 4 }),
      change('l3', 7, [{ op: '@inc', path: '/n', value: 1 }], { baseRev: 4 }),
    ];
    const result = rebaseChanges(server, local);
    expect(result.map((c) => [c.id, c.baseRev, c.rev])).toEqual([
      ['l2', 6, 7],
      ['l3', 6, 8],
    ]);
  });

  it('should not walk other clients\' changes up to seenUpTo through the queue (a batch the server placed after them as it was)', () => {
    // The server put our batch (b1) after f's change verbatim: l2, written on top of b1, follows
    // it as it is. Walked through the queue, f (which replaced /notes) would drop l2 as written
    // under a parent someone replaced.
    const f = committed('f', 1, [{ op: 'add', path: '/notes', value: { intro: 'f' } }]);
    const b1 = change('b1', 1, [{ op: 'add', path: '/notes', value: {}, soft: true }], { baseRev: 0 });
    const l2 = change('l2', 2, [{ op: 'add', path: '/notes/n', value: 'x' }], { baseRev: 0 });
    const server = [f, { ...b1, rev: 2, baseRev: 1, committedAt: 102 }];

    expect(rebaseChanges(server, [b1, l2])).toEqual([]);
    const rebased = rebaseChanges(server, [b1, l2], 1);
    expect(rebased).toEqual([{ ...l2, baseRev: 2, rev: 3 }]);
    const serverState = server.reduce((state, c) => apply(state, c.ops), {} as object);
    expect(rebased.reduce((state, c) => apply(state, c.ops), serverState)).toEqual({ notes: { intro: 'f', n: 'x' } });
  });

  it('should still walk other clients\' changes after seenUpTo through what is left of the queue', () => {
    const b1 = change('b1', 1, [{ op: 'add', path: '/l/0', value: 'b' }], { baseRev: 0 });
    const l2 = change('l2', 2, [{ op: 'replace', path: '/l/0', value: 'B' }], { baseRev: 0 });
    const later = committed('g', 3, [{ op: 'add', path: '/l/0', value: 'g' }]);
    const server = [committed('f', 1, [{ op: 'add', path: '/l/0', value: 'f' }]), { ...b1, rev: 2, baseRev: 1, committedAt: 102 }, later];

    expect(rebaseChanges(server, [b1, l2], 1)).toEqual([{ ...l2, ops: [{ op: 'replace', path: '/l/1', value: 'B' }], baseRev: 3, rev: 4 }]);
  });

  it('should keep metadata and unknown keys of rebased changes', () => {
    const local = [change('l1', 5, [{ op: 'replace', path: '/l/0', value: 1 }], { user: 'alice', custom: { deep: true }, batchId: 'b1' })];
    const [result] = rebaseChanges([committed('f', 5, [{ op: 'add', path: '/l/0', value: 0 }])], local);
    expect(result).toEqual({ ...local[0], ops: [{ op: 'replace', path: '/l/1', value: 1 }], baseRev: 5, rev: 6 });
  });

  it('should not mutate its inputs', () => {
    const server = [committed('f', 5, [{ op: 'add', path: '/l/0', value: 0 }])];
    const local = [change('l1', 5, [{ op: 'replace', path: '/l/0', value: 1 }])];
    const snapshot = JSON.stringify({ server, local });
    rebaseChanges(Object.freeze(server), Object.freeze(local));
    expect(JSON.stringify({ server, local })).toBe(snapshot);
  });

  it('a post-commit pending change is rebased forward, not dropped, by later foreign deliveries', () => {
    // l1 came back earlier; l2 (written after) is still pending when a foreign change lands.
    const pending = [change('l2', 6, [{ op: 'replace', path: '/l/2', value: 'y' }], { baseRev: 5 })];
    const result = rebaseChanges([committed('f', 6, [{ op: 'remove', path: '/l/0' }])], pending);
    expect(result).toEqual([{ ...pending[0], ops: [{ op: 'replace', path: '/l/1', value: 'y' }], baseRev: 6, rev: 7 }]);
  });

  it('should carry a foreign change past an own echo in the middle of the batch', () => {
    const doc = { l: ['x', 'y'] };
    // Server order: foreign f, then our l1 (as the server transformed it), then nothing else.
    const f = committed('f', 4, [{ op: 'remove', path: '/l/0' }]);
    const local = [change('l1', 4, [{ op: 'add', path: '/l/2', value: 'a' }]), change('l2', 5, [{ op: 'replace', path: '/l/2', value: 'A' }], { baseRev: 3 })];
    const l1Committed = committed('l1', 5, [{ op: 'add', path: '/l/1', value: 'a' }]);
    const result = rebaseChanges([f, l1Committed], local);
    expect(result.map((c) => c.ops)).toEqual([[{ op: 'replace', path: '/l/1', value: 'A' }]]);
    const state = [f, l1Committed, ...result].reduce((s, c) => apply(s, c.ops), doc);
    expect(state).toEqual({ l: ['y', 'A'] });
  });

  it('should take out own echoes wherever they sit in the queue, and a foreign change after them meets only what is left', () => {
    const doc = { l: ['p'], b: 0 };
    // l3 targets 'p', written on top of l1's insert in front of it.
    const local = [
      change('l1', 4, [{ op: 'add', path: '/l/0', value: 'a' }]),
      change('l2', 5, [{ op: 'replace', path: '/b', value: 2 }], { baseRev: 3 }),
      change('l3', 6, [{ op: 'replace', path: '/l/1', value: 'X' }], { baseRev: 3 }),
    ];
    // Echoes of l2 then l1 (out of queue order), then a foreign insert written after both.
    const server = [committed('l2', 4, local[1].ops), committed('l1', 5, local[0].ops), committed('f', 6, [{ op: 'add', path: '/l/1', value: 'f' }])];
    const result = rebaseChanges(server, local);
    expect(result).toEqual([{ ...local[2], baseRev: 6, rev: 7, ops: [{ op: 'replace', path: '/l/2', value: 'X' }] }]);
    expect([...server, ...result].reduce((state, c) => apply(state, c.ops), doc)).toEqual({ l: ['a', 'f', 'X'], b: 2 });
  });

  // Fuzz seed 82194 (tabs): a commit's reply lost, the client catches up before it resends; the
  // server had dropped the queue's first change (its move did not apply) and committed the next.
  it('should drop a change queued before an own echo, which the commit of that echo passed over', () => {
    const doc = { todo: ['a', 'b'] };
    const local = [
      change('drag', 4, [{ op: 'move', from: '/todo/0', path: '/todo/2' }]),
      change('add', 5, [{ op: 'add', path: '/todo/-', value: 'c' }], { baseRev: 3 }),
      change('retitle', 6, [{ op: 'replace', path: '/todo/2', value: 'C' }], { baseRev: 3 }),
    ];
    const server = [committed('f', 4, [{ op: 'replace', path: '/n', value: 1 }]), committed('add', 5, local[1].ops)];
    const result = rebaseChanges(server, local);
    expect(result).toEqual([{ ...local[2], baseRev: 5, rev: 6 }]);
    // Sent without the drag, the retitle names the card it was written for.
    expect([...server, ...result].reduce((state, c) => apply(state, c.ops), doc)).toEqual({ todo: ['a', 'b', 'C'], n: 1 });
  });

  it('should take out one entry per echo when a queue repeats an id, first to last', () => {
    const local = [change('dup', 4, [{ op: 'replace', path: '/a', value: 1 }]), change('dup', 5, [{ op: 'replace', path: '/a', value: 2 }], { baseRev: 3 })];
    expect(rebaseChanges([committed('dup', 4, local[0].ops)], local)).toEqual([{ ...local[1], baseRev: 4, rev: 5 }]);
    expect(rebaseChanges([committed('dup', 4, local[0].ops), committed('dup', 5, local[1].ops)], local)).toEqual([]);
  });

  it('concurrent move vs remove of the same source: the move and what followed the moved value die with it', () => {
    const server = [committed('f', 4, [{ op: 'remove', path: '/a' }])];
    const local = [change('l1', 4, [{ op: 'move', from: '/a', path: '/b' }]), change('l2', 5, [{ op: 'replace', path: '/b/x', value: 1 }], { baseRev: 3 })];
    const result = rebaseChanges(server, local);
    // Reference rule: nothing is left of the move (ours removed /b, which the move would have
    // overwritten); /b keeps its value.
    expect(result).toEqual([]);
  });

  describe('walkQueue', () => {
    // Burst-like ops (other keys, appends to one list) that mostly pass each other, mixed with
    // ops that meet them, so a long queue is indexed and both answers of the index are taken.
    const segment = fc.constantFrom('items', 'fields', 'a', 'b', '0', '1', '-');
    const path = fc.array(segment, { minLength: 1, maxLength: 3 }).map((keys) => keys.map((k) => '/' + k).join(''));
    const burstOp = fc.oneof(
      fc.nat(30).map((i): JSONPatchOp => ({ op: 'add', path: '/items/-', value: i })),
      fc.nat(30).map((i): JSONPatchOp => ({ op: 'replace', path: `/fields/f${i}`, value: i })),
    );
    const anyOp = fc.oneof(
      fc.record({ op: fc.constantFrom('add', 'remove', 'replace', 'test', '@inc'), path, value: fc.constantFrom<unknown>(1, {}, [1]) }),
      fc.record({ op: fc.constantFrom('move', 'copy'), path, from: path }),
    ) as fc.Arbitrary<JSONPatchOp>;
    const ops = fc.array(fc.oneof({ weight: 6, arbitrary: burstOp }, { weight: 1, arbitrary: anyOp }), { minLength: 1, maxLength: 2 });

    /** The walk as walkQueue's doc comment states it, pair by pair, with nothing skipped. */
    function walkPairByPair(committedChanges: readonly Change[], queue: readonly Change[], isOwn: (c: Change) => boolean): JSONPatchOp[][] {
      const entries = queue.map((c) => ({ id: c.id, ops: c.ops, taken: false }));
      for (const server of committedChanges) {
        if (isOwn(server)) {
          const own = entries.find((e) => !e.taken && e.id === server.id);
          if (own) own.taken = true;
          continue;
        }
        let foreign = server.ops;
        for (const entry of entries) {
          if (entry.taken) continue;
          const written = entry.ops;
          entry.ops = transformPatch(foreign, written);
          foreign = transformPatch(written, foreign, true);
        }
      }
      // Those queued before a taken one were passed over by the commit that took it.
      const last = entries.map((e) => e.taken).lastIndexOf(true);
      return entries.slice(last + 1).map((e) => e.ops);
    }

    it('should see a queued change where a foreign move carried it, not where it was written', () => {
      const fillers = Array.from({ length: 7 }, (_, i) => change(`q${i + 1}`, i + 2, [{ op: 'replace', path: `/fields/f${i}`, value: i }]));
      const queue = [change('q0', 1, [{ op: 'replace', path: '/a/x', value: 'mine' }]), ...fillers];
      const theirs = [
        committed('f0', 10, [{ op: 'replace', path: '/elsewhere', value: 1 }]),
        committed('f1', 11, [{ op: 'move', from: '/a', path: '/b' }]),
        committed('f2', 12, [{ op: 'remove', path: '/b' }]),
      ];
      const walked = walkQueue(theirs, queue, () => false).map((e) => e.ops);
      // Moved to /b/x by f1, then inside what f2 removed.
      expect(walked[0]).toEqual([]);
      expect(walked).toEqual(walkPairByPair(theirs, queue, () => false));
    });

    it('should give what the pair-by-pair walk gives for long queues, own echoes and foreign changes mixed (1,000 runs)', () => {
      fc.assert(
        fc.property(fc.array(ops, { minLength: 8, maxLength: 24 }), fc.array(fc.oneof(ops, fc.nat(23)), { maxLength: 24 }), (queued, incoming) => {
          const queue = queued.map((o, i) => change(`q${i}`, i + 1, o));
          // A number stands for the echo of that queued change; ops for another client's change.
          const committedChanges = incoming.map((c, i) => (typeof c === 'number' ? committed(`q${c % queue.length}`, 100 + i, queue[c % queue.length].ops) : committed(`f${i}`, 100 + i, c)));
          const isOwn = (c: Change) => c.id.startsWith('q');
          expect(walkQueue(committedChanges, queue, isOwn).map((e) => e.ops)).toEqual(walkPairByPair(committedChanges, queue, isOwn));
        }),
        { numRuns: 1_000 },
      );
    });
  });
});
