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
});
