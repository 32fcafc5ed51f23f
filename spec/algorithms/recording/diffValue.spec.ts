import fc from 'fast-check';
import { produce } from 'immer';
import { applyPatch } from '../../../src/algorithms/applyPatch.js';
import { diffArrayOps, diffValue } from '../../../src/algorithms/recording/diffValue.js';
import type { JSONPatchOp, JSONValue } from '../../../src/types.js';

const strict = <T>(doc: T, ops: readonly JSONPatchOp[]): T => applyPatch(doc, ops, { mode: 'strict' });
/** FC_SEED / FC_PATH replay a failure fast-check printed. */
const replay = process.env.FC_SEED ? { seed: Number(process.env.FC_SEED), path: process.env.FC_PATH } : {};

describe('diffValue', () => {
  it('should give no ops for identical values', () => {
    const value = { a: [1, { b: 2 }] };
    expect(diffValue(value, value, '')).toEqual([]);
    expect(diffValue(3, 3, '/n')).toEqual([]);
  });

  it('should remove, add and replace object keys, escaping them', () => {
    expect(diffValue({ gone: 1, 'a/b': 1, same: 's' }, { 'a/b': 2, same: 's', 'm~n': true }, '/o')).toEqual([
      { op: 'remove', path: '/o/gone' },
      { op: 'replace', path: '/o/a~1b', value: 2 },
      { op: 'add', path: '/o/m~0n', value: true },
    ]);
  });

  it('should read an undefined object value as no key and an undefined element as null', () => {
    expect(diffValue({ a: 1, b: undefined }, { a: undefined, c: undefined }, '')).toEqual([{ op: 'remove', path: '/a' }]);
    expect(diffValue([undefined], [null], '')).toEqual([]);
    expect(diffValue(['x'], ['x', undefined], '')).toEqual([{ op: 'add', path: '/1', value: null }]);
  });

  it('should turn an insert at the front of an array into one add at 0', () => {
    expect(diffValue({ items: ['x', 'y'] }, { items: ['a', 'x', 'y'] }, '')).toEqual([{ op: 'add', path: '/items/0', value: 'a' }]);
  });

  it('should replace an element by position when nothing suggests it was edited', () => {
    expect(diffValue(['x', 'y', 'z'], ['x', 'q', 'z'], '/l')).toEqual([{ op: 'replace', path: '/l/1', value: 'q' }]);
  });

  it('should edit inside an element that resembles the old one, at its index at that point', () => {
    const milk = { id: 'x', title: 'Milk', done: false };
    const eggs = { id: 'y', title: 'Eggs', done: false };
    const ops = diffValue([milk, eggs], [{ id: 'a', title: 'Tea', done: false }, { ...milk, done: true }, eggs], '');
    expect(ops).toEqual([
      { op: 'add', path: '/0', value: { id: 'a', title: 'Tea', done: false } },
      { op: 'replace', path: '/1/done', value: true },
    ]);
  });

  it('should diff a nested array inside a resembling element', () => {
    const shared = { deep: true };
    const ops = diffValue([{ tags: ['b', 'c'], meta: shared }], ['new', { tags: ['a', 'b', 'c'], meta: shared }], '/rows');
    expect(ops).toEqual([
      { op: 'add', path: '/rows/0', value: 'new' },
      { op: 'add', path: '/rows/1/tags/0', value: 'a' },
    ]);
  });

  it('should not guess between two candidates that resemble an old element equally', () => {
    const ops = diffValue([{ id: 'x', done: false }], [{ id: 'a', done: false }, { id: 'x', done: true }], '');
    expect(ops).toEqual([
      { op: 'replace', path: '/0', value: { id: 'a', done: false } },
      { op: 'add', path: '/1', value: { id: 'x', done: true } },
    ]);
  });

  it('should replace an object whole when one of its keys cannot be named by a pointer', () => {
    const before = JSON.parse('{"__proto__": 1, "a": 1}') as Record<string, unknown>;
    const after = JSON.parse('{"__proto__": 2, "a": 1}') as Record<string, unknown>;
    expect(diffValue(before, after, '/o')).toEqual([{ op: 'replace', path: '/o', value: after }]);
  });

  it('should replace a value of another kind', () => {
    expect(diffValue({ a: 1 }, [1], '/v')).toEqual([{ op: 'replace', path: '/v', value: [1] }]);
  });

  it('should write an array position by position when the diff is over budget', () => {
    const list = Array.from({ length: 3000 }, (_, i) => i);
    const reversed = [...list].reverse();
    const ops = diffValue(list, reversed, '');
    expect(ops.every((op) => op.op === 'replace')).toBe(true);
    expect(strict(list, ops)).toEqual(reversed);
  });

  describe('diffArrayOps', () => {
    it('should take extra element matches and their edits from the hooks', () => {
      const ops = diffArrayOps([{ n: 1 }, 'y'], ['a', { n: 2 }, 'y'], '/l', {
        sameElement: (i, j) => i === 0 && j === 1,
        editElement: (i, j, pointer) => [{ op: 'replace', path: `${pointer}/n`, value: 2, from: `${i}->${j}` }],
      });
      expect(ops).toEqual([
        { op: 'add', path: '/l/0', value: 'a' },
        { op: 'replace', path: '/l/1/n', value: 2, from: '0->1' },
      ]);
    });

    it('should return undefined when the diff is over budget', () => {
      expect(diffArrayOps([1, 2, 3], [3, 2, 1], '', {}, { maxCost: 1 })).toBeUndefined();
    });
  });

  describe('property: applying diffValue(a, b) to a gives b', () => {
    const leaf = fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constantFrom('a', 'b'), fc.constant(null));
    const { value } = fc.letrec<{ value: JSONValue }>((tie) => ({
      value: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        leaf,
        fc.array(tie('value'), { maxLength: 5 }),
        fc.dictionary(fc.constantFrom('k', 'l', 'm'), tie('value'), { maxKeys: 3 }),
      ),
    }));

    it('should hold for unrelated values (500 runs, fixed seed)', () => {
      fc.assert(
        fc.property(value, value, (a, b) => {
          expect(strict(a, diffValue(a, b, ''))).toEqual(b);
        }),
        { numRuns: 500, seed: 0xd1f, ...replay },
      );
    });

    it('should hold for a value and an immer edit of it, which shares its untouched parts (500 runs, fixed seed)', () => {
      const edit = fc.record({ at: fc.nat(), insert: fc.boolean(), value });
      fc.assert(
        fc.property(fc.array(value, { maxLength: 6 }), fc.array(edit, { maxLength: 4 }), (a, edits) => {
          const b = produce(a, (draft) => {
            for (const { at, insert, value: v } of edits) {
              const index = at % (draft.length + 1);
              if (insert) draft.splice(index, 0, v);
              else if (draft.length > 0) {
                const target = draft[index % draft.length];
                if (Array.isArray(target)) target.unshift(v);
                else draft.splice(index % draft.length, 1);
              }
            }
          });
          expect(strict(a, diffValue(a, b, ''))).toEqual(b);
        }),
        { numRuns: 500, seed: 0xd1f2, ...replay },
      );
    });
  });
});
