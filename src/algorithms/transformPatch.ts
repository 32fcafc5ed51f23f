import type { JSONPatchOp } from '../types.js';
import type { Steps } from '../util/steps.js';
import type { Frame } from './transform/opKinds.js';
import { leavesAlone } from './transform/leavesAlone.js';
import { overOp } from './transform/overOp.js';

/**
 * Rewrites `otherOps` to apply after `thisOps`, which happened first (protocol §4.5).
 *
 * Both lists are sequential programs on the same state. The result is what the author of
 * `otherOps` would have written had they seen `thisOps` first. Client rebase and server commit
 * both run with no document (paths alone decide: an integer last segment is an array index).
 *
 * ## Why the reference's rules, case for case
 * A client's rebase and the server's transform must compute the same thing, or replicas
 * silently disagree; in a mixed fleet (our client on a @dabble/patches server, theirs on ours)
 * that means computing exactly what @dabble/patches computes. These rules reproduce every case
 * of the recorded corpus (`shared/spec/transform-corpus/`, from @dabble/patches 0.28.1; proven
 * by `spec/algorithms/transformCorpus.spec.ts`), including where another rule would converge
 * better: conformance wins over elegance.
 *
 * ## Rules, briefly (details beside each rule in transform/)
 * Each op of `thisOps` in turn rewrites the whole of `otherOps`:
 * - an insert or removal at an array index shifts the other side's indexes at or above it; an
 *   insert of the other side at the same index stays put (it lands first); ops inside a removed
 *   element die, a replace of it becomes an insert, an in-place op of it re-creates it;
 * - a set (add at a key, replace, copy or move destination) or a removal of a key drops the
 *   other side's ops inside it; a write of the other side at the same path starts a new value,
 *   so it and what follows it are kept (a `test` there is kept too); two empty containers of one
 *   kind added at one key merge; soft writes yield;
 * - `@inc`, `@bit`, `@max`, `@min`, `@txt` drop only ops inside their value; two `@txt` at one
 *   path are transformed (Quill's OT, the earlier writer's inserts first at a tie);
 * - a move carries the other side's ops on the moved value to its destination, then acts as a
 *   removal at its source and an insert or set at its destination; a copy acts as an insert or
 *   set at its destination (a concurrent edit or removal of the source does not reach the copy);
 * - `test` and unknown ops change nothing for others.
 *
 * `otherOpsFirst = true` says `otherOps` came first in the authoritative order (the committed
 * side advanced past a queued change, the mirror half of the OT diamond): then where both sides
 * set one path the later writer (`thisOps`) wins, and of two moves of one value the later one
 * decides where it ends, so the two halves of the diamond agree on the winner.
 *
 * ## Known limits (the reference's, kept for conformance)
 * - `/arr/-` appends have no index: they never shift the other side's indexes, and a list that
 *   appends and then addresses the appended element by index may address another element after
 *   a concurrent insert. Concurrent appends keep both, in commit order.
 * - Concurrent inserts at one index do not converge by transform alone: either side's transform
 *   keeps the element being transformed first, so S·C·E' and S·E·C' differ in order. Replicas
 *   agree only by adopting the server's committed ops as the truth.
 * - A copy whose source the other side edits or removes keeps the value its author copied.
 * - Soft writes depend on whether the path existed, which a transform cannot see.
 *
 * Never mutates its inputs. Returns `otherOps` itself when no rule touched it (e.g. no path
 * meets); rewritten ops are new objects that keep unknown fields.
 *
 * @example
 * transformPatch([{ op: 'add', path: '/list/0', value: 'a' }], [{ op: 'replace', path: '/list/3', value: 'x' }]);
 * // → [{ op: 'replace', path: '/list/4', value: 'x' }]
 */
export function transformPatch(
  thisOps: readonly JSONPatchOp[],
  otherOps: readonly JSONPatchOp[],
  otherOpsFirst = false,
): JSONPatchOp[] {
  const frame: Frame = { otherOpsFirst };
  let ops = otherOps as JSONPatchOp[];
  // Most ops of a burst never meet the other side's paths: skip the rule when it would change nothing.
  for (const op of thisOps) if (!leavesAlone(op, ops)) ops = overOp(frame, op, ops);
  return ops;
}

/** About how many ops one step of {@link transformPatchSteps} looks at (`otherOps` passed, summed) before it yields. */
const OPS_PER_STEP = 4096;

/**
 * {@link transformPatch} as steps: the same rules in the same order, yielding once it has passed
 * about `OPS_PER_STEP` of `otherOps` (each op of `thisOps` rewrites them all, or looks at them all
 * to find it leaves them alone), so the server serves other requests during a long transform (two
 * changes of 4,000 inserts at one index meet 16 million times: ~17 s; 20,000 inserts into one
 * list over 20,000 into another meet none, and their look at each other took 5.6 s in one step).
 */
export function* transformPatchSteps(thisOps: readonly JSONPatchOp[], otherOps: readonly JSONPatchOp[], otherOpsFirst = false): Steps<JSONPatchOp[]> {
  const frame: Frame = { otherOpsFirst };
  let ops = otherOps as JSONPatchOp[];
  let passed = 0;
  for (const op of thisOps) {
    // The look that finds an op leaves them alone passes them all too: it counts as a rewrite.
    if (!leavesAlone(op, ops)) ops = overOp(frame, op, ops);
    passed += ops.length;
    if (passed >= OPS_PER_STEP) {
      passed = 0;
      yield;
    }
  }
  return ops;
}
