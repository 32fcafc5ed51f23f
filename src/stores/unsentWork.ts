import type { StoredQueue } from './PatchesStore.js';
import type { Change } from '../types.js';

/**
 * A doc's unsent work as changes, for an app to keep when it cannot be sent (`onRemoteDocDeleted`,
 * `StoreLostError.unsentChanges`): the OT queue as it is, or the LWW in-flight and pending ops as
 * one change (LWW keeps no change of the user's: its ops are consolidated per path).
 *
 * @example
 * const queue = await readQueue(store, 'notes');
 * keep('notes', unsentWork(queue)); // [] when nothing is unsent
 */
export function unsentWork(queue: StoredQueue | undefined): Change[] {
  if (!queue) return [];
  if (queue.algorithm === 'ot') return queue.pending;
  const ops = [...(queue.sending?.ops ?? []), ...queue.pendingOps];
  if (ops.length === 0) return [];
  const base = queue.sending ?? { id: '', baseRev: queue.committedRev, rev: queue.committedRev + 1, createdAt: 0, committedAt: 0 };
  return [{ ...base, ops }];
}
