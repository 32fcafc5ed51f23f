import fc from 'fast-check';
import { enablePatches, produceWithPatches, type Draft } from 'immer';
import { applyPatch } from '../../../src/algorithms/applyPatch.js';
import { arraysWhole } from '../../../src/algorithms/recording/arraysWhole.js';
import { immerPatchesToOps } from '../../../src/algorithms/recording/immerPatchesToOps.js';
import type { JSONPatchOp, JSONValue } from '../../../src/types.js';

enablePatches();

const strict = <T>(doc: T, ops: readonly JSONPatchOp[]): T => applyPatch(doc, ops, { mode: 'strict' });

/** True when `path` goes into an array of `state` (an element, or anything under one). */
function goesIntoArray(path: string, state: unknown): boolean {
  let value = state;
  for (const key of path.split('/').slice(1)) {
    if (Array.isArray(value)) return true;
    if (value === null || typeof value !== 'object') return false;
    value = (value as Record<string, unknown>)[key];
  }
  return false;
}

describe('arraysWhole', () => {
  it('should write an array an op goes into whole, once, where its first op was', () => {
    const next = { list: [2, 3, 9], rows: [{ tags: ['x', 'a'] }], title: 't' };
    const ops: JSONPatchOp[] = [
      { op: 'remove', path: '/list/0' },
      { op: 'replace', path: '/title', value: 't' },
      { op: 'add', path: '/list/-', value: 9 },
      { op: 'add', path: '/rows/0/tags/0', value: 'x' },
    ];
    expect(arraysWhole(ops, next)).toEqual([
      { op: 'replace', path: '/list', value: [2, 3, 9] },
      { op: 'replace', path: '/title', value: 't' },
      { op: 'replace', path: '/rows', value: [{ tags: ['x', 'a'] }] },
    ]);
  });

  it('should leave ops that go into no array, and the ops into an array the change then removed, as they are', () => {
    const plain: JSONPatchOp[] = [{ op: 'replace', path: '/list', value: [1] }, { op: 'add', path: '/a/b', value: 1 }];
    expect(arraysWhole(plain, { list: [1], a: { b: 1 } })).toBe(plain);
    const removed: JSONPatchOp[] = [{ op: 'add', path: '/list/0', value: 1 }, { op: 'remove', path: '/list' }];
    expect(arraysWhole(removed, {})).toBe(removed);
  });

  // What it promises: the ops still lead from the base to the next state, and none goes into an array.
  it('should keep what any recorded change does, with no op inside an array', () => {
    const leaf = fc.oneof(fc.nat(9), fc.constantFrom('a', 'b'));
    const item = fc.oneof(leaf, fc.array(leaf, { maxLength: 3 }), fc.record({ tags: fc.array(leaf, { maxLength: 3 }), n: leaf }));
    const base = fc.record({ list: fc.array(item, { maxLength: 4 }), box: fc.record({ inner: fc.array(leaf, { maxLength: 3 }), v: leaf }), v: leaf });
    const step = fc.record({ kind: fc.nat(9), at: fc.nat(), value: leaf });
    type Step = typeof step extends fc.Arbitrary<infer S> ? S : never;
    type Doc = { list: JSONValue[]; box: { inner: JSONValue[]; v: JSONValue }; v: JSONValue };
    const edit = (draft: Draft<Doc>, { kind, at, value }: Step): void => {
      const list = draft.list;
      const i = list.length === 0 ? 0 : at % list.length;
      const element = list[i];
      switch (kind) {
        case 0: list.push(value); break;
        case 1: list.splice(i, 1); break;
        case 2: list.unshift(value); break;
        case 3: if (Array.isArray(element)) element.push(value); break;
        case 4: if (element && typeof element === 'object' && !Array.isArray(element)) (element as { tags: JSONValue[] }).tags.unshift(value); break;
        case 5: draft.box.inner.splice(at % (draft.box.inner.length + 1), 0, value); break;
        case 6: draft.box.v = value; break;
        case 7: list.length = Math.min(list.length, at % 3); break;
        case 8: list.reverse(); break;
        default: draft.v = value; break;
      }
    };
    fc.assert(
      fc.property(base, fc.array(step, { minLength: 1, maxLength: 6 }), (start, steps) => {
        const [next, patches] = produceWithPatches(start as Doc, draft => steps.forEach(s => edit(draft, s)));
        const ops = arraysWhole(immerPatchesToOps(patches, start), next);
        expect(strict(start, ops)).toEqual(next);
        for (const op of ops) expect(goesIntoArray(op.path, next)).toBe(false);
      }),
      { numRuns: 1500 },
    );
  });
});
