import type { JSONPatchOp } from '../types.js';
import { over, related } from './transform/over.js';
import { decompose, type Prim, type StashCounter } from './transform/prims.js';
import { recompose } from './transform/recompose.js';

/**
 * Rewrites `otherOps` to apply after `thisOps`, which happened first (protocol §4.5).
 *
 * Both lists are sequential programs on the same state. The result is what the author of
 * `otherOps` would have written had they seen `thisOps` first. Client rebase and server commit
 * both run with no document (paths alone decide: an integer last segment is an array index).
 *
 * ## Why two orders
 * OT is a diamond: committed ops C and a queued change E both start from state S. The server
 * applies C then E' = transformPatch(C, E). To transform the NEXT queued change (written on S·E)
 * the committed ops must also be carried past E: C' = transformPatch(E, C, true), where
 * `otherOpsFirst = true` says C was the earlier writer. Conflicts are always settled the same
 * way in both halves — the later writer wins (two sets of one path, bits of `@bit`), the earlier
 * writer's inserts come first at a `@txt` position tie, the later writer's array insert lands
 * first at an index tie — so S·C·E' equals S·E·C' and later changes land where they were meant
 * to. Without it a queue of two changes would see a frame that never existed on the server and
 * commit ops that fail strict apply everywhere.
 *
 * ## Rules, briefly (details beside each rule in transform/)
 * - Array insert/remove/move shift the other side's indexes at, above or inside them; an insert
 *   at the same index keeps the later writer's element first; ops inside a removed element die.
 * - A removal, or a set of a path, drops the other side's ops inside it. A hard set beats a
 *   concurrent removal of the same path; of two sets the later wins; soft writes yield to sets
 *   and removals; two empty-container adds of one kind merge.
 * - `@inc`, `@max`, `@min` commute; `@bit` commutes except on a bit both sides touch; `@txt`
 *   deltas are transformed with Quill's OT. An in-place op that came after a set applies on top
 *   of it; seen from the other frame the set carries the op's result.
 * - A move is handled as "take the value away" then "put it at the destination": ops on the moved
 *   value (a removal or replace of it included) follow it, and a same-array move shifts only the
 *   indexes between its two ends. Of two moves of one value the later decides where it ends.
 * - A copy's source is read: a concurrent edit of the source is made to the copy too, and a
 *   concurrent removal of the source removes the copy.
 * - A `test` is dropped when a concurrent write could falsify it, and once anything before it in
 *   `otherOps` was rewritten: a failing test would abort the change on every replica.
 *
 * ## Known limits (where the two frames can differ; every result still applies strictly)
 * - `/arr/-` appends: their final index is unknown, so two concurrent appends may end in
 *   different orders, and edits that follow a value moved or copied to `-` are dropped. An append
 *   never shifts the other side's concrete indexes. A list that appends and then addresses the
 *   appended element by index may address another element after a concurrent append.
 * - Soft writes depend on whether the path existed, which a transform cannot see: two soft writes
 *   of different values at one path, or an explicit soft insert at an array index, may end
 *   differently in the two frames.
 * - Different in-place kinds at one path (`@inc` against `@max`) do not commute; they are kept.
 * - Moves whose values feed each other (one side moves X to Y while the other moves Y to X), a
 *   move or copy F → P that makes the other side's edits of F and of P meet on one value (when
 *   those edits do not commute), and a list that copies a value and then moves or copies from
 *   the copy.
 * - A `@txt` that meets a concurrent replace or removal of its text applies to the new text at
 *   its old positions.
 *
 * Returns `otherOps` itself when nothing changed (copy before mutating); changed ops are new
 * objects that keep unknown fields.
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
  if (thisOps.length === 0 || otherOps.length === 0) return otherOps as JSONPatchOp[];
  return transformBothWays(thisOps, otherOps, !otherOpsFirst)[1];
}

/**
 * Both halves of the OT diamond in one pass: `[firstOps carried past laterOps, laterOps carried
 * past firstOps]`, where `firstOps` is the earlier writer when `firstIsEarlier` (the default).
 * Equal to `[transformPatch(laterOps, firstOps, true), transformPatch(firstOps, laterOps)]`,
 * at the cost of one of them: the queue walks of rebaseChanges and transformIncomingChanges
 * need both at every step.
 *
 * @example
 * const [committedAdvanced, queuedRebased] = transformBothWays(committedOps, queuedOps);
 */
