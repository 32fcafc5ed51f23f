import { applyPatch } from '../../../src/algorithms/applyPatch.js';
import { PatchError } from '../../../src/errors.js';
import { applyWithinDepth } from '../../../src/server/docs/applyWithinDepth.js';
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

const refused = expect.objectContaining({ code: 400, message: expect.stringContaining('would nest the document deeper'), data: { changeId: 'c1', scope: 'change' } });

describe('applyWithinDepth', () => {
  it('should apply a change as applyPatch does, copies and moves included', () => {
    const state = { a: { b: [1, 2] }, n: 1 };
    const ops: JSONPatchOp[] = [{ op: '@inc', path: '/n', value: 1 }, { op: 'copy', from: '/a', path: '/c' }, { op: 'add', path: '/c/b/-', value: 3 }, { op: 'move', from: '/c', path: '/a/c' }];
    expect(applyWithinDepth(state, changeOf(ops))).toEqual(applyPatch(state, ops, { mode: 'strict' }));
    expect(state).toEqual({ a: { b: [1, 2] }, n: 1 });
  });

  it('should throw a PatchError for an op that does not apply, before or after a copy', () => {
    expect(() => applyWithinDepth({ a: 1 }, changeOf([{ op: 'copy', from: '/missing', path: '/b' }]))).toThrow(PatchError);
    expect(() => applyWithinDepth({ a: 1 }, changeOf([{ op: 'copy', from: '/a', path: '/b' }, { op: 'test', path: '/b', value: 2 }]))).toThrow(PatchError);
  });

  // Found in review, fixed: a copy carries no value for validation to measure; repeated copies of
  // /a onto its own deepest leaf doubled the depth at each commit (~25,700 levels by rev 8), and
  // every snapshot then overflowed the stack.
  it('should refuse a copy of /a onto its own deepest leaf past MAX_DEPTH, and take it up to MAX_DEPTH', () => {
    // /a k deep copied under its leaf's key x (k + 1 segments down) nests 2k + 1 levels: 255 at k = 127.
    const selfCopy = (k: number): [unknown, Change] => [{ a: nested(k) }, changeOf([{ op: 'copy', from: '/a', path: '/a' + '/d'.repeat(k - 1) + '/x' }])];
    const allowed = applyWithinDepth(...selfCopy(127));
    expect(exceedsDepth(allowed, 254)).toBe(true);
    expect(exceedsDepth(allowed, 255)).toBe(false);
    expect(() => applyWithinDepth(...selfCopy(128))).toThrow(refused);
  });

  it.each(['copy', 'move'] as const)('should refuse a %s whose path depth plus the subtree depth passes MAX_DEPTH by one, and allow it at MAX_DEPTH', (op) => {
    const state = { a: nested(10) };
    expect(exceedsDepth(applyWithinDepth(state, changeOf([{ op, from: '/a', path: '/s'.repeat(MAX_DEPTH - 10) }])), MAX_DEPTH)).toBe(false);
    expect(() => applyWithinDepth(state, changeOf([{ op, from: '/a', path: '/s'.repeat(MAX_DEPTH - 9) }]))).toThrow(refused);
  });

  it('should measure the subtree as the earlier ops of the change left it, and name the op', () => {
    const ops: JSONPatchOp[] = [{ op: 'add', path: '/a', value: nested(10) }, { op: 'add', path: '/a/d/d/d/d/d/d/d/d/d/e', value: nested(10) }, { op: 'copy', from: '/a', path: '/s'.repeat(MAX_DEPTH - 15) }];
    expect(() => applyWithinDepth({}, changeOf(ops))).toThrow(expect.objectContaining({ message: expect.stringContaining('op 2 (copy)') }));
  });

  it('should take a copy of a scalar to a path MAX_DEPTH deep', () => {
    expect(applyWithinDepth({ a: 1 }, changeOf([{ op: 'copy', from: '/a', path: '/s'.repeat(MAX_DEPTH) }]))).toBeDefined();
  });
});
