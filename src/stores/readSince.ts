import type { PatchesStore, StoredDocSince } from './PatchesStore.js';

/**
 * What changed in a doc since `rev`: the store's `getDocSince` (which leaves the state out when
 * the changes since `rev` lead to the committed rev), or, for a store without it or with
 * `whole`, `getDoc` and `listChanges` (the state always given).
 *
 * @example
 * const news = await readSince(store, 'notes', view.committedRev);
 * const state = news?.state ?? applyPatch(view.committedState, news.since.flatMap(c => c.ops));
 */
export async function readSince<T = unknown>(store: PatchesStore, docId: string, rev: number, whole = false): Promise<StoredDocSince<T> | undefined> {
  if (store.getDocSince && !whole) return store.getDocSince<T>(docId, rev);
  const doc = await store.getDoc<T>(docId);
  if (!doc) return undefined;
  return { ...doc, since: doc.committedRev > rev ? await store.listChanges(docId, rev) : [] };
}
