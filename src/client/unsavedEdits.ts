import type { AlgorithmContext } from './ClientAlgorithm.js';

/** Where the open docs are: an algorithm's context, or `Patches` itself. */
type OpenDocs = Pick<AlgorithmContext, 'getOpenDoc'>;

/**
 * Whether the open doc holds edits `change()` made that are not saved yet (optimistic): pending,
 * though no store holds them. A `hasPending` checks it before reading the store (`watchEdits`
 * covers edits made during the read), and a following tab shows such a doc as pending.
 *
 * @example
 * if (hasUnsavedEdits(ctx, 'notes')) return true;
 */
export function hasUnsavedEdits(ctx: OpenDocs, docId: string): boolean {
  return (ctx.getOpenDoc(docId)?._optimistic().length ?? 0) > 0;
}

/**
 * Starts watching the open doc for edits; the returned function says whether `change()` edited
 * it since. A `hasPending` asks it after reading the store: an edit made while the store was read
 * may be in neither what the store gave nor the unsaved edits by then (a fast store can save it
 * in the meantime), and is pending all the same.
 *
 * @example
 * const editedSince = watchEdits(ctx, 'notes');
 * const stored = await store.getPendingChanges('notes');
 * return stored.length > 0 || editedSince();
 */
export function watchEdits(ctx: OpenDocs, docId: string): () => boolean {
  const doc = ctx.getOpenDoc(docId);
  const before = doc?._edits() ?? 0;
  return () => {
    const now = ctx.getOpenDoc(docId);
    // A doc closed meanwhile holds no edit; one opened again holds only the edits made on it.
    if (!now) return false;
    return now === doc ? now._edits() !== before : now._edits() > 0;
  };
}
