import { applyOpAt } from '../../algorithms/applyPatch.js';
import { parsePointer } from '../../algorithms/jsonPointer.js';
import { arrayIndex, hasOwn, isContainer, PatchDraft } from '../../algorithms/ops/PatchDraft.js';
import { StatusError } from '../../errors.js';
import type { Change } from '../../types.js';
import { jsonBytesUpTo } from '../../algorithms/batching/sizeOf.js';
import { runToEnd, type Steps } from '../../util/steps.js';
import { changeError, MAX_DEPTH } from '../validate.js';

/**
 * Heights of containers that no draft writes to any more (as `heightUpTo` measures them), kept for
 * one commit: a subtree moved back and forth, or copied again, is walked once, not at every op.
 */
export type KnownHeights = WeakMap<object, number>;

/**
 * Applies a change's ops to the head as the OT commit does (strict `applyPatch`), refusing a
 * `copy` or `move` that would nest the document deeper than `MAX_DEPTH`, and copies that together
 * would add more than `maxCopyBytes` to it.
 *
 * Validation bounds what a change carries (a value under its path), but a copy or move places a
 * subtree already in the document, whose size and depth only the document knows: copying `/a`
 * onto its own deepest leaf doubled the depth at each commit, until every snapshot overflowed the
 * stack on the server and in an IndexedDB client; copying `/a` beside itself doubles the
 * document's size at each commit (the copy shares its structure in memory, but every snapshot,
 * `getDoc` and client store writes it out whole), 40 small commits past what any string can hold.
 * So the bytes a change's copies add count against the same budget as the bytes it carries. Each
 * copy's and move's `from` subtree is measured where it stands in the one draft the ops run on,
 * before the op; a subtree measured before in this commit (and not written since) is not walked
 * again. (It used to run a fresh `applyPatch` for each stretch between copies and moves, which
 * copied the containers on the paths again each time: a change of moves in a wide object cost the
 * object's width per move, ~50 s of the server's event loop for 1 MB of such moves.)
 *
 * @param state the head state
 * @param change the (transformed) change about to be committed
 * @param maxCopyBytes how many bytes (about, as JSON) the change's copies may add together
 * @param heights heights measured before in this commit (by default, none)
 * @return the state after the change
 * @throws PatchError as `applyPatch` does, for an op that does not apply (its index in the change)
 * @throws StatusError 400 `INVALID_CHANGE` `{ changeId, scope: 'change' }` for a copy or move past the depth limit
 * @throws StatusError 413 `{ changeId, scope: 'change' }` for copies past `maxCopyBytes`
 */
export function applyWithinLimits(state: unknown, change: Change, maxCopyBytes: number, heights: KnownHeights = new WeakMap()): unknown {
  return runToEnd(applyWithinLimitsSteps(state, change, maxCopyBytes, heights));
}

/**
 * {@link applyWithinLimits} as steps: it yields after each op, so the server can serve other
 * requests during a long change. Nothing outside it is written before it returns.
 */
export function* applyWithinLimitsSteps(state: unknown, change: Change, maxCopyBytes: number, heights: KnownHeights = new WeakMap()): Steps<unknown> {
  const { ops } = change;
  const draft = new PatchDraft(state);
  draft.discardedOnFailure = true;
  // Heights of the draft's own containers, dropped for those on the paths an op writes along: a
  // subtree the change wrote into, then moved back and forth, was walked whole at every move.
  const ownHeights: OwnHeights = new Map();
  let copyBudget = maxCopyBytes;
  for (let index = 0; index < ops.length; index++) {
    const op = ops[index];
    if (op.op === 'copy' || op.op === 'move') {
      // A from that is not there fails in the op itself; the path's own depth is bounded by validation.
      const moved = sourceOf(draft, op.from);
      if (moved !== undefined) {
        // Bytes first: the walk stops at the budget, where a depth walk of a doubled subtree would visit every copy.
        if (op.op === 'copy') {
          copyBudget -= jsonBytesUpTo(moved, copyBudget);
          if (copyBudget < 0) {
            throw new StatusError(413, `Change ${change.id}: op ${index} (copy) takes what its copies add to the document past ${maxCopyBytes} bytes, the most one change may add`, { changeId: change.id, scope: 'change' });
          }
        }
        const limit = MAX_DEPTH - parsePointer(op.path).length;
        if (isContainer(moved) && heightUpTo(moved, limit, draft, heights, ownHeights) > limit) {
          throw changeError(change.id, `op ${index} (${op.op}) would nest the document deeper than ${MAX_DEPTH} levels`);
        }
      }
    }
    // A move writes along its from first, where that path leads before the op (its path's indexes may shift after).
    if (ownHeights.size > 0 && op.op === 'move' && op.from !== undefined) forgetAlong(draft, op.from, ownHeights);
    applyOpAt(draft, op, index);
    // Every op's other writes are along its path, which leads after the op to the containers it wrote in.
    if (ownHeights.size > 0) forgetAlong(draft, op.path, ownHeights);
    yield;
  }
  return draft.root;
}

/** The value at a copy's or move's `from` in the draft, or undefined when nothing is there (the op then fails). */
function sourceOf(draft: PatchDraft, from: string | undefined): unknown {
  // A from that is no pointer throws here, as it did before the op (PatchError, op -1).
  return from === undefined ? undefined : draft.get(parsePointer(from)).value;
}

/** Heights of containers one draft owns, each kept until an op writes along a path through it (`forgetAlong`). */
type OwnHeights = Map<object, number>;

/**
 * How many levels of containers `value` holds (0 for a primitive, 1 for a container of
 * primitives), exactly when that is at most `limit`, else some number above `limit` (the walk
 * stops there). Containers the draft does not own are never written again, so their exact
 * heights are kept in `heights` and not walked twice; owned ones may still change: theirs are
 * kept in `own` until an op writes through them.
 * The recursion stops past `limit`, so it is at most `limit` + 1 deep.
 */
function heightUpTo(value: unknown, limit: number, draft: PatchDraft, heights: KnownHeights, own: OwnHeights): number {
  if (!isContainer(value)) return 0;
  if (limit <= 0) return 1;
  const known = draft.owns(value) ? own : heights;
  const kept = known.get(value);
  if (kept !== undefined) return kept;
  let below = 0;
  for (const child of Array.isArray(value) ? value : Object.values(value)) {
    if (!isContainer(child)) continue;
    const height = heightUpTo(child, limit - 1, draft, heights, own);
    if (height > limit - 1) return height + 1;
    if (height > below) below = height;
  }
  known.set(value, below + 1);
  return below + 1;
}

/**
 * Forgets the kept heights of the draft's containers along `path`, from the root to the
 * container its last key is in: every op writes in there (`PatchDraft.parent`), never into the
 * value at the end, and only the draft's own containers on the way hold what it wrote (one is in
 * one place only: a copy stops owning what it places twice). A path that leads nowhere before its
 * last key forgets them all.
 */
function forgetAlong(draft: PatchDraft, path: string, own: OwnHeights): void {
  const keys = parsePointer(path);
  let value = draft.root;
  for (let i = 0; isContainer(value); i++) {
    own.delete(value);
    if (i >= keys.length - 1) return;
    const key = keys[i];
    let next: unknown;
    if (Array.isArray(value)) {
      // A mid-path `-` is the last element, as the draft's writes take it.
      const at = key === '-' ? value.length - 1 : arrayIndex(key);
      next = at !== undefined && at >= 0 && at < value.length ? value[at] : undefined;
    } else {
      next = hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined;
    }
    if (next === undefined) return own.clear();
    value = next;
  }
}
