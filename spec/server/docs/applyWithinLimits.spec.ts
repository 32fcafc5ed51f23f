import { applyPatch } from '../../../src/algorithms/applyPatch.js';
import { PatchError } from '../../../src/errors.js';
import { applyWithinLimits } from '../../../src/server/docs/applyWithinLimits.js';
import { exceedsDepth, MAX_DEPTH } from '../../../src/server/validate.js';
import type { Change, JSONPatchOp } from '../../../src/types.js';

/** `levels` objects nested under key `d` (an empty object at the bottom): `levels` deep. */
function nested(levels: number): unknown {
  let value: unknown = {};
  for (let i = 1; i < levels; i++) value = { d: value };
  return value;
}

function changeOf(ops: JSONPatchOp[]): Change {
  return { id: 'c1', baseRev: 0, rev: 1, ops, createdAt: 0, committedAt: 0 };
}

/** The depth checks alone: no byte limit on copies. */
const within = (state: unknown, change: Change): unknown => applyWithinLimits(state, change, Infinity);

const refused = expect.objectContaining({ code: 400, message: expect.stringContaining('would nest the document deeper'), data: { changeId: 'c1', scope: 'change' } });

describe('applyWithinLimits', () => {
  it('should apply a change as applyPatch does, copies and moves included', () => {
    const state = { a: { b: [1, 2] }, n: 1 };
    const ops: JSONPatchOp[] = [{ op: '@inc', path: '/n', value: 1 }, { op: 'copy', from: '/a', path: '/c' }, { op: 'add', path: '/c/b/-', value: 3 }, { op: 'move', from: '/c', path: '/a/c' }];
    expect(within(state, changeOf(ops))).toEqual(applyPatch(state, ops, { mode: 'strict' }));
    expect(state).toEqual({ a: { b: [1, 2] }, n: 1 });
  });

  it('should throw a PatchError for an op that does not apply, before or after a copy', () => {
    expect(() => within({ a: 1 }, changeOf([{ op: 'copy', from: '/missing', path: '/b' }]))).toThrow(PatchError);
    expect(() => within({ a: 1 }, changeOf([{ op: 'copy', from: '/a', path: '/b' }, { op: 'test', path: '/b', value: 2 }]))).toThrow(PatchError);
  });

  // Found in review, fixed: a copy carries no value for validation to measure; repeated copies of
  // /a onto its own deepest leaf doubled the depth at each commit (~25,700 levels by rev 8), and
  // every snapshot then overflowed the stack.
  it('should refuse a copy of /a onto its own deepest leaf past MAX_DEPTH, and take it up to MAX_DEPTH', () => {
    // /a k deep copied under its leaf's key x (k + 1 segments down) nests 2k + 1 levels: 255 at k = 127.
    const selfCopy = (k: number): [unknown, Change] => [{ a: nested(k) }, changeOf([{ op: 'copy', from: '/a', path: '/a' + '/d'.repeat(k - 1) + '/x' }])];
    const allowed = within(...selfCopy(127));
    expect(exceedsDepth(allowed, 254)).toBe(true);
    expect(exceedsDepth(allowed, 255)).toBe(false);
    expect(() => within(...selfCopy(128))).toThrow(refused);
  });

  it.each(['copy', 'move'] as const)('should refuse a %s whose path depth plus the subtree depth passes MAX_DEPTH by one, and allow it at MAX_DEPTH', (op) => {
    const state = { a: nested(10) };
    expect(exceedsDepth(within(state, changeOf([{ op, from: '/a', path: '/s'.repeat(MAX_DEPTH - 10) }])), MAX_DEPTH)).toBe(false);
    expect(() => within(state, changeOf([{ op, from: '/a', path: '/s'.repeat(MAX_DEPTH - 9) }]))).toThrow(refused);
  });

  it('should measure the subtree as the earlier ops of the change left it, and name the op', () => {
    const ops: JSONPatchOp[] = [{ op: 'add', path: '/a', value: nested(10) }, { op: 'add', path: '/a/d/d/d/d/d/d/d/d/d/e', value: nested(10) }, { op: 'copy', from: '/a', path: '/s'.repeat(MAX_DEPTH - 15) }];
    expect(() => within({}, changeOf(ops))).toThrow(expect.objectContaining({ message: expect.stringContaining('op 2 (copy)') }));
  });

  it('should take a copy of a scalar to a path MAX_DEPTH deep', () => {
    expect(within({ a: 1 }, changeOf([{ op: 'copy', from: '/a', path: '/s'.repeat(MAX_DEPTH) }]))).toBeDefined();
  });

  // Found in review, fixed: a copy of /a beside itself doubled the document at each commit (its
  // structure shared in memory, but written out whole by every snapshot, getDoc and client store).
  describe('the bytes copies add', () => {
    const big = { text: 'x'.repeat(1_000) }; // {"text":"xxx…"} is 1,011 bytes
    const limit = 2_500;
    const tooLarge = expect.objectContaining({ code: 413, message: expect.stringContaining('op 1 (copy)'), data: { changeId: 'c1', scope: 'change' } });

    it('should count each copy against one budget, refusing the copy that passes it', () => {
      expect(applyWithinLimits({ a: big }, changeOf([{ op: 'copy', from: '/a', path: '/b' }, { op: 'copy', from: '/a', path: '/c' }]), limit)).toEqual({ a: big, b: big, c: big });
      expect(() => applyWithinLimits({ a: big }, changeOf([{ op: 'copy', from: '/a', path: '/b' }, { op: 'copy', from: '/a', path: '/c' }, { op: 'copy', from: '/a', path: '/d' }]), limit)).toThrow(
        expect.objectContaining({ code: 413, message: expect.stringContaining('op 2 (copy)') }),
      );
    });

    it('should measure the subtree as the change left it, and refuse a copy of a copy past the budget', () => {
      // /a then holds big twice (~2 KB): its copy passes 2,500 with the first.
      expect(() => applyWithinLimits({ a: { one: big } }, changeOf([{ op: 'copy', from: '/a/one', path: '/a/two' }, { op: 'copy', from: '/a', path: '/b' }]), limit)).toThrow(tooLarge);
    });

    it('should not count moves, nor the values ops carry (the change size limit bounds those)', () => {
      const ops: JSONPatchOp[] = [{ op: 'add', path: '/v', value: 'y'.repeat(5_000) }, { op: 'move', from: '/a', path: '/m' }, { op: 'copy', from: '/m', path: '/c' }];
      expect(applyWithinLimits({ a: big }, changeOf(ops), limit)).toEqual({ v: 'y'.repeat(5_000), m: big, c: big });
    });

    it('should refuse commits of doubling at the first copy past the limit', () => {
      let state: unknown = { a: big };
      let commits = 0;
      const double = (): unknown => applyWithinLimits(state, changeOf([{ op: 'copy', from: '/a', path: '/a/' + commits }]), 100_000);
      // Bounded: without the limit every depth walk visits each copy (2^commits of them).
      while (commits < 12) {
        try {
          state = double();
        } catch (error) {
          expect(error).toEqual(expect.objectContaining({ code: 413 }));
          break;
        }
        commits++;
      }
      // ~1 KB doubled by each commit: ~128 KB after 7, whose 8th would add ~128 KB more.
      expect(commits).toBe(7);
      expect(JSON.stringify(state).length).toBeLessThan(200_000);
    });
  });
});
