import fc from 'fast-check';
import { applyOpAt, applyPatch } from '../../../src/algorithms/applyPatch.js';
import { parsePointer } from '../../../src/algorithms/jsonPointer.js';
import { PatchDraft, valueAt } from '../../../src/algorithms/ops/PatchDraft.js';
import { jsonBytesUpTo } from '../../../src/algorithms/batching/sizeOf.js';
import { PatchError, StatusError } from '../../../src/errors.js';
import { applyWithinLimits } from '../../../src/server/docs/applyWithinLimits.js';
import { changeError, exceedsDepth, MAX_DEPTH } from '../../../src/server/validate.js';
import { enableRichText } from '../../../src/txt/enableRichText.js';
import type { Change, JSONPatchOp } from '../../../src/types.js';
import { arbitraryDoc, arbitraryPath, deepFreeze } from '../../helpers/arbitraryOps.js';

/**
 * The strict apply and `applyWithinLimits` as they were before a move stopped forking in a strict
 * draft and `applyWithinLimits` ran one draft: what they do now must be what these did, op for op,
 * failures included (same error class, op index, message and path).
 */
function forkingStrictApply(state: unknown, ops: readonly JSONPatchOp[], offset = 0): unknown {
  const draft = new PatchDraft(state); // discardedOnFailure off: every move runs on a fork, as before
  ops.forEach((op, index) => applyOpAt(draft, op, offset + index));
  return draft.root;
}

/** The former `applyWithinLimits`, one fresh apply per stretch (its PatchError indexes counted from the change's start here: they were within the stretch). */
function stretchwise(state: unknown, change: Change, maxCopyBytes: number): unknown {
  const { ops } = change;
  let start = 0;
  let copyBudget = maxCopyBytes;
  for (let index = 0; index < ops.length; index++) {
    const op = ops[index];
    if (op.op !== 'copy' && op.op !== 'move') continue;
    state = forkingStrictApply(state, ops.slice(start, index), start);
    start = index;
    const moved = op.from === undefined ? undefined : valueAt(state, op.from);
    if (moved === undefined) continue;
    if (op.op === 'copy') {
      copyBudget -= jsonBytesUpTo(moved, copyBudget);
      if (copyBudget < 0) {
        throw new StatusError(413, `Change ${change.id}: op ${index} (copy) takes what its copies add to the document past ${maxCopyBytes} bytes, the most one change may add`, { changeId: change.id, scope: 'change' });
      }
    }
    if (exceedsDepth(moved, MAX_DEPTH - parsePointer(op.path).length)) {
      throw changeError(change.id, `op ${index} (${op.op}) would nest the document deeper than ${MAX_DEPTH} levels`);
    }
  }
  return forkingStrictApply(state, ops.slice(start), start);
}

