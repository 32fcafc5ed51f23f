/**
 * The transform's fast path: most ops of a burst touch paths the other side's ops never meet.
 */
import type { JSONPatchOp } from '../../types.js';
import { isEmptyContainer } from './opKinds.js';
import { isAppendPath, isIndexPath, prefixOf } from './paths.js';

/**
 * What an op's rule can reach, by its kind and path alone: `'index'` the elements of the array
 * it inserts into or removes from, `'path'` its path and what is under it, `'all'` anything (moves
 * and copies always run their rule), `'none'` nothing (`test` and unknown ops).
 */
export type Reach = 'index' | 'path' | 'all' | 'none';

/** What `op`'s rule can reach (see {@link Reach}). */
export function reachOf(op: JSONPatchOp): Reach {
  switch (op.op) {
    case 'add':
    case 'remove':
      return isIndexPath(op.path) ? 'index' : 'path';
    case 'replace':
    case '@inc':
    case '@bit':
    case '@max':
    case '@min':
    case '@txt':
      return 'path';
    case 'move':
    case 'copy':
      return 'all';
    default:
      return 'none';
  }
}

/** True for a plain add (not soft, no `from`): another append at its path stops there. */
export function isPlainAdd(op: JSONPatchOp): boolean {
  return op.op === 'add' && !op.soft && op.from === undefined;
}

/** True for an append (`add /list/-` of a value that is not an empty container): two of them at one path both land. */
export function isAppend(op: JSONPatchOp): boolean {
  return op.op === 'add' && !op.soft && isAppendPath(op.path) && !isEmptyContainer(op.value);
}

/**
 * True when `overOp(frame, op, ops)` returns `ops` itself, found by looking at paths alone
 * (false when unsure: the rule then runs). Any frame: the cases it answers never reach the rules
 * that depend on it.
 *
 * - An insert or removal at an array index leaves alone every op that does not address that
 *   array's elements (`shiftIndexes` shifts nothing outside it).
 * - A set, removal of a key or in-place op at `path` leaves alone every op whose `path` and
 *   `from` are neither `path` nor under it (`clearPath` passes them as they are); and an append
 *   (`add /list/-`) meeting another append at `/list/-` stops there, keeping it and every op
 *   after it (two appends both land).
 * - `test` and unknown ops leave everything alone; moves and copies always run their rule.
 * A move or copy onto its own path is dropped by every rule, so it is never left alone.
 */
export function leavesAlone(op: JSONPatchOp, ops: readonly JSONPatchOp[]): boolean {
  switch (reachOf(op)) {
    case 'index':
      return outsideArray(prefixOf(op.path), ops);
    case 'path':
      return outsidePath(op, ops);
    case 'all':
      return false;
    case 'none':
      return true;
  }
}

/** No op addresses an element of the array whose element paths start with `prefix`. */
function outsideArray(prefix: string, ops: readonly JSONPatchOp[]): boolean {
  for (const other of ops) {
    if (other.from === other.path || other.path.startsWith(prefix) || other.from?.startsWith(prefix)) return false;
  }
  return true;
}

/** No op meets `op.path` (at it or under it, by `path` or `from`) before an append stops the walk. */
function outsidePath(op: JSONPatchOp, ops: readonly JSONPatchOp[]): boolean {
  const path = op.path;
  const inside = `${path}/`;
  const appends = isAppend(op);
  for (const other of ops) {
    if (other.from === other.path) return false;
    if (appends && other.path === path && isPlainAdd(other)) return true;
    if (other.path === path || other.path.startsWith(inside)) return false;
    if (other.from !== undefined && (other.from === path || other.from.startsWith(inside))) return false;
  }
  return true;
}
