import type { JSONPatchOp } from '../../types.js';
import { deepEqual } from '../deepEqual.js';
import { ancestorPaths, isSoftOp } from './consolidateOps.js';
import { isInPathOrder, opsAtOrUnder } from './pathOrder.js';

/** Past this many new ops a view is rebuilt: applying them on top would cost about as much. */
const MOST_ON_TOP = 64;

/** A segment that may be an array index (or `-`): ops there shift their siblings, so their order matters. */
const INDEX_SEGMENT = /\/(?:\d+|-)(?=\/|$)/;

/**
 * The ops that turn a view of LWW pending ops `before` into one of `after` when applied on top of
 * it, or `undefined` when the view must be rebuilt from every op (`[]`: the same ops).
 *
 * Why: a tab following another's offline session gets the pending ops again after each write of
 * the other; rebuilding its view applies all of them (thousands), while a write changed a few.
 * Applying the few on top gives the rebuilt view only when each new op overwrites its path
 * whatever was under it: a plain `add`, `replace` or `remove` (no delta, no soft write, which
 * depend on what is there), with no other op of `after` below it (applied after it in path
 * order, it would show through), and every op that left `before` was at or below a new write
 * (a parent write supersedes its children). A write makes the objects above it that are missing,
 * so an op that left may have made some: a new write at or above it makes them again, a
 * `remove` does not, so a `remove` is taken on top only where `before` had nothing at or below
 * it. Paths with a segment that may be an array index are left to a rebuild (there the order ops
 * apply in moves elements), as are lists with a `move`, a `copy` or a `test` (`readsOthers`).
 * A property spec holds the result to the rebuilt view.
 *
 * Both lists are in path order (as stores hand them out) and share the ops that did not change
 * (a store that knows a write keeps the other objects); an op equal to the one it replaces
 * counts as unchanged. Pure.
 *
 * @example
 * const a = { op: 'replace', path: '/a', value: 1, ts: 1 };
 * opsOnTop([a], [a, { op: 'replace', path: '/b', value: 2, ts: 2 }]); // [{ op: 'replace', path: '/b', value: 2, ts: 2 }]
 * opsOnTop([a], [{ op: '@inc', path: '/a', value: 1, ts: 2 }]);       // undefined: rebuild
 */
export function opsOnTop(before: readonly JSONPatchOp[], after: readonly JSONPatchOp[]): JSONPatchOp[] | undefined {
  if (!isInPathOrder(before) || !isInPathOrder(after) || before.some(readsOthers) || after.some(readsOthers)) return undefined;
  const added: JSONPatchOp[] = [];
  const gone: string[] = [];
  let i = 0;
  let j = 0;
  while (i < before.length || j < after.length) {
    const old = before[i];
    const next = after[j];
    if (old && next && old.path === next.path) {
      if (old !== next && !deepEqual(old, next)) added.push(next);
      i++;
      j++;
    } else if (!next || (old && old.path < next.path)) {
      gone.push(old.path);
      i++;
    } else {
      added.push(next);
      j++;
    }
    if (added.length + gone.length > MOST_ON_TOP) return undefined;
  }
  const takenOnTop = (op: JSONPatchOp) =>
    overwrites(op) && opsAtOrUnder(after, [op.path]).length === 1 && (op.op !== 'remove' || opsAtOrUnder(before, [op.path]).length === 0);
  const written = new Set(added.map(op => op.path));
  const superseded = (path: string) => !INDEX_SEGMENT.test(path) && ancestorPaths(path).some(above => written.has(above));
  return added.every(takenOnTop) && gone.every(superseded) ? added : undefined;
}

/**
 * An op whose effect depends on other paths: a `move` or `copy` reads its value from elsewhere (it
 * would show what a new op wrote there only if applied after it), and a failed `test` voids every
 * op of the view (so a view it voided is not the rebuild with new ops on it, and the reverse).
 */
function readsOthers(op: JSONPatchOp): boolean {
  return op.op === 'move' || op.op === 'copy' || op.op === 'test';
}

/** A plain write that leaves its path holding its value (or nothing), whatever was there. */
function overwrites(op: JSONPatchOp): boolean {
  return (op.op === 'add' || op.op === 'replace' || op.op === 'remove') && !isSoftOp(op) && !INDEX_SEGMENT.test(op.path);
}
