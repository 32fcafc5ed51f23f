import type { Change, JSONPatchOp } from '../../types.js';
import { pointerDepth } from '../jsonPointer.js';

/**
 * A server's LWW change with its rows in an order that applies right: every row before the rows
 * below its path (stable otherwise). A store keeps one row per path, and a row below another is
 * always the newer write (an older one was dropped when the parent was written), so a parent
 * applies first; a server that lists rows of one rev and one timestamp in the order it first
 * stored their paths (the anchor sorts by rev and ts only, and so did ours until it broke ties by
 * depth) may list a field before the object written with it, and applied in that order the
 * object's value would wipe the field. The change itself when it is already in order.
 *
 * @example
 * parentsFirst({ ...change, ops: [{ op: 'replace', path: '/a/b', value: 2 }, { op: 'replace', path: '/a', value: {} }] }).ops;
 * // [{ op: 'replace', path: '/a', value: {} }, { op: 'replace', path: '/a/b', value: 2 }]
 */
export function parentsFirst(change: Change): Change {
  const depths = change.ops.map(op => pointerDepth(op.path));
  if (depths.every((depth, i) => i === 0 || depths[i - 1] <= depth)) return change;
  // By depth alone: rows on unrelated paths commute, so only a row and one below it must keep an order.
  const order = change.ops.map((op, i) => ({ op, depth: depths[i] }));
  order.sort((a, b) => a.depth - b.depth);
  return { ...change, ops: order.map(({ op }) => op) };
}

/** The ops of `changes`, each change's rows parents first (see {@link parentsFirst}). */
export function opsParentsFirst(changes: readonly Change[]): JSONPatchOp[] {
  return changes.flatMap(change => parentsFirst(change).ops);
}
