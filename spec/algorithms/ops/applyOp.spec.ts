import { applyOp } from '../../../src/algorithms/ops/applyOp.js';
import { OpFailure } from '../../../src/algorithms/ops/OpFailure.js';
import { PatchDraft } from '../../../src/algorithms/ops/PatchDraft.js';
import type { JSONPatchOp } from '../../../src/types.js';
import { deepFreeze, outcome } from '../../helpers/arbitraryOps.js';

/** The document after applying `ops` one by one to a draft over a frozen copy of `doc`. */
function applied(doc: unknown, ...ops: JSONPatchOp[]): unknown {
  const draft = new PatchDraft(deepFreeze(structuredClone(doc)));
  for (const op of ops) applyOp(draft, op);
  return draft.root;
}

describe('applyOp', () => {
  describe('the shape of an op', () => {
    it('should refuse an op that is not an object', () => {
      for (const op of [null, undefined, 'add', 3]) {
        expect(outcome(() => applyOp(new PatchDraft({}), op as unknown as JSONPatchOp))).toBe('OpFailure: an op must be an object');
      }
    });

    it('should refuse an op without a string path, the empty path being one', () => {
      expect(outcome(() => applyOp(new PatchDraft({}), { op: 'add', value: 1 } as unknown as JSONPatchOp))).toBe('OpFailure: an op requires a string "path"');
      expect(outcome(() => applyOp(new PatchDraft({}), { op: 'add', path: 0, value: 1 } as unknown as JSONPatchOp))).toBe('OpFailure: an op requires a string "path"');
      expect(applied({ a: 1 }, { op: 'replace', path: '', value: 2 })).toBe(2);
    });

    it('should refuse an unknown op, an inherited member name included', () => {
      for (const name of ['frobnicate', 'constructor', 'toString', '__proto__', '']) {
        expect(outcome(() => applyOp(new PatchDraft({}), { op: name, path: '/a', value: 1 }))).toBe(`OpFailure: unknown op "${name}"`);
      }
      expect(outcome(() => applyOp(new PatchDraft({}), { path: '/a', value: 1 } as unknown as JSONPatchOp))).toBe('OpFailure: unknown op "undefined"');
    });

    it('should refuse a forbidden path segment before running the op', () => {
      const draft = new PatchDraft({});
      expect(() => applyOp(draft, { op: 'add', path: '/__proto__/x', value: 1 })).toThrow(OpFailure);
      expect(outcome(() => applyOp(draft, { op: 'add', path: '/a/constructor', value: 1 }))).toBe('OpFailure: forbidden path segment "constructor"');
      expect(draft.root).toEqual({});
    });

    it('should check the shape before it looks at softness (a soft op still needs a path and a known name)', () => {
      expect(outcome(() => applyOp(new PatchDraft({ a: 1 }), { op: 'nope', path: '/a', value: 1, soft: true }))).toBe('OpFailure: unknown op "nope"');
    });
  });

  describe('running the handler', () => {
    it('should run the named op and leave the input untouched', () => {
      const input = deepFreeze({ a: 1, list: [1, 2] });
      const draft = new PatchDraft(input);
      applyOp(draft, { op: 'replace', path: '/a', value: 2 });
      applyOp(draft, { op: '@inc', path: '/a', value: 3 });
      applyOp(draft, { op: 'remove', path: '/list/0' });
      expect(draft.root).toEqual({ a: 5, list: [2] });
      expect(input).toEqual({ a: 1, list: [1, 2] });
    });

    it('should leave the draft as it was when the op fails', () => {
      const draft = new PatchDraft({ a: 1, list: [1] });
      applyOp(draft, { op: 'replace', path: '/a', value: 2 });
      const before = draft.root;
      expect(outcome(() => applyOp(draft, { op: 'remove', path: '/list/3' }))).toBe('OpFailure: invalid array index "3" for remove');
      expect(draft.root).toBe(before);
      expect(draft.root).toEqual({ a: 2, list: [1] });
    });
  });

  describe('soft writes (soft: true)', () => {
    it('should skip a soft write at an object key that exists, whatever it holds', () => {
      expect(applied({ a: 1 }, { op: 'replace', path: '/a', value: 2, soft: true })).toEqual({ a: 1 });
      expect(applied({ a: null }, { op: 'add', path: '/a', value: 2, soft: true })).toEqual({ a: null });
      expect(applied({ o: { a: 0 } }, { op: '@inc', path: '/o/a', value: 5, soft: true })).toEqual({ o: { a: 0 } });
    });

    it('should apply a soft write where the key is missing, its parents too', () => {
      expect(applied({ b: 1 }, { op: 'add', path: '/a', value: 2, soft: true })).toEqual({ b: 1, a: 2 });
      expect(applied({}, { op: 'add', path: '/o/p/a', value: 2, soft: true })).toEqual({ o: { p: { a: 2 } } });
    });

    it('should not take an inherited member for an existing key', () => {
      expect(applied({}, { op: 'add', path: '/toString', value: 1, soft: true })).toEqual({ toString: 1 });
      expect(applied({}, { op: 'add', path: '/hasOwnProperty', value: {} })).toEqual({ hasOwnProperty: {} });
    });

    it('should see what an earlier op on the same draft created', () => {
      expect(applied({}, { op: 'add', path: '/a', value: 1 }, { op: 'add', path: '/a', value: 2, soft: true })).toEqual({ a: 1 });
      expect(applied({ a: 1 }, { op: 'remove', path: '/a' }, { op: 'add', path: '/a', value: 2, soft: true })).toEqual({ a: 2 });
    });

    it('should skip a soft write of the whole document only when there is one (null counts as none)', () => {
      expect(applied({ a: 1 }, { op: 'replace', path: '', value: 2, soft: true })).toEqual({ a: 1 });
      expect(applied(0, { op: 'replace', path: '', value: 2, soft: true })).toBe(0);
      expect(applied(null, { op: 'replace', path: '', value: 2, soft: true })).toBe(2);
      const draft = new PatchDraft(undefined);
      applyOp(draft, { op: 'add', path: '', value: { a: 1 }, soft: true });
      expect(draft.root).toEqual({ a: 1 });
    });

    it('should skip a soft non-insert at an array index that exists, and run it (and fail) past the end', () => {
      expect(applied({ list: [1, 2] }, { op: 'replace', path: '/list/1', value: 9, soft: true })).toEqual({ list: [1, 2] });
      expect(outcome(() => applied({ list: [1, 2] }, { op: 'replace', path: '/list/2', value: 9, soft: true }))).toBe('OpFailure: invalid array index "2" for replace');
    });

    it('should skip a soft insert into an array only when an equal element is already there (ensure-present)', () => {
      expect(applied({ tags: ['a', { b: 1 }] }, { op: 'add', path: '/tags/0', value: { b: 1 }, soft: true })).toEqual({ tags: ['a', { b: 1 }] });
      expect(applied({ tags: ['a', 'b'] }, { op: 'add', path: '/tags/0', value: 'c', soft: true })).toEqual({ tags: ['c', 'a', 'b'] });
    });

    it('should always apply a soft append, an equal element present or not', () => {
      expect(applied({ tags: ['a'] }, { op: 'add', path: '/tags/-', value: 'a', soft: true })).toEqual({ tags: ['a', 'a'] });
      expect(applied({ tags: [] }, { op: 'add', path: '/tags/-', value: 'a', soft: true })).toEqual({ tags: ['a'] });
    });

    it('should run a soft write through a primitive and fail as the op would', () => {
      expect(outcome(() => applied({ a: 1 }, { op: 'add', path: '/a/b', value: 2, soft: true }))).toBe('OpFailure: "a" holds a number, which has no children');
    });

    it('should treat only soft: true as soft', () => {
      expect(applied({ a: 1 }, { op: 'replace', path: '/a', value: 2, soft: false })).toEqual({ a: 2 });
      expect(applied({ a: 1 }, { op: 'replace', path: '/a', value: 2, soft: 'yes' } as unknown as JSONPatchOp)).toEqual({ a: 2 });
    });
  });

  describe('an add of an empty container (soft by convention)', () => {
    it('should not overwrite an existing key with {} or []', () => {
      expect(applied({ o: { keep: 1 } }, { op: 'add', path: '/o', value: {} })).toEqual({ o: { keep: 1 } });
      expect(applied({ l: [1] }, { op: 'add', path: '/l', value: [] })).toEqual({ l: [1] });
      expect(applied({ l: 'text' }, { op: 'add', path: '/l', value: [] })).toEqual({ l: 'text' });
    });

    it('should create the container where nothing is', () => {
      expect(applied({}, { op: 'add', path: '/o', value: {} }, { op: 'add', path: '/o/a', value: 1 })).toEqual({ o: { a: 1 } });
    });

    it('should overwrite with a non-empty container or by replace (only an add of an empty one is soft)', () => {
      expect(applied({ o: { keep: 1 } }, { op: 'add', path: '/o', value: { x: 1 } })).toEqual({ o: { x: 1 } });
      expect(applied({ o: { keep: 1 } }, { op: 'replace', path: '/o', value: {} })).toEqual({ o: {} });
      expect(applied({ o: { keep: 1 } }, { op: 'add', path: '/o', value: null })).toEqual({ o: null });
    });

    it('should insert an empty container into an array even where an equal one is (an empty row is data)', () => {
      expect(applied({ grid: [[], [1]] }, { op: 'add', path: '/grid/0', value: [] })).toEqual({ grid: [[], [], [1]] });
      expect(applied({ rows: [{}] }, { op: 'add', path: '/rows/-', value: {} })).toEqual({ rows: [{}, {}] });
    });

    it('should still skip an explicitly soft insert of an empty container an equal one is present for', () => {
      expect(applied({ grid: [[], [1]] }, { op: 'add', path: '/grid/1', value: [], soft: true })).toEqual({ grid: [[], [1]] });
    });
  });
});