export function transformBothWays(
  firstOps: readonly JSONPatchOp[],
  laterOps: readonly JSONPatchOp[],
  firstIsEarlier = true,
): [JSONPatchOp[], JSONPatchOp[]] {
  if (firstOps.length === 0 || laterOps.length === 0) return [firstOps as JSONPatchOp[], laterOps as JSONPatchOp[]];
  const counter: StashCounter = { next: 0 };
  const xs = decompose(firstOps, counter);
  const ys = decompose(laterOps, counter);
  const [xsAfter, ysAfter] = transformBoth(xs, ys, firstIsEarlier);
  return [finish(firstOps, xs, xsAfter), finish(laterOps, ys, ysAfter)];
}

/** Ops back from transformed primitives; the input array itself when nothing changed. */
function finish(ops: readonly JSONPatchOp[], before: readonly Prim[], after: Prim[]): JSONPatchOp[] {
  const out = recompose(dropStaleTests(before, after));
  if (out.length === ops.length && out.every((op, i) => op === ops[i])) return ops as JSONPatchOp[];
  return out;
}

/**
 * Drops `test` ops that come after the first other op that was rewritten or dropped. A test
 * asserts the state its author saw; once the ops before it were rewritten, that state is not
 * what it will meet, and a failing test would abort the whole change on every replica. (A test
 * only shifted along an array, with nothing before it rewritten, still tests the same value.)
 */
function dropStaleTests(before: readonly Prim[], after: Prim[]): Prim[] {
  if (!after.some((p) => p.kind === 'test')) return after;
  const writes = (list: readonly Prim[], end: number) => list.slice(0, end).filter((p) => p.kind !== 'test');
  return after.filter((p, k) => {
    if (p.kind !== 'test') return true;
    const was = writes(before, before.findIndex((q) => q.src === p.src));
    const now = writes(after, k);
    return was.length === now.length && was.every((q, i) => q === now[i]);
  });
}

/**
 * Transforms two sequential programs past each other: returns [xs after ys, ys after xs]. Each
 * x is carried through the ys one by one (and each y through the pieces x became), so every
 * pair is met in the frame it was written for.
 */
function transformBoth(xs: readonly Prim[], ys: readonly Prim[], xFirst: boolean): [Prim[], Prim[]] {
  let rest: readonly Prim[] = ys;
  const xsAfter: Prim[] = [];
  for (const x of xs) {
    const [xAfter, restAfter] = carry(x, rest, xFirst);
    xsAfter.push(...xAfter);
    rest = restAfter;
  }
  return [xsAfter, rest as Prim[]];
}

/** One x through all of ys: [what x became, ys after x]. */
function carry(x: Prim, ys: readonly Prim[], xFirst: boolean): [Prim[], Prim[]] {
  let pieces: Prim[] = [x];
  const ysAfter: Prim[] = [];
  for (let k = 0; k < ys.length; k++) {
    const y = ys[k];
    if (pieces.length === 0) {
      ysAfter.push(...ys.slice(k));
      break;
    }
    if (pieces.length === 1) {
      const only = pieces[0];
      if (!related(only, y)) {
        ysAfter.push(y);
        continue;
      }
      pieces = over(y, only, !xFirst);
      ysAfter.push(...over(only, y, xFirst));
    } else {
      const [yAfter, piecesAfter] = transformBoth([y], pieces, !xFirst);
      pieces = piecesAfter;
      ysAfter.push(...yAfter);
    }
  }
  return [pieces, ysAfter];
}
