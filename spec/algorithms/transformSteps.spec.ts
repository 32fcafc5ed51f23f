import fc from 'fast-check';
import { walkQueueSteps } from '../../src/algorithms/rebaseChanges.js';
import { transformPatch, transformPatchSteps } from '../../src/algorithms/transformPatch.js';
import { enableRichText } from '../../src/txt/enableRichText.js';
import type { Change, JSONPatchOp } from '../../src/types.js';
import { runToEnd } from '../../src/util/steps.js';
import { loadCorpus } from '../helpers/transformCorpus.js';

/**
 * The transform in steps (the server runs it in slices, other requests served between them) must
 * compute exactly what the transform at once does: every case of the recorded corpus, and long
 * random changes (the only ones the walk runs in steps: fewer pairs go at once).
 */
beforeAll(enableRichText);

/** The walk with every transform in steps (0) or every transform at once (Infinity, as before the steps). */
function walk(committed: Change[], queue: Change[], isOwn: (change: Change) => boolean, pairsAtOnce: number): unknown {
  return runToEnd(walkQueueSteps(committed, queue, isOwn, pairsAtOnce)).map(({ change, ops }) => ({ id: change.id, ops }));
}

describe('transform in steps', () => {
  it('should give what transformPatch gives on every transformPatch case of the corpus', () => {
    const cases = loadCorpus('transformPatch');
    expect(cases.length).toBeGreaterThan(1000);
    for (const c of cases) {
      const [thisOps, otherOps, first] = [c.thisOps as JSONPatchOp[], c.otherOps as JSONPatchOp[], c.otherOpsFirst as boolean];
      expect(runToEnd(transformPatchSteps(thisOps, otherOps, first))).toEqual(transformPatch(thisOps, otherOps, first));
    }
  });

  it('should walk every serverTransform and rebase case of the corpus as the walk at once does', () => {
    for (const c of loadCorpus('serverTransform')) {
      const own = new Set(c.ownCommittedIds as string[]);
      const isOwn = (change: Change): boolean => own.has(change.id);
      expect(walk(c.committed as Change[], c.incoming as Change[], isOwn, 0)).toEqual(walk(c.committed as Change[], c.incoming as Change[], isOwn, Infinity));
    }
    for (const c of loadCorpus('rebase')) {
      const local = new Set((c.local as Change[]).map((change) => change.id));
      const isOwn = (change: Change): boolean => local.has(change.id);
      expect(walk(c.server as Change[], c.local as Change[], isOwn, 0)).toEqual(walk(c.server as Change[], c.local as Change[], isOwn, Infinity));
    }
  });

  it('should walk long random changes as the walk at once does', () => {
    const segment = fc.constantFrom('l', 'm', '0', '1', '2', '3', '-', 'k');
    const path = fc.array(segment, { minLength: 1, maxLength: 3 }).map((keys) => '/' + keys.join('/'));
    const op = fc.oneof(
      fc.record({ op: fc.constantFrom('add', 'replace', 'remove', '@inc'), path, value: fc.constantFrom(1, 'x', {}, []) }),
      fc.record({ op: fc.constantFrom('move', 'copy'), path, from: path }),
    ) as fc.Arbitrary<JSONPatchOp>;
    const changes = (prefix: string) =>
      fc.array(fc.array(op, { minLength: 1, maxLength: 90 }), { minLength: 1, maxLength: 3 }).map((lists) =>
        lists.map((ops, i): Change => ({ id: `${prefix}${i}`, rev: 2 + i, baseRev: 1 + i, ops, createdAt: 0, committedAt: 0 })),
      );
    fc.assert(
      fc.property(changes('c'), changes('q'), (committed, queue) => {
        expect(walk(committed, queue, () => false, 0)).toEqual(walk(committed, queue, () => false, Infinity));
      }),
      { numRuns: 300, seed: 32 },
    );
  });

  it('should yield within a long transform whose ops all leave the other side alone', () => {
    // 3,000 inserts into one list over 3,000 into another meet nowhere, but each op looks at all the
    // others to find so (9 million looks): that look must count towards a step as a rewrite does
    // (it took 5.6 s in one step for 20,000 each, the server's event loop held).
    const inserts = (list: string): JSONPatchOp[] => Array.from({ length: 3000 }, (_, i) => ({ op: 'add', path: `/${list}/0`, value: i }));
    const sets = (prefix: string): JSONPatchOp[] => Array.from({ length: 3000 }, (_, i) => ({ op: 'replace', path: `/${prefix}${i}`, value: i }));
    for (const [thisOps, otherOps] of [[inserts('l'), inserts('m')], [sets('a'), sets('b')]]) {
      const steps = transformPatchSteps(thisOps, otherOps);
      let yields = 0;
      let step = steps.next();
      for (; !step.done; step = steps.next()) yields++;
      expect(step.value).toEqual(transformPatch(thisOps, otherOps));
      // About one yield per 4,096 ops looked at.
      expect(yields).toBeGreaterThan(1000);
    }
  });
});

describe('the walk meter (what the server bounds a commit by, maxTransformWork)', () => {
  const at = (id: string, rev: number, ops: JSONPatchOp[]): Change => ({ id, rev, baseRev: 0, ops, createdAt: 0, committedAt: 0 });
  const pairs = (committed: Change[], queue: Change[], isOwn: (change: Change) => boolean = () => false): number => {
    const meter = { pairs: 0 };
    runToEnd(walkQueueSteps(committed, queue, isOwn, undefined, meter));
    return meter.pairs;
  };
  const inserts = (count: number): JSONPatchOp[] => Array.from({ length: count }, () => ({ op: 'add', path: '/l/0', value: 0 }));

  it('should count the op pairs of each committed change with each queued one, nothing for an own change', () => {
    const queue = [at('q1', 1, inserts(3)), at('q2', 2, inserts(2))];
    // 4 committed ops meet 3, then (carried) 2.
    expect(pairs([at('c', 1, inserts(4))], queue)).toBe(4 * 3 + 4 * 2);
    // An own change (a resend's committed copy) takes its entry out, and costs nothing.
    expect(pairs([at('q1', 1, inserts(3))], queue, (change) => change.id === 'q1')).toBe(0);
  });

  it('should weigh an @txt op more than a plain one, and more with a longer delta', () => {
    const typed = (inserts: number): JSONPatchOp[] => [{ op: '@txt', path: '/body', value: Array.from({ length: inserts }, () => ({ insert: 'x' })) }];
    // 3 and a quarter of the delta's ops each: a pair of one-insert deltas ~10 pairs of plain ops.
    expect(pairs([at('c', 1, typed(1))], [at('q', 1, typed(1))])).toBeCloseTo(3.25 ** 2);
    expect(pairs([at('c', 1, typed(40))], [at('q', 1, typed(1))])).toBeCloseTo(13 * 3.25);
  });
});
