import { applyPatch } from '../../algorithms/applyPatch.js';
import { parsePointer } from '../../algorithms/jsonPointer.js';
import { valueAt } from '../../algorithms/ops/PatchDraft.js';
import { StatusError } from '../../errors.js';
import type { Change } from '../../types.js';
import { jsonBytesUpTo } from '../../algorithms/batching/sizeOf.js';
import { changeError, exceedsDepth, MAX_DEPTH } from '../validate.js';

/**
 * Applies a change's ops to the head as the OT commit does (`applyPatch`, strict), refusing a
 * `copy` or `move` that would nest the document deeper than `MAX_DEPTH`, and copies that together
 * would add more than `maxCopyBytes` to it.
 *
 * Validation bounds what a change carries (a value under its path), but a copy or move places a
 * subtree already in the document, whose size and depth only the document knows: copying `/a`
 * onto its own deepest leaf doubled the depth at each commit, until every snapshot overflowed the
 * stack on the server and in an IndexedDB client; copying `/a` beside itself doubles the
 * document's size at each commit (the copy shares its structure in memory, but every snapshot,
 * `getDoc` and client store writes it out whole), 40 small commits past what any string can hold.
 * So the bytes a change's copies add count against the same budget as the bytes it carries. The
 * ops run in stretches that end before each copy or move, whose `from` subtree is then measured
 * where it stands; a change without either is applied in one go, as before, at no extra cost.
 *
 * @param state the head state
 * @param change the (transformed) change about to be committed
 * @param maxCopyBytes how many bytes (about, as JSON) the change's copies may add together
 * @return the state after the change
 * @throws PatchError as `applyPatch` does, for an op that does not apply (its index counted within its stretch)
 * @throws StatusError 400 `INVALID_CHANGE` `{ changeId, scope: 'change' }` for a copy or move past the depth limit
 * @throws StatusError 413 `{ changeId, scope: 'change' }` for copies past `maxCopyBytes`
 */
export function applyWithinLimits(state: unknown, change: Change, maxCopyBytes: number): unknown {
  const { ops } = change;
  let start = 0;
  let copyBudget = maxCopyBytes;
  for (let index = 0; index < ops.length; index++) {
    const op = ops[index];
    if (op.op !== 'copy' && op.op !== 'move') continue;
    state = applyPatch(state, ops.slice(start, index), { mode: 'strict' });
    start = index;
    // A from that is not there fails in applyPatch below; the path's own depth is bounded by validation.
    const moved = op.from === undefined ? undefined : valueAt(state, op.from);
    if (moved === undefined) continue;
    // Bytes first: the walk stops at the budget, where a depth walk of a doubled subtree would visit every copy.
    if (op.op === 'copy') {
      copyBudget -= jsonBytesUpTo(moved, copyBudget);
      if (copyBudget < 0) {
        throw new StatusError(413, `Change ${change.id}: op ${index} (copy) takes what its copies add to the document past ${maxCopyBytes} bytes, the most one change may add`, { changeId: change.id, scope: 'change' });
      }
    }
    if (exceedsDepth(moved, MAX_DEPTH - parsePointer(op.path).length)) {
      throw changeError(change.id, `op ${index} (${op.op}) would nest the document deeper than ${MAX_DEPTH} levels`);
    }
  }
  return applyPatch(state, start === 0 ? ops : ops.slice(start), { mode: 'strict' });
}
