import { followStoredQueue } from '../../src/algorithms/followStoredQueue.js';
import type { Change, JSONPatchOp } from '../../src/types.js';

function change(id: string, rev: number, ops: JSONPatchOp[]): Change {
  return { id, ops, baseRev: rev - 1, rev, createdAt: 0, committedAt: 0 };
}
const insert = (i: number, value: string): JSONPatchOp => ({ op: 'add', path: `/list/${i}`, value });
const replace = (i: number, value: string): JSONPatchOp => ({ op: 'replace', path: `/list/${i}`, value });

describe('followStoredQueue', () => {
  it('should rebase an unsaved edit over a change another instance appended to the queue', () => {
    const known = { rev: 3, pending: [] };
    const stored = { rev: 3, pending: [change('b1', 4, [insert(0, 'b')])] };
    const out = followStoredQueue(known, [], stored, [change('a1', 4, [replace(0, 'x')])]);
    expect(out?.map(c => [c.id, c.ops])).toEqual([['a1', [replace(1, 'x')]]]);
  });

  it('should rebase over committed changes it had not seen, then over the appended tail', () => {
    const p1 = change('p1', 4, [insert(0, 'p')]);
    const known = { rev: 3, pending: [p1] };
    const committed = [change('s1', 4, [insert(0, 's')])];
    // The store rebased p1 over s1 (a queued insert stays in front of a committed one at the same
    // index, the reference's tie-break: the ops are as they were; the content must be what the
    // rebase gives, as a cut is told by it), and another instance appended b1 behind it.
    const stored = { rev: 4, pending: [{ ...p1, ops: [insert(0, 'p')], baseRev: 4, rev: 5 }, change('b1', 6, [insert(0, 'b')])] };
    const out = followStoredQueue(known, committed, stored, [change('a1', 5, [replace(1, 'x')])]);
    // a1 named the element at 1 on [p, old0]; after s1 and b1 were both inserted in front of it, that element is at 3.
    expect(out?.[0].ops).toEqual([replace(3, 'x')]);
  });

  it('should drop nothing when its own pending change came back committed', () => {
    const p1 = change('p1', 4, [insert(0, 'p')]);
    const out = followStoredQueue({ rev: 3, pending: [p1] }, [{ ...p1, rev: 4 }], { rev: 4, pending: [] }, [change('a1', 5, [replace(0, 'x')])]);
    expect(out?.[0].ops).toEqual([replace(0, 'x')]);
  });

  it('should rebase an unsaved edit written on a change the server transformed to nothing as carried past that change (another tab applied the reply)', () => {
    // This tab saw its removal of item 1 queued and wrote into item 2, now at 1; the server
    // committed another client's removal of item 1 and dropped ours: the leading tab's store holds
    // the other removal and no queue.
    const removal = change('p1', 4, [{ op: 'remove', path: '/list/1' }]);
    const known = { rev: 3, pending: [removal] };
    const committed = [change('other', 4, [{ op: 'remove', path: '/list/1' }])];
    const out = followStoredQueue(known, committed, { rev: 4, pending: [] }, [change('a1', 5, [replace(1, 'x')])]);
    expect(out?.map(c => [c.id, c.ops])).toEqual([['a1', [replace(1, 'x')]]]);
  });

  it('should say the histories do not line up when committed history is missing (compacted)', () => {
    expect(followStoredQueue({ rev: 3, pending: [] }, [change('s5', 5, [insert(0, 's')])], { rev: 5, pending: [] }, [change('a1', 4, [replace(0, 'x')])])).toBeUndefined();
  });

  it('should say the histories do not line up when the queue it knew was rewritten (split)', () => {
    const p1 = change('p1', 4, [insert(0, 'p')]);
    const stored = { rev: 3, pending: [change('p1a', 4, [insert(0, 'p')])] };
    expect(followStoredQueue({ rev: 3, pending: [p1] }, [], stored, [change('a1', 5, [replace(0, 'x')])])).toBeUndefined();
  });

  // Found in review: a cut keeps the change's id on its first piece, so the second was taken for
  // an appended change and the edit rebased over ops it had seen as part of the change.
  it('should say the histories do not line up when the last change it knew was cut, its first piece keeping the id', () => {
    const c = change('c', 4, [insert(0, 'A'), insert(1, 'B')]);
    const stored = { rev: 3, pending: [{ ...c, ops: [insert(0, 'A')] }, change('piece', 5, [insert(1, 'B')])] };
    expect(followStoredQueue({ rev: 3, pending: [c] }, [], stored, [change('a1', 5, [replace(5, 'x')])])).toBeUndefined();
  });

  it('should still rebase over a change appended behind the ones it knew, unchanged', () => {
    const c = change('c', 4, [insert(0, 'A'), insert(1, 'B')]);
    const stored = { rev: 3, pending: [{ ...c, ops: [insert(0, 'A'), insert(1, 'B')] }, change('b1', 5, [insert(0, 'b')])] };
    expect(followStoredQueue({ rev: 3, pending: [c] }, [], stored, [change('a1', 5, [replace(5, 'x')])])?.[0].ops).toEqual([replace(6, 'x')]);
  });

  it('should keep an edit that was transformed away, with no ops', () => {
    const known = { rev: 3, pending: [] };
    const stored = { rev: 3, pending: [change('b1', 4, [{ op: 'remove', path: '/list/0' }])] };
    // Both instances removed the same element: the second remove has nothing left to do.
    const out = followStoredQueue(known, [], stored, [change('a1', 4, [{ op: 'remove', path: '/list/0' }])]);
    expect(out?.map(c => [c.id, c.ops])).toEqual([['a1', []]]);
  });
});
