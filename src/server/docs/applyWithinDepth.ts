import { applyPatch } from '../../algorithms/applyPatch.js';
import { parsePointer } from '../../algorithms/jsonPointer.js';
import { valueAt } from '../../algorithms/ops/PatchDraft.js';
import type { Change } from '../../types.js';
import { changeError, exceedsDepth, MAX_DEPTH } from '../validate.js';

/**
 * Applies a change's ops to the head as the OT commit does (`applyPatch`, strict), refusing a
 * `copy` or `move` that would nest the document deeper than `MAX_DEPTH`.
 *
 * Validation bounds what a change carries (a value under its path), but a copy or move places a
 * subtree already in the document, whose depth only the document knows: copying `/a` onto its
 * own deepest leaf doubled the depth at each commit, until every snapshot overflowed the stack
 * on the server and in an IndexedDB client. So the ops run in stretches that end before each
 * copy or move, whose `from` subtree is then measured where it stands; a change without either
 * is applied in one go, as before, at no extra cost.
 *
 * @param state the head state
 * @param change the (transformed) change about to be committed
 * @return the state after the change
 * @throws PatchError as `applyPatch` does, for an op that does not apply (its index counted within its stretch)
 * @throws StatusError 400 `INVALID_CHANGE` `{ changeId, scope: 'change' }` for a copy or move past the limit
 */
export function applyWithinDepth(state: unknown, change: Change): unknown {
  const { ops } = change;
  let start = 0;
  for (let index = 0; index < ops.length; index++) {
    const op = ops[index];
    if (op.op !== 'copy' && op.op !== 'move') continue;
    state = applyPatch(state, ops.slice(start, index), { mode: 'strict' });
    start = index;
    // A from that is not there fails in applyPatch below; the path's own depth is bounded by validation.
    const moved = op.from === undefined ? undefined : valueAt(state, op.from);
    if (moved !== undefined && exceedsDepth(moved, MAX_DEPTH - parsePointer(op.path).length)) {
      throw changeError(change.id, `op ${index} (${op.op}) would nest the document deeper than ${MAX_DEPTH} levels`);
    }
  }
  return applyPatch(state, start === 0 ? ops : ops.slice(start), { mode: 'strict' });
}
