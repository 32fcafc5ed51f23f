import type { Change } from '../types.js';
import { walkQueueSteps, type WalkMeter } from './rebaseChanges.js';
import { runToEnd, type Steps } from '../util/steps.js';

/**
 * The server half of the OT diamond (protocol §4.4, §1.5.5 steps 7–11): transforms an incoming
 * batch, written on `baseRev`, over the changes committed since.
 *
 * `committedSince` is every committed change with `rev > baseRev`, in rev order. One that
 * `isOwn` claims (same origin, and its id is in this request or its batchId matches) is the
 * sender's own change already committed: the queue entry with its id is taken out untransformed,
 * and an own change with no entry here (an earlier batch of the same upload) is skipped, since
 * the batch was written on top of it; an entry queued before a taken one is one that commit
 * dropped, and is dropped again (a resend whose reply was lost). Every other committed change is
 * walked through the queue exactly as the client's `rebaseChanges` does — the same code — so
 * what the server commits equals what the sender already shows.
 *
 * Changes left with no ops are dropped. Revs are not assigned (the server does that), and other
 * fields are kept; an unchanged change is returned as the same object.
 *
 * @example
 * const committed = [{ id: 'a', rev: 8, baseRev: 7, ops: [{ op: 'remove', path: '/items/0' }], createdAt: 1, committedAt: 2 }];
 * const incoming = [{ id: 'b', rev: 8, baseRev: 7, ops: [{ op: 'replace', path: '/items/2', value: 'x' }], createdAt: 1, committedAt: 0 }];
 * transformIncomingChanges(committed, incoming, () => false);
 * // [{ id: 'b', ops: [{ op: 'replace', path: '/items/1', value: 'x' }], ... }]
 */
export function transformIncomingChanges(
  committedSince: readonly Change[],
  incoming: readonly Change[],
  isOwn: (committed: Change) => boolean,
): Change[] {
  return runToEnd(transformIncomingChangesSteps(committedSince, incoming, isOwn));
}

/**
 * {@link transformIncomingChanges} as steps (the same walk, yielding between committed changes
 * and within long transforms), for a server that serves other requests meanwhile. `meter` counts
 * the op pairs the walk has paid for, each before its step (the server bounds a commit by it).
 */
export function* transformIncomingChangesSteps(
  committedSince: readonly Change[],
  incoming: readonly Change[],
  isOwn: (committed: Change) => boolean,
  meter?: WalkMeter,
): Steps<Change[]> {
  const entries = yield* walkQueueSteps(committedSince, incoming, isOwn, undefined, meter);
  const out: Change[] = [];
  for (const { change, ops } of entries) {
    if (ops.length === 0) continue;
    out.push(ops === change.ops ? change : { ...change, ops });
  }
  return out;
}
