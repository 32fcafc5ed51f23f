import fc from 'fast-check';
import { appendsAtEnd } from '../../../src/algorithms/recording/appendsAtEnd.js';
import { applyPatch } from '../../../src/algorithms/applyPatch.js';
import type { JSONPatchOp } from '../../../src/types.js';

const add = (path: string, value: unknown): JSONPatchOp => ({ op: 'add', path, value });

describe('appendsAtEnd', () => {
  it('should turn appends at the current length into "-", counting earlier adds and removes', () => {
    const base = { list: ['a', 'b'], other: [] };
    const ops = [{ op: 'remove', path: '/list/0' }, add('/list/1', 'c'), add('/list/2', 'd'), add('/other/0', 'x')];
    const out = appendsAtEnd(ops, base);
    expect(out).toEqual([{ op: 'remove', path: '/list/0' }, add('/list/-', 'c'), add('/list/-', 'd'), add('/other/-', 'x')]);
    expect(applyPatch(base, out, { mode: 'strict' })).toEqual(applyPatch(base, ops, { mode: 'strict' }));
  });

  it('should keep every append of an array at its index when a later op addresses an element of it by index', () => {
    const base = { list: [{ v: 1 }] };
    for (const later of [
      { op: 'replace', path: '/list/1/v', value: 2 },
      { op: 'remove', path: '/list/0' },
      { op: 'copy', from: '/list/0', path: '/copy' },
    ]) {
      const ops = [add('/list/1', { v: 0 }), add('/list/2', { v: 0 }), later];
      expect(appendsAtEnd(ops, base)).toBe(ops);
    }
  });

  it('should leave inserts before the end, and arrays whose length it cannot know, alone', () => {
    const ops = [add('/list/0', 'x'), { op: 'replace', path: '/other', value: [] }, add('/other/0', 'y'), add('/missing/0', 'z')];
    expect(appendsAtEnd(ops, { list: ['a'], other: ['b', 'c'] })).toBe(ops);
  });

  it('should not count edits inside elements as changes of the length, nor be fooled by a sibling key', () => {
    const base = { list: [{ v: 1 }], listing: [] };
    const ops = [{ op: 'replace', path: '/list/0/v', value: 2 }, add('/list/1', { v: 3 }), add('/listing/0', 1)];
    expect(appendsAtEnd(ops, base)).toEqual([ops[0], add('/list/-', { v: 3 }), add('/listing/-', 1)]);
  });
  it('should count an array inside an element as another one once the elements before it moved', () => {
    const base = { lanes: [[], ['c']], columns: [['a', 'b'], ['d']] };
    const shifted = [{ op: 'remove', path: '/lanes/0' }, add('/lanes/0/0', 'x')];
    expect(appendsAtEnd(shifted, base)).toBe(shifted);
    const unshifted = [add('/columns/0', ['new']), add('/columns/1/1', 'y')];
    expect(appendsAtEnd(unshifted, base)).toBe(unshifted);
    const moved = [{ op: 'move', from: '/columns/1', path: '/lanes/0' }, add('/lanes/0/1', 'z'), add('/columns/1', 'e')];
    expect(applyPatch(base, appendsAtEnd(moved, base), { mode: 'strict' })).toEqual(applyPatch(base, moved, { mode: 'strict' }));
  });

  // What it promises: the same result as the ops it was given, on the state they apply to.
  it('should never change what a list of adds, removes, replaces and moves on nested arrays does', () => {
    type Nested = unknown[];
    /** Every array in `value` with its pointer. */
    const arraysIn = (value: unknown, path = ''): Array<[string, Nested]> =>
      Array.isArray(value) ? [[path, value], ...value.flatMap((item, i) => arraysIn(item, `${path}/${i}`))] : value !== null && typeof value === 'object' ? Object.entries(value).flatMap(([key, item]) => arraysIn(item, `${path}/${key}`)) : [];
    const leafOrList = fc.oneof(fc.nat(9), fc.array(fc.nat(9), { maxLength: 3 }));
    const base = fc.record({ a: fc.array(fc.oneof(fc.nat(9), fc.array(leafOrList, { maxLength: 3 })), { maxLength: 4 }), b: fc.array(fc.array(fc.nat(9), { maxLength: 3 }), { maxLength: 3 }) });
    fc.assert(
      fc.property(base, fc.array(fc.tuple(fc.nat(), fc.nat(), fc.nat(), fc.nat(3)), { maxLength: 12 }), (start, choices) => {
        // Each choice becomes an op that applies to the state the ops before it made.
        let state: unknown = start;
        const ops: JSONPatchOp[] = [];
        for (const [which, at, other, kind] of choices) {
          const arrays = arraysIn(state).filter(([path]) => path !== '');
          if (arrays.length === 0) break;
          const [path, array] = arrays[which % arrays.length];
          const index = at % (array.length + 1);
          let op: JSONPatchOp;
          if (kind === 0 || array.length === 0) op = add(`${path}/${index}`, other % 2 ? other % 10 : [other % 10]);
          else if (kind === 1) op = { op: 'remove', path: `${path}/${index % array.length}` };
          else if (kind === 2) op = { op: 'replace', path: `${path}/${index % array.length}`, value: [other % 10] };
          else {
            const [to, target] = arrays[other % arrays.length];
            if (to === path || to.startsWith(`${path}/`)) continue; // not into itself
            op = { op: 'move', from: `${path}/${index % array.length}`, path: `${to}/${other % (target.length + 1)}` };
          }
          ops.push(op);
          state = applyPatch(state, [op], { mode: 'strict' });
        }
        expect(applyPatch(start, appendsAtEnd(ops, start), { mode: 'strict' })).toEqual(state);
      }),
      { numRuns: 3000 },
    );
  });
});
