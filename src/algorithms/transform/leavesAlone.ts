/**
 * The transform's fast path: most ops of a burst touch paths the other side's ops never meet.
 */
import type { JSONPatchOp } from '../../types.js';
import { isEmptyContainer } from './opKinds.js';
import { isAppendPath, isIndexPath, prefixOf } from './paths.js';

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
  switch (op.op) {
    case 'add':
    case 'remove':
      if (isIndexPath(op.path)) return outsideArray(prefixOf(op.path), ops);
      return outsidePath(op, ops);
    case 'replace':
    case '@inc':
    case '@bit':
    case '@max':
    case '@min':
    case '@txt':
      return outsidePath(op, ops);
    case 'move':
    case 'copy':
      return false;
    default:
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
  const appends = op.op === 'add' && !op.soft && isAppendPath(path) && !isEmptyContainer(op.value);
  for (const other of ops) {
    if (other.from === other.path) return false;
    if (appends && other.op === 'add' && other.path === path && !other.soft && other.from === undefined) return true;
    if (other.path === path || other.path.startsWith(inside)) return false;
    if (other.from !== undefined && (other.from === path || other.from.startsWith(inside))) return false;
  }
  return true;
}
