import { EditSaves, type EditSavesOptions } from '../../src/client/EditSaves.js';
import { PatchesDoc, type OptimisticChange } from '../../src/client/PatchesDoc.js';
import { StoreError } from '../../src/errors.js';
import type { Change } from '../../src/types.js';
import { KeyedQueue } from '../../src/util/KeyedQueue.js';

type Note = { n?: number; m?: number };

/** A doc whose edits `EditSaves` saves through `mint`, and what it told. */
function setup(mint: EditSavesOptions['mint']) {
  const told: unknown[][] = [];
  const saves = new EditSaves({
    queue: new KeyedQueue(),
    prepareOps: (_doc, ops) => ops,
    mint,
    saved: (docId, changes) => told.push(['saved', docId, changes.map(c => c.id)]),
    savedNothing: docId => told.push(['savedNothing', docId]),
    failed: (error, docId, rolledBack) => told.push(['failed', error, docId, rolledBack]),
  });
  const doc = new PatchesDoc<Note>('doc', 'ot', { committedState: {}, committedRev: 0, local: [] }, saves);
  return { saves, doc, told };
}

const asChange = (change: OptimisticChange): Change => ({ id: change.id, ops: change.ops, rev: 1, baseRev: 0, createdAt: 0, committedAt: 0 });

describe('EditSaves', () => {
  it('should save each edit through mint and tell the changes saved, or that an edit was saved as nothing', async () => {
    let minted = 0;
    const { doc, told } = setup(async (_doc, change) => (minted++ === 0 ? [asChange(change)] : []));
    doc.change(draft => void (draft.n = 1));
    doc.change(draft => void (draft.n = 2));
    await doc.flush();
    expect(told.map(t => t[0])).toEqual(['saved', 'savedNothing']);
    expect(told[0][1]).toBe('doc');
  });

  it('should roll a failed edit back with every later edit made on a view that showed it, save none of them, and report them once as a StoreError', async () => {
    const mint = jest.fn(async (_doc: PatchesDoc<object>, change: OptimisticChange): Promise<Change[]> => {
      if (mint.mock.calls.length === 1) throw new Error('disk full');
      return [asChange(change)];
    });
    const { doc, told } = setup(mint);
    doc.change(draft => void (draft.n = 1)); // fails
    doc.change(draft => void (draft.m = 2)); // made on a view that showed it
    doc.change(draft => void (draft.m = 3));
    await doc.flush();
    expect(mint).toHaveBeenCalledTimes(1);
    expect(doc.state).toEqual({});
    // The later edits' saves save nothing (told so: whoever counted them as pending reads the doc again).
    expect(told.map(t => t[0])).toEqual(['failed', 'savedNothing', 'savedNothing']);
    const [kind, error, docId, rolledBack] = told[0] as [string, Error, string, string[]];
    expect([kind, docId, rolledBack.length]).toEqual(['failed', 'doc', 3]);
    expect(error).toBeInstanceOf(StoreError);
    expect(error.message).toBe('Could not save a change to "doc" (and 2 later edits made on it, rolled back with it)');
    expect((error as Error & { cause?: Error }).cause?.message).toBe('disk full');
  });

  it('should name no later edit when the failed one was the last, and one as one', async () => {
    const { doc, told } = setup(async () => {
      throw new Error('disk full');
    });
    doc.change(draft => void (draft.n = 1));
    await doc.flush();
    expect((told[0][1] as Error).message).toBe('Could not save a change to "doc"');
    doc.change(draft => void (draft.n = 1));
    doc.change(draft => void (draft.n = 2));
    await doc.flush();
    expect((told[1][1] as Error).message).toBe('Could not save a change to "doc" (and 1 later edit made on it, rolled back with it)');
  });

  it("should report the app's sizeCalculator failure as it is, and any other error of the same kind as a StoreError", async () => {
    const calculate = (data: unknown) => {
      if ((data as { fail?: boolean }).fail) throw new RangeError('cannot measure');
      return 1;
    };
    let sizeCalculator: (data: unknown) => number = calculate;
    const { saves, doc, told } = setup(async () => {
      sizeCalculator({ fail: true });
      return [];
    });
    sizeCalculator = saves.noted(calculate);
    expect(sizeCalculator({})).toBe(1);
    doc.change(draft => void (draft.n = 1));
    await doc.flush();
    expect(told[0][1]).toBeInstanceOf(RangeError);
    expect((told[0][1] as Error).message).toBe('cannot measure');
    // The same error, thrown by anything but the noted calculator, is the store's.
    sizeCalculator = calculate;
    doc.change(draft => void (draft.n = 2));
    await doc.flush();
    expect(told[1][1]).toBeInstanceOf(StoreError);
  });
});
