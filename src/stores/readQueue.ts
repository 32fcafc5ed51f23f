import type { PatchesStore, StoredQueue } from './PatchesStore.js';

/**
 * A doc's committed rev and everything pending, in one read: the store's `getQueue`, or `getDoc`
 * for a store without it (one read still, only with the state copied too).
 *
 * @example
 * const queue = await readQueue(store, 'notes');
 * if (queue && queue.pending.length > 0) send(queue.pending);
 */
export async function readQueue(store: PatchesStore, docId: string): Promise<StoredQueue | undefined> {
  if (store.getQueue) return store.getQueue(docId);
  const doc = await store.getDoc(docId);
  if (!doc) return undefined;
  const { state: _state, ...queue } = doc;
  return queue;
}
