import { applyPatch } from '../../../src/algorithms/applyPatch.js';
import { diffStates } from '../../../src/algorithms/recording/diffStates.js';
import { diffValue } from '../../../src/algorithms/recording/diffValue.js';
import { rebaseChanges } from '../../../src/algorithms/rebaseChanges.js';
import type { Change, JSONPatchOp } from '../../../src/types.js';

function change(id: string, rev: number, ops: JSONPatchOp[]): Change {
  return { id, baseRev: rev - 1, rev, ops, createdAt: 0, committedAt: 0 };
}

describe('diffStates', () => {
  it('should give no ops for equal states, even as different objects', () => {
    expect(diffStates({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toEqual([]);
  });

  it('should remove what the newer state lost inside a list, element by element, where diffValue replaces the list', () => {
    const before = { list: ['base', 'kept', 'lost-1', 'lost-2', 'lost-3'] };
    const after = { list: ['base', 'kept'] };
    expect(diffValue(before, after, '')).toEqual([{ op: 'replace', path: '/list', value: ['base', 'kept'] }]);
    expect(diffStates(before, after)).toEqual([
      { op: 'remove', path: '/list/2' },
      { op: 'remove', path: '/list/2' },
      { op: 'remove', path: '/list/2' },
    ]);
  });

  it('should match array elements by value, not identity, and descend into objects both states have', () => {
    const before = { items: [{ id: 'a', n: 1 }, { id: 'gone' }, { id: 'b', n: 2 }], meta: { title: 'T', lost: true } };
    const after = JSON.parse(JSON.stringify({ items: [{ id: 'a', n: 1 }, { id: 'b', n: 2 }], meta: { title: 'T' } }));
    expect(diffStates(before, after)).toEqual([
      { op: 'remove', path: '/items/1' },
      { op: 'remove', path: '/meta/lost' },
    ]);
  });

  it('should replace where the kinds differ, and the root when one side is not a container', () => {
    expect(diffStates({ a: [1] }, { a: { x: 1 } })).toEqual([{ op: 'replace', path: '/a', value: { x: 1 } }]);
    expect(diffStates({ a: 1 }, null)).toEqual([{ op: 'replace', path: '', value: null }]);
  });

  it('should always produce ops that turn the old state into the new one', () => {
    const pairs: Array<[unknown, unknown]> = [
      [{ list: [1, 2, 3, 4] }, { list: [4, 3, 2, 1] }],
      [{ a: { b: { c: [1, { d: 2 }] } } }, { a: { b: { c: [{ d: 3 }, 1], e: 'x' } } }],
      [{ x: 1, y: [1] }, { z: 2 }],
      [{}, { list: ['new'] }],
    ];
    for (const [before, after] of pairs) expect(applyPatch(before, diffStates(before, after))).toEqual(after);
  });

  it('should let a pending insert into a surviving list survive a rebase over it (the point of the function)', () => {
    const before = { list: ['base', 'kept', 'lost-1', 'lost-2'] };
    const after = { list: ['base', 'kept'] };
    const pending = [change('p', 5, [{ op: 'add', path: '/list/4', value: 'mine' }])];
    const [rebased] = rebaseChanges([change('gap', 3, diffStates(before, after))], pending);
    expect(applyPatch(after, rebased.ops)).toEqual({ list: ['base', 'kept', 'mine'] });
  });
});
