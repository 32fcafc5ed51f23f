import { Patches } from '../../src/client/Patches.js';
import type { PatchesDoc } from '../../src/client/PatchesDoc.js';
import { hasUnsavedEdits, watchEdits } from '../../src/client/unsavedEdits.js';
import { InMemoryStore } from '../../src/stores/InMemoryStore.js';
import type { StoredQueue } from '../../src/stores/PatchesStore.js';
import type { Algorithm, Change, JSONPatchOp } from '../../src/types.js';

interface Doc {
  title?: string;
}

/** A store whose first read of a doc's pending state lets `during` run before it answers (the user typing meanwhile). */
class EditsDuringRead extends InMemoryStore {
  during: (() => void) | undefined;
  private answer<R>(value: Promise<R>): Promise<R> {
    const during = this.during;
    this.during = undefined;
    return value.then(result => (during?.(), result));
  }
  override getPendingChanges(docId: string): Promise<Change[]> {
    return this.answer(super.getPendingChanges(docId));
  }
  override getSendingChange(docId: string): Promise<Change | null> {
    return this.answer(super.getSendingChange(docId));
  }
  override getPendingOps(docId: string): Promise<JSONPatchOp[]> {
    return this.answer(super.getPendingOps(docId));
  }
  override getQueue(docId: string): Promise<StoredQueue | undefined> {
    return this.answer(super.getQueue(docId));
  }
}

async function openDoc(algorithm: Algorithm): Promise<{ patches: Patches; store: EditsDuringRead; doc: PatchesDoc<Doc> }> {
  const store = new EditsDuringRead();
  const patches = new Patches({ store });
  const doc = await patches.openDoc<Doc>('d', { algorithm });
  return { patches, store, doc };
}

describe('hasUnsavedEdits', () => {
  it('should be true from change() until the edit is saved', async () => {
    const { patches, doc } = await openDoc('ot');
    const ctx = { getOpenDoc: (id: string) => patches.getOpenDoc(id) } as Parameters<typeof hasUnsavedEdits>[0];
    expect(hasUnsavedEdits(ctx, 'd')).toBe(false);
    doc.change(draft => void (draft.title = 'a'));
    expect(hasUnsavedEdits(ctx, 'd')).toBe(true);
    await doc.flush();
    expect(hasUnsavedEdits(ctx, 'd')).toBe(false);
    expect(hasUnsavedEdits(ctx, 'not-open')).toBe(false);
  });

  for (const algorithm of ['ot', 'lww'] as const) {
    it(`should make ${algorithm} hasPending say true for an edit made while it read the store`, async () => {
      const { patches, store, doc } = await openDoc(algorithm);
      store.during = () => doc.change(draft => void (draft.title = 'typed during the read'));
      // The store held nothing when read, but the doc holds an unsaved edit by the time it answers.
      expect(await patches.algorithms[algorithm].hasPending('d')).toBe(true);
      await doc.flush();
      expect(await patches.algorithms[algorithm].hasPending('d')).toBe(true);
    });
  }

  it('should tell, through watchEdits, whether change() edited the doc since, saved or not', async () => {
    const { patches, doc } = await openDoc('lww');
    const ctx = { getOpenDoc: (id: string) => patches.getOpenDoc(id) } as Parameters<typeof watchEdits>[0];
    const editedSince = watchEdits(ctx, 'd');
    expect(editedSince()).toBe(false);
    doc.change(draft => void (draft.title = 'a'));
    await doc.flush();
    // Saved already, so no longer unsaved: still an edit made since the watch began.
    expect(hasUnsavedEdits(ctx, 'd')).toBe(false);
    expect(editedSince()).toBe(true);
    expect(watchEdits(ctx, 'd')()).toBe(false);
  });

  it('should say no edit for a doc closed since, and count only the edits of a doc opened again', async () => {
    const { patches } = await openDoc('ot');
    const ctx = { getOpenDoc: (id: string) => patches.getOpenDoc(id) } as Parameters<typeof watchEdits>[0];
    const editedSince = watchEdits(ctx, 'd');
    await patches.closeDoc('d');
    expect(editedSince()).toBe(false);
    const reopened = await patches.openDoc<Doc>('d');
    expect(editedSince()).toBe(false);
    reopened.change(draft => void (draft.title = 'b'));
    expect(editedSince()).toBe(true);
    await reopened.flush();
  });
});
