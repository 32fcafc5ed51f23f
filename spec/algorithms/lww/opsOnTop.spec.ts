import fc from 'fast-check';
import { applyPatch } from '../../../src/algorithms/applyPatch.js';
import { consolidateOps } from '../../../src/algorithms/lww/consolidateOps.js';
import { opsOnTop } from '../../../src/algorithms/lww/opsOnTop.js';
import { afterWrite, byPathOrder, opsMeeting } from '../../../src/algorithms/lww/pathOrder.js';
import type { JSONPatchOp } from '../../../src/types.js';

const op = (path: string, value: unknown, ts = 1): JSONPatchOp => ({ op: 'replace', path, value, ts });
const view = (state: unknown, ops: readonly JSONPatchOp[]) => applyPatch(state, ops, { mode: 'lenient' });

/** A path of up to three segments, from few enough names that paths often meet (`/a` sorts next to `/a0` and `/a/b`; `/0` may be an index), the root now and then. */
const path = fc.oneof(
  { arbitrary: fc.array(fc.constantFrom('a', 'a0', 'b', '0'), { minLength: 1, maxLength: 3 }).map(segments => segments.map(s => `/${s}`).join('')), weight: 19 },
  { arbitrary: fc.constant(''), weight: 1 },
);

/** Any op LWW keeps pending: plain writes (objects, primitives), removes, soft writes, deltas, now and then a test. */
const lwwOp = fc.oneof(
  { arbitrary: fc.record({ op: fc.constantFrom('replace', 'add'), path, value: fc.oneof(fc.integer(), fc.constant({}), fc.record({ a: fc.integer(), b: fc.record({ a: fc.integer() }) }), fc.constant([1, 2])), ts: fc.integer({ min: 1, max: 9 }) }), weight: 6 },
  { arbitrary: fc.record({ op: fc.constant('remove'), path, ts: fc.integer({ min: 1, max: 9 }) }), weight: 6 },
  { arbitrary: fc.record({ op: fc.constant('add'), path, value: fc.constant({}), soft: fc.constant(true), ts: fc.integer({ min: 1, max: 9 }) }), weight: 6 },
  { arbitrary: fc.record({ op: fc.constant('@inc'), path, value: fc.integer({ min: 1, max: 5 }), ts: fc.integer({ min: 1, max: 9 }) }), weight: 6 },
  { arbitrary: fc.record({ op: fc.constant('test'), path, value: fc.integer({ min: 0, max: 1 }), ts: fc.integer({ min: 1, max: 9 }) }), weight: 1 },
) as fc.Arbitrary<JSONPatchOp>;

/** Pending ops as a client builds them: edits folded in one after another (consolidated, written in path order). */
const pending = fc.array(fc.array(lwwOp, { minLength: 1, maxLength: 3 }), { maxLength: 12 }).map(edits => edits.reduce<JSONPatchOp[]>((list, edit) => written(list, edit), []));

/** `list` after one more edit, as `LWWAlgorithm` writes it (the ops that did not change are the same objects). */
function written(list: readonly JSONPatchOp[], edit: readonly JSONPatchOp[]): JSONPatchOp[] {
  const { opsToSave, pathsToDelete } = consolidateOps(opsMeeting(list, edit.map(o => o.path)), edit);
  return afterWrite(list, opsToSave, pathsToDelete);
}

/** A committed state the ops apply to (or partly fail on, leniently). */
const committed = fc.record({ a: fc.oneof(fc.constant({ b: 1 }), fc.constant(3), fc.constant([0, 1])), b: fc.constant({}) }, { requiredKeys: [] });

