import { PatchesDoc, type DocLayers, type DocOwner } from '../../src/client/PatchesDoc.js';
import { queueInView } from '../../src/client/queueInView.js';
import { unsentWork } from '../../src/stores/unsentWork.js';
import type { JSONPatchOp } from '../../src/types.js';

const set = (path: string, value: unknown): JSONPatchOp => ({ op: 'replace', path, value });

/** A doc whose edits are never saved (its owner's `submit` never settles): they stay unsaved in the view. */
function view(algorithm: 'ot' | 'lww', layers: DocLayers): PatchesDoc<Record<string, unknown>> {
  let ids = 0;
  const owner: DocOwner = { newId: () => `edit${++ids}`, prepareOps: (_doc, ops) => ops, submit: () => new Promise(() => undefined) };
  return new PatchesDoc(algorithm === 'ot' ? 'notes' : 'counter', algorithm, layers, owner);
}

describe('queueInView', () => {
  it("should give an OT view's pending changes, then its unsaved edits, as changes on its committed rev", () => {
    const doc = view('ot', { committedState: { a: 0, b: 0 }, committedRev: 3, local: [[set('/a', 1)], [set('/b', 1)]], localIds: ['p1', 'p2'] });
    doc.change(draft => {
      draft.a = 2;
    });
    const queue = queueInView(doc as PatchesDoc<object>);
    expect(queue).toMatchObject({ docId: 'notes', algorithm: 'ot', committedRev: 3, pendingOps: [], sending: null });
    expect(queue.pending.map(c => [c.id, c.ops, c.baseRev, c.rev])).toEqual([
      ['p1', [set('/a', 1)], 3, 4],
      ['p2', [set('/b', 1)], 3, 5],
      ['edit1', [set('/a', 2)], 3, 6],
    ]);
    expect(unsentWork(queue)).toBe(queue.pending);
  });

  it('should give nothing for a view with nothing unsent', () => {
    expect(unsentWork(queueInView(view('ot', { committedState: { a: 1 }, committedRev: 2, local: [], localIds: [] }) as PatchesDoc<object>))).toEqual([]);
    expect(unsentWork(queueInView(view('lww', { committedState: { a: 1 }, committedRev: 2, local: [[], []] }) as PatchesDoc<object>))).toEqual([]);
  });

  it("should give an LWW view's ops in flight, pending and unsaved in the order it applies them, as one change", () => {
    const doc = view('lww', { committedState: {}, committedRev: 5, local: [[set('/a', 1)], [set('/b', 1)]] });
    doc.change(draft => {
      draft.a = 2;
    });
    expect(unsentWork(queueInView(doc as PatchesDoc<object>))).toEqual([{ id: '', ops: [set('/a', 1), set('/b', 1), set('/a', 2)], baseRev: 5, rev: 6, createdAt: 0, committedAt: 0 }]);
  });
});
