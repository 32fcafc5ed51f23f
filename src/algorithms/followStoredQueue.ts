import type { Change, JSONPatchOp } from '../types.js';
import { deepEqual } from './deepEqual.js';
import { rebaseChanges } from './rebaseChanges.js';

/** A committed rev and the pending queue on top of it: what an instance's view was built from, or what the store holds. */
export interface QueueHead {
  /** The committed revision. */
  rev: number;
  /** The pending changes on top of it, in queue order. */
  pending: readonly Change[];
}

/**
 * Rebases one instance's unsaved changes onto a pending queue another instance has written.
 *
 * Several instances (tabs) share one store. Instance B's unsaved edits were written on its view
 * — committed state at `known.rev` plus the queue `known.pending` — while instance A has since
 * applied server changes (the store's committed history `committedSince`) and appended changes
 * of its own. Both kinds of writes only ever keep the queue's order: server changes rebase the
 * queue in place (own echoes and emptied changes leave it), and new changes are appended at the
 * tail. So B's edits are rebased in two steps, like a change from a third client:
 * 1. `known.pending` + B's edits over the committed changes B had not seen (the OT diamond, as
 *    `rebaseChanges` does for any client); what is left of `known.pending` must then be the head
 *    of the stored queue;
 * 2. B's edits over the stored changes behind that head (appended by others while B was not
 *    looking), which come first in the queue.
 * Pure: no I/O, no clock.
 *
 * @param known What the view was built from.
 * @param committedSince The store's committed history after `known.rev` (up to `stored.rev`).
 * @param stored What the store holds now.
 * @param optimistic The unsaved changes, in order, on top of `known`.
 * @return The optimistic changes in the same order with their ops rebased (`[]` when transformed
 *   away), or `undefined` when the histories do not line up (history compacted, queue rewritten
 *   by a split): the caller then rebases them another way (`OTAlgorithm.refresh`: over the
 *   difference of the two states), never keeps them as they are.
 * @example
 * const known = { rev: 3, pending: [] };
 * const stored = { rev: 3, pending: [insertAt0] };         // another tab inserted at /list/0
 * followStoredQueue(known, [], stored, [replaceAt0])?.[0].ops; // [{ op: 'replace', path: '/list/1', … }]
 */
export function followStoredQueue(known: QueueHead, committedSince: readonly Change[], stored: QueueHead, optimistic: readonly Change[]): Change[] | undefined {
  if (stored.rev < known.rev) return undefined;
  const committed = [...committedSince].filter(c => c.rev > known.rev).sort((a, b) => a.rev - b.rev);
  if (committed.length !== stored.rev - known.rev || committed.some((c, i) => c.rev !== known.rev + 1 + i)) return undefined;

  const knownIds = new Set(known.pending.map(c => c.id));
  const rebased = rebaseChanges(committed, [...known.pending, ...optimistic]);
  const stillKnown = rebased.filter(c => knownIds.has(c.id));
  if (stillKnown.some((c, i) => stored.pending[i]?.id !== c.id)) return undefined;
  // A split keeps the change's id on its first piece (found in review: the second piece was then
  // taken for an appended change, and the edits rebased over ops they had seen as part of it).
  // Only the last known change can be cut with every known id still in place (a cut of an earlier
  // one puts a fresh id before the next), so its content is compared too.
  if (stillKnown.length > 0 && !sameContent([stillKnown[stillKnown.length - 1].ops], [stored.pending[stillKnown.length - 1].ops])) return undefined;

  const appended = stored.pending.slice(stillKnown.length);
  const mine = rebaseChanges(appended, rebased.filter(c => !knownIds.has(c.id)));
  const opsById = new Map(mine.map(c => [c.id, c.ops]));
  return optimistic.map(c => ({ ...c, ops: opsById.get(c.id) ?? [] }));
}

/**
 * Whether the last of `known` (matched by id to `stored` at the same index) holds the ops stored
 * there: a queue whose ids all match `known` can differ from it only by a cut of its last change.
 *
 * @example
 * sameContent([c.ops], [firstPieceOfC.ops, secondPieceOfC.ops]); // false: c was cut
 */
export function sameContent(known: readonly (readonly JSONPatchOp[])[], stored: readonly (readonly JSONPatchOp[])[]): boolean {
  const last = known.length - 1;
  return last < 0 || known[last] === stored[last] || deepEqual(known[last], stored[last]);
}
