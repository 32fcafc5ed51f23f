import { jsonBytesUpTo } from '../../algorithms/batching/sizeOf.js';
import type { Change, PatchesSnapshot, PatchesState } from '../../types.js';

/** The `getChangesSince` option (third param) by which a client takes a snapshot instead of a longer history. */
export const CATCH_UP_SNAPSHOT_OPTION = 'orSnapshot';

/** Fewer changes than this are always answered as changes, without measuring anything. */
export const CATCH_UP_MEASURE_FROM = 64;

/**
 * What a `getChangesSince` that allows a snapshot answers (`{ orSnapshot: true }`, OT only): the
 * changes since the client's rev, or, when the document's state at their last rev is smaller
 * (JSON bytes), that state as a `getDoc` envelope with no tail. A client far behind a busy
 * document then downloads and applies the document once instead of its whole history since (a
 * reply that must also fit in one string).
 *
 * Pure. A short catch-up (fewer than {@link CATCH_UP_MEASURE_FROM} changes) costs nothing extra;
 * a longer one is measured once, and the state only up to the changes' bytes.
 *
 * @example
 * smallerCatchUp(changes, { state: doc.headState, rev: doc.headRev });
 * // the changes, or { state, rev, changes: [] } when the state is the smaller
 *
 * @param changes every committed change after the client's rev, in rev order
 * @param head the document's state at the last of them
 * @param measureFrom fewer changes than this are answered unmeasured
 * @return the reply
 */
export function smallerCatchUp(changes: Change[], head: PatchesState<unknown>, measureFrom = CATCH_UP_MEASURE_FROM): Change[] | PatchesSnapshot {
  if (changes.length === 0 || changes.length < measureFrom || changes[changes.length - 1].rev !== head.rev) return changes;
  const changeBytes = jsonBytesUpTo(changes, Number.MAX_SAFE_INTEGER);
  return jsonBytesUpTo(head.state, changeBytes) < changeBytes ? { state: head.state, rev: head.rev, changes: [] } : changes;
}
