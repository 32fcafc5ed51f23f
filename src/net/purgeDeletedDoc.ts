import { StoreConflictError } from '../errors.js';
import type { PatchesStore, StoreGuard, StoredQueue } from '../stores/PatchesStore.js';
import { readQueue } from '../stores/readQueue.js';
import type { Change } from '../types.js';
import { unsentWork } from '../stores/unsentWork.js';

/** Reads again after this many refused removals before giving up (each needs another instance's write in between). */
const ATTEMPTS = 5;

/**
 * Removes a doc the server deleted and resolves with the unsent work dropped with it, for
 * `onRemoteDocDeleted`. The removal is guarded by the work it read, so an edit another instance
 * (a tab on the same database) stores in between is read again and handed out too, never dropped
 * unseen.
 *
 * @example
 * const dropped = await purgeDeletedDoc(patches.store, 'notes');
 */
export async function purgeDeletedDoc(store: PatchesStore, docId: string): Promise<Change[]> {
  for (let attempt = 1; ; attempt++) {
    const queue = await readQueue(store, docId);
    try {
      await store.confirmDeleteDoc(docId, guardOf(queue));
      return unsentWork(queue);
    } catch (error) {
      if (!(error instanceof StoreConflictError) || attempt >= ATTEMPTS) throw error;
    }
  }
}

/** What the removal expects the doc to hold: the work read, or a tombstone (`undefined` from a read). */
function guardOf(queue: StoredQueue | undefined): StoreGuard {
  if (!queue) return { deleted: true };
  if (queue.algorithm === 'ot') return { deleted: false, pendingIds: queue.pending.map(change => change.id) };
  return { deleted: false, pendingOps: queue.pendingOps, sendingId: queue.sending?.id ?? null };
}
