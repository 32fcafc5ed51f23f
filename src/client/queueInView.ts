import { createChange } from '../algorithms/createChange.js';
import type { StoredQueue } from '../stores/PatchesStore.js';
import type { PatchesDoc } from './PatchesDoc.js';

/**
 * The unsent work an open doc's view holds in memory, as a store would hold it (for `unsentWork`),
 * read without the store: for when the store is gone (`StoreLostError`) and the view is all that
 * is left of it. The edits `change()` made that are not saved yet come after the saved ones: they
 * are shown, so they are the user's as much.
 *
 * An OT view holds its pending changes' ids and ops only: each becomes a change on the view's
 * committed rev, `createdAt` 0 and no metadata (as the OT client builds the changes it rebases).
 * An LWW view holds the ops in flight and the pending ops, not the in-flight change: every op
 * counts as pending, in the order the view applies them.
 *
 * @example
 * const changes = unsentWork(queueInView(doc)); // [] when the view holds nothing unsent
 */
export function queueInView(doc: PatchesDoc<object>): StoredQueue {
  const { committedRev, local, localIds = [] } = doc._layers();
  const unsaved = doc._optimistic().filter(change => change.ops.length > 0);
  const queue: StoredQueue = { docId: doc.id, algorithm: doc.algorithm, committedRev, pending: [], pendingOps: [], sending: null };
  if (doc.algorithm === 'lww') return { ...queue, pendingOps: [...local.flat(), ...unsaved.flatMap(change => change.ops)] };
  const edits = [...local.map((ops, i) => ({ id: localIds[i] ?? '', ops })), ...unsaved];
  return { ...queue, pending: edits.map(({ id, ops }, i) => createChange(ops, { id, baseRev: committedRev, rev: committedRev + 1 + i, createdAt: 0 })) };
}