/** What running `work` gives, comparable: the result as JSON (key order included), or the error's class and fields. */
function outcome(work: () => unknown): unknown {
  try {
    return { json: JSON.stringify(work()) };
  } catch (error) {
    if (error instanceof PatchError) return { error: 'PatchError', index: error.opIndex, path: error.path, message: error.message };
    if (error instanceof StatusError) return { error: 'StatusError', code: error.code, message: error.message, data: error.data };
    return { error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  }
}

/** Ops heavy in moves and copies, over colliding keys, many of them failing. */
const opName = fc.constantFrom('move', 'move', 'move', 'copy', 'copy', 'add', 'remove', 'replace', 'test', '@inc', '@txt');
const arbitraryOp = fc.record(
  { op: opName, path: arbitraryPath, from: arbitraryPath, value: fc.oneof(arbitraryDoc, fc.constant(undefined)), soft: fc.boolean() },
  { requiredKeys: ['op', 'path'] },
) as fc.Arbitrary<JSONPatchOp>;
const arbitraryOps = fc.array(arbitraryOp, { maxLength: 12 });

function changeOf(ops: JSONPatchOp[]): Change {
  return { id: 'c1', baseRev: 0, rev: 1, ops, createdAt: 0, committedAt: 0 };
}

/** `levels` objects nested under key `d`: `levels` deep. */
function nested(levels: number): unknown {
  let value: unknown = {};
  for (let i = 1; i < levels; i++) value = { d: value };
  return value;
}

beforeAll(enableRichText);

describe('apply equivalence (a strict move without a fork, applyWithinLimits in one draft)', () => {
  it('should apply random op lists in strict mode exactly as the forking apply did, failures included', () => {
    fc.assert(
      fc.property(arbitraryDoc, arbitraryOps, (state, ops) => {
        deepFreeze(state);
        const before = JSON.stringify(state);
        expect(outcome(() => applyPatch(state, ops, { mode: 'strict' }))).toEqual(outcome(() => forkingStrictApply(state, ops)));
        expect(JSON.stringify(state)).toBe(before);
      }),
      { numRuns: 3000, seed: 32 },
    );
  });

  it('should apply random changes within limits exactly as the stretchwise apply did, failures and refusals included', () => {
    const base = fc.record({ a: arbitraryDoc, b: arbitraryDoc, '0': arbitraryDoc });
    fc.assert(
      fc.property(base, arbitraryOps, fc.integer({ min: 0, max: 200 }), (state, ops, maxCopyBytes) => {
        deepFreeze(state);
        const change = changeOf(ops);
        expect(outcome(() => applyWithinLimits(state, change, maxCopyBytes))).toEqual(outcome(() => stretchwise(state, change, maxCopyBytes)));
      }),
      { numRuns: 3000, seed: 33 },
    );
  });

  it('should measure again a subtree this change wrote to since it was measured', () => {
    // /b is written (the draft's own copy), measured as it moves to /c, then made deeper in place by
    // the move of the chain into it: the height measured first must not let the last move through.
    const state = deepFreeze({ a: nested(250), b: { x: {} } });
    const change = changeOf([
      { op: 'add', path: '/b/y', value: 1 },
      { op: 'move', from: '/b', path: '/c' },
      { op: 'move', from: '/a', path: '/c/x/a' },
      { op: 'move', from: '/c', path: '/p/q/r/s/t' },
    ]);
    const expected = { error: 'StatusError', code: 400, message: `INVALID_CHANGE: c1: op 3 (move) would nest the document deeper than ${MAX_DEPTH} levels`, data: { changeId: 'c1', scope: 'change' } };
    expect(outcome(() => stretchwise(state, change, Infinity))).toEqual(expected);
    expect(outcome(() => applyWithinLimits(state, change, Infinity))).toEqual(expected);
  });

  it('should refuse moves and copies past the depth limit exactly as before, also when the subtree was measured before in the change', () => {
    // A chain ~MAX_DEPTH deep at /a, moved and copied between paths of several depths: the heights known
    // from an earlier op must not let a deeper placement through, nor refuse an allowed one.
    const deepPath = fc.array(fc.constantFrom('a', 'b', 'd', 'x'), { minLength: 1, maxLength: 6 }).map((keys) => keys.map((k) => '/' + k).join(''));
    const deepOp = fc.record({ op: fc.constantFrom('move', 'copy', 'add', 'remove'), path: deepPath, from: deepPath, value: fc.constantFrom({}, { d: {} }, 1) }) as fc.Arbitrary<JSONPatchOp>;
    fc.assert(
      fc.property(fc.integer({ min: MAX_DEPTH - 8, max: MAX_DEPTH }), fc.array(deepOp, { maxLength: 10 }), (levels, ops) => {
        const state = deepFreeze({ a: nested(levels), b: { x: { d: 1 } }, x: {} });
        const change = changeOf(ops);
        expect(outcome(() => applyWithinLimits(state, change, Infinity))).toEqual(outcome(() => stretchwise(state, change, Infinity)));
      }),
      { numRuns: 2000, seed: 34 },
    );
  });

  it("should measure again a subtree of the draft's own that an op wrote into, also by the from of a move and through shifted indexes, and only then", () => {
    const change = (ops: JSONPatchOp[]) => changeOf([{ op: 'add', path: '/l/0/w', value: 1 }, { op: 'add', path: '/l/1/w', value: 1 }, { op: 'add', path: '/l/2/w', value: 1 }, ...ops]);
    const state = deepFreeze({ a: nested(250), l: [{}, {}, {}] });
    const cases: JSONPatchOp[][] = [
      // /l/1 (the draft's own) measured, the chain moved out of it through its from: moved deep, it is allowed.
      [{ op: 'move', from: '/a', path: '/l/1/c' }, { op: 'move', from: '/l/1', path: '/m' }, { op: 'move', from: '/m/c', path: '/a' }, { op: 'move', from: '/m', path: '/p/q/r/s/t/u/v' }],
      // /l/2 measured, then made deep by a move from /l/0 to /l/1/c: after the removal, /l/1 is what was /l/2.
      [{ op: 'move', from: '/l/2', path: '/k' }, { op: 'move', from: '/k', path: '/l/2' }, { op: 'move', from: '/l/0', path: '/l/1/x' }, { op: 'move', from: '/a', path: '/l/1/c' }, { op: 'move', from: '/l/1', path: '/p/q/r/s/t' }],
      [{ op: 'move', from: '/l/2', path: '/k' }, { op: 'move', from: '/k', path: '/l/2' }, { op: 'move', from: '/a', path: '/l/0/c' }, { op: 'move', from: '/l/0', path: '/l/1/c' }, { op: 'move', from: '/l/1', path: '/p/q/r/s/t' }],
    ];
    for (const ops of cases) expect(outcome(() => applyWithinLimits(state, change(ops), Infinity))).toEqual(outcome(() => stretchwise(state, change(ops), Infinity)));
    // Random moves among the draft's own containers, a chain near the limit among them.
    const key = fc.constantFrom('l', '0', '1', '2', '-', 'a', 'c', 'k');
    const path = fc.array(key, { minLength: 1, maxLength: 4 }).map((keys) => '/' + keys.join('/'));
    const op = fc.record({ op: fc.constantFrom('move', 'move', 'move', 'copy', 'add', 'remove'), path, from: path, value: fc.constantFrom({}, { c: {} }, 1) }) as fc.Arbitrary<JSONPatchOp>;
    fc.assert(
      fc.property(fc.integer({ min: MAX_DEPTH - 8, max: MAX_DEPTH - 2 }), fc.array(op, { maxLength: 14 }), (levels, ops) => {
        const deep = deepFreeze({ a: nested(levels), l: [{ c: {} }, {}, { c: { c: {} } }] });
        expect(outcome(() => applyWithinLimits(deep, change(ops), Infinity))).toEqual(outcome(() => stretchwise(deep, change(ops), Infinity)));
      }),
      { numRuns: 3000, seed: 35 },
    );
  });

  it("should walk a wide subtree of the draft's own once, not at every move", () => {
    // An element set first makes the array the draft's own; each of 200 moves walked its 100,000 elements again.
    const state = deepFreeze({ a: Array.from({ length: 100_000 }, (_, i) => i) });
    const ops: JSONPatchOp[] = [{ op: 'replace', path: '/a/0', value: -1 }];
    for (let i = 0; i < 200; i++) ops.push(i % 2 ? { op: 'move', from: '/b', path: '/a' } : { op: 'move', from: '/a', path: '/b' });
    // The walk reads an array's elements with its iterator: counted for the wide one.
    const iterate = Array.prototype[Symbol.iterator];
    let walks = 0;
    Array.prototype[Symbol.iterator] = function (this: unknown[]) {
      if (this.length === 100_000) walks++;
      return iterate.call(this);
    };
    try {
      expect((applyWithinLimits(state, changeOf(ops), Infinity) as { a: number[] }).a[0]).toBe(-1);
    } finally {
      Array.prototype[Symbol.iterator] = iterate;
    }
    expect(walks).toBeLessThan(5);
  });
});
