import type { JSONPatchOp } from '../../types.js';
import { ancestorPaths } from './consolidateOps.js';

/**
 * LWW pending ops kept in path order (one op per path, sorted by the path's UTF-16 code units:
 * what stores hand out, and IndexedDB's key order). In that order a path's descendants are one
 * run (every path starting with `path + '/'`), so what a write touches is found by binary search,
 * and a doc with thousands of pending fields costs an edit O(log n) comparisons, not a scan and a
 * sort of them all.
 */

/** Parents before children: the order stores hand pending ops out in. */
export function byPathOrder(a: JSONPatchOp, b: JSONPatchOp): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

/** Whether `ops` are in path order with no path twice (a store of our own always hands them out so). */
export function isInPathOrder(ops: readonly JSONPatchOp[]): boolean {
  for (let i = 1; i < ops.length; i++) if (!(ops[i - 1].path < ops[i].path)) return false;
  return true;
}

/** Index of the first op whose path is not below `path` in path order. */
function lowerBound(sorted: readonly JSONPatchOp[], path: string): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (sorted[mid].path < path) low = mid + 1;
    else high = mid;
  }
  return low;
}

/**
 * The ops of a path-ordered list that meet any of `paths` (at it, above it or below it), in the
 * list's order: all that `consolidateOps` looks at when folding writes at those paths in, so it
 * gives the same result on them as on the whole list.
 *
 * @example
 * opsMeeting([{ op: 'replace', path: '/a', value: {} }, { op: 'replace', path: '/b', value: 1 }, { op: 'replace', path: '/c/d', value: 2 }], ['/a/x', '/c']);
 * // [{ op: 'replace', path: '/a', value: {} }, { op: 'replace', path: '/c/d', value: 2 }]
 */
export function opsMeeting(sorted: readonly JSONPatchOp[], paths: Iterable<string>): JSONPatchOp[] {
  const picked = new Set<number>();
  for (const path of paths) {
    if (path === '') return [...sorted];
    for (const at of [path, ...ancestorPaths(path)]) {
      const i = lowerBound(sorted, at);
      if (i < sorted.length && sorted[i].path === at) picked.add(i);
    }
    const prefix = `${path}/`;
    for (let i = lowerBound(sorted, prefix); i < sorted.length && sorted[i].path.startsWith(prefix); i++) picked.add(i);
  }
  return [...picked].sort((a, b) => a - b).map(i => sorted[i]);
}

/**
 * A path-ordered list after a write: `pathsToDelete` removed, then `ops` upserted by path (what
 * stores do with `savePendingOps`), still in path order. A new array; the input is left as it was.
 *
 * @example
 * afterWrite([{ op: 'replace', path: '/a', value: 1 }, { op: 'replace', path: '/c', value: 3 }], [{ op: 'replace', path: '/b', value: 2 }], ['/a']);
 * // [{ op: 'replace', path: '/b', value: 2 }, { op: 'replace', path: '/c', value: 3 }]
 */
export function afterWrite(sorted: readonly JSONPatchOp[], ops: readonly JSONPatchOp[], pathsToDelete: readonly string[]): JSONPatchOp[] {
  const out = sorted.slice();
  for (const path of pathsToDelete) {
    const i = lowerBound(out, path);
    if (i < out.length && out[i].path === path) out.splice(i, 1);
  }
  for (const op of ops) {
    const i = lowerBound(out, op.path);
    if (i < out.length && out[i].path === op.path) out[i] = op;
    else out.splice(i, 0, op);
  }
  return out;
}