describe('opsOnTop', () => {
  it('should give the new ops of a write that only adds or overwrites fields', () => {
    const a = op('/a', 1);
    const b = op('/b', 2, 2);
    expect(opsOnTop([a], [a, b])).toEqual([b]);
    expect(opsOnTop([a, b], [op('/a', 5, 3), b])).toEqual([op('/a', 5, 3)]);
    // A parent write that superseded the ops below it.
    expect(opsOnTop([b, op('/p/x', 1), op('/p/y', 2)], [b, op('/p', { z: 1 }, 3)])).toEqual([op('/p', { z: 1 }, 3)]);
    expect(opsOnTop([a], [a, { op: 'remove', path: '/b', ts: 2 }])).toEqual([{ op: 'remove', path: '/b', ts: 2 }]);
  });

  it('should find nothing new in the same ops, or in copies of them', () => {
    const list = [op('/a', { x: 1 }), op('/b', 2)];
    expect(opsOnTop(list, list)).toEqual([]);
    expect(opsOnTop(list, structuredClone(list))).toEqual([]);
  });

  it('should leave to a rebuild what applying on top would get wrong, or gain nothing from', () => {
    const a = op('/a', 1);
    expect(opsOnTop([a], [{ op: '@inc', path: '/a', value: 1, ts: 2 }])).toBeUndefined();
    expect(opsOnTop([], [{ op: 'add', path: '/a', value: {}, ts: 2 }])).toBeUndefined();
    expect(opsOnTop([], [{ op: 'replace', path: '/a', value: 1, soft: true, ts: 2 }])).toBeUndefined();
    // An op below the new one would apply after it when rebuilt.
    expect(opsOnTop([op('/p/x', 1, 9)], [op('/p', {}, 2), op('/p/x', 1, 9)])).toBeUndefined();
    // A remove where an op was: that op may have made the objects above it (a write makes the
    // missing ones), which the rebuilt view would not have.
    expect(opsOnTop([op('/p/x', 1)], [{ op: 'remove', path: '/p/x', ts: 2 }])).toBeUndefined();
    expect(opsOnTop([op('/p/x/y', 1)], [{ op: 'remove', path: '/p/x', ts: 2 }])).toBeUndefined();
    // An op gone with no new write above it.
    expect(opsOnTop([a, op('/b', 2)], [a])).toBeUndefined();
    // Array indexes, move and copy, lists out of path order, too many new ops.
    expect(opsOnTop([], [op('/list/0', 1)])).toBeUndefined();
    expect(opsOnTop([op('/list/-', 1)], [])).toBeUndefined();
    expect(opsOnTop([a], [a, { op: 'copy', path: '/c', from: '/b', ts: 1 }, op('/d', 1)])).toBeUndefined();
    // A failed test voids every op of a view: the one before, or the rebuilt one.
    expect(opsOnTop([a, { op: 'test', path: '/t', value: 1 }], [a, op('/b', 1), { op: 'test', path: '/t', value: 1 }])).toBeUndefined();
    expect(opsOnTop([op('/p/t', 1), { op: 'test', path: '/p/t/x', value: 1 }], [op('/p', {}, 2)])).toBeUndefined();
    expect(opsOnTop([op('/b', 1), a], [op('/b', 1), a, op('/c', 1)])).toBeUndefined();
    expect(opsOnTop([], Array.from({ length: 65 }, (_, i) => op(`/f${String(i).padStart(2, '0')}`, i)))).toBeUndefined();
  });

  it('should show, applied on the view of the ops before, what the view of the ops after shows', () => {
    let onTopCount = 0;
    fc.assert(
      fc.property(committed, pending, fc.array(fc.array(lwwOp, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 2 }), (state, before, edits) => {
        const after = edits.reduce<JSONPatchOp[]>((list, edit) => written(list, edit), before);
        const onTop = opsOnTop(before, after);
        if (onTop === undefined) return;
        if (onTop.length > 0) onTopCount++;
        expect(view(view(state, before), onTop)).toEqual(view(state, after));
      }),
      { numRuns: 1500 },
    );
    // The common case (a write of plain fields) is taken on top, not left to a rebuild.
    expect(onTopCount).toBeGreaterThan(40);
  });

  it('should hold for lists that share no objects', () => {
    fc.assert(
      fc.property(committed, pending, fc.array(lwwOp, { minLength: 1, maxLength: 3 }), (state, before, edit) => {
        const after = structuredClone(written(before, edit)).sort(byPathOrder);
        const onTop = opsOnTop(before, after);
        if (onTop) expect(view(view(state, before), onTop)).toEqual(view(state, after));
      }),
      { numRuns: 1000 },
    );
  });
});
