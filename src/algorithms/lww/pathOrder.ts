import type { JSONPatchOp } from '../../types.js';
import { runToEnd, type Steps } from '../../util/steps.js';
import { ancestorPaths, isDeltaOp } from './consolidateOps.js';

/**
 * LWW ops kept in path order (one op per path, sorted by the path's UTF-16 code units: how stores
 * hand a client's pending ops out, IndexedDB's key order, and how the server indexes a doc's
 * rows). In that order a path's descendants are one run (every path starting with `path + '/'`),
 * so what a write touches is found by binary search, and a doc with thousands of fields costs an
 * edit O(log n) comparisons, not a scan and a sort of them all.
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
 * list's order, and beside each path the first sibling write that keeps its parent object
 * standing (a value below that parent, not below any of `paths`): all that `consolidateOps` looks
 * at when folding writes at those paths in, so it gives the same result on them as on the whole
 * list (a removal asks whether anything else still makes its parent).
 *
 * @example
 * opsMeeting([{ op: 'replace', path: '/a', value: {} }, { op: 'replace', path: '/b', value: 1 }, { op: 'replace', path: '/c/d', value: 2 }], ['/a/x', '/c']);
 * // [{ op: 'replace', path: '/a', value: {} }, { op: 'replace', path: '/c/d', value: 2 }]
 */
export function opsMeeting(sorted: readonly JSONPatchOp[], paths: Iterable<string>): JSONPatchOp[] {
  return runToEnd(pickedSteps(sorted, paths, true));
}

/** {@link opsMeeting} as steps (the server's commit runs it in slices: `src/server/docs/runSliced.ts`). */
export function opsMeetingSteps(sorted: readonly JSONPatchOp[], paths: Iterable<string>): Steps<JSONPatchOp[]> {
  return pickedSteps(sorted, paths, true);
}

/**
 * The ops of a path-ordered list at any of `paths` or below it, in the list's order (`''` is
 * above every other path).
 *
 * @example
 * opsAtOrUnder([{ op: 'replace', path: '/a', value: {} }, { op: 'replace', path: '/a/b', value: 1 }, { op: 'replace', path: '/c', value: 2 }], ['/a/b', '/c']);
 * // [{ op: 'replace', path: '/a/b', value: 1 }, { op: 'replace', path: '/c', value: 2 }]
 */
export function opsAtOrUnder(sorted: readonly JSONPatchOp[], paths: Iterable<string>): JSONPatchOp[] {
  return runToEnd(pickedSteps(sorted, paths, false));
}

/** {@link opsAtOrUnder} as steps. */
export function opsAtOrUnderSteps(sorted: readonly JSONPatchOp[], paths: Iterable<string>): Steps<JSONPatchOp[]> {
  return pickedSteps(sorted, paths, false);
}

/** About how many ops of the list one step of {@link pickedSteps} or {@link mergedSteps} looks at before it yields. */
const OPS_PER_STEP = 4096;

/** The ops at `paths`, below them, and with `ancestors` above them and a sibling standing by: each once, in list order. */
function* pickedSteps(sorted: readonly JSONPatchOp[], paths: Iterable<string>, ancestors: boolean): Steps<JSONPatchOp[]> {
  const indexes = new Set<number>();
  const given = new Set<string>();
  let looked = 0;
  for (const path of paths) {
    if (path === '') return [...sorted];
    given.add(path);
    for (const at of ancestors ? [path, ...ancestorPaths(path)] : [path]) {
      const i = lowerBound(sorted, at);
      if (i < sorted.length && sorted[i].path === at) indexes.add(i);
    }
    const prefix = `${path}/`;
    const first = lowerBound(sorted, prefix);
    let i = first;
    for (; i < sorted.length && sorted[i].path.startsWith(prefix); i++) indexes.add(i);
    // A path's binary searches count as a few ops looked at, its run below as many as it holds.
    looked += 8 + i - first;
    if (looked >= OPS_PER_STEP) {
      looked = 0;
      yield;
    }
  }
  if (ancestors) {
    for (const path of given) {
      looked += 8 + standingBy(sorted, given, path, indexes);
      if (looked >= OPS_PER_STEP) {
        looked = 0;
        yield;
      }
    }
  }
  // A typed array sorts numbers as numbers, in a fraction of a comparator's time.
  const order = Uint32Array.from(indexes).sort();
  const out: JSONPatchOp[] = new Array<JSONPatchOp>(order.length);
  for (let k = 0; k < order.length; k++) out[k] = sorted[order[k]];
  return out;
}

/**
 * Adds to `indexes` the first op below the parent of `path` that writes a value and is not at or
 * below any of `given` (the batch cannot change it): whether there is one decides if a removal at
 * `path` leaves its parent standing. Runs below a given path are skipped whole. Returns how many
 * ops it looked at.
 */
function standingBy(sorted: readonly JSONPatchOp[], given: ReadonlySet<string>, path: string, indexes: Set<number>): number {
  const parent = ancestorPaths(path)[0];
  if (parent === undefined || parent === '') return 0;
  const prefix = `${parent}/`;
  let i = lowerBound(sorted, prefix);
  let looked = 0;
  while (i < sorted.length && sorted[i].path.startsWith(prefix)) {
    looked++;
    const op = sorted[i];
    const within = [op.path, ...ancestorPaths(op.path)].find(at => given.has(at));
    // Past the run below that given path: its paths are `within + '/' + …`, and '0' follows '/'.
    if (within !== undefined) i = Math.max(i + 1, lowerBound(sorted, `${within}0`));
    else if (op.op === 'remove' || (op.value === undefined && !isDeltaOp(op))) i++;
    else {
      indexes.add(i);
      return looked;
    }
  }
  return looked;
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
  return writeInPlace(sorted.slice(), ops, pathsToDelete);
}

/**
 * {@link afterWrite} on the list itself (for a list only its owner holds: a copy per write of a
 * long one costs what V8 charges to copy an array past ~16,000 entries, milliseconds).
 *
 * @returns the same list
 */
export function writeInPlace(out: JSONPatchOp[], ops: readonly JSONPatchOp[], pathsToDelete: readonly string[]): JSONPatchOp[] {
  // A splice is a memmove, but past ~80,000 entries V8 makes each one cost ~0.1 ms: a big write merges instead.
  if (ops.length + pathsToDelete.length > MERGE_ABOVE) return mergeInPlace(out, ops, pathsToDelete);
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

/** Writes of more ops than this merge the list in one pass instead of a splice per op. */
const MERGE_ABOVE = 32;

/** {@link writeInPlace} as one merge of the list with the ops sorted (O(n + k log k)). */
function mergeInPlace(out: JSONPatchOp[], ops: readonly JSONPatchOp[], pathsToDelete: readonly string[]): JSONPatchOp[] {
  const merged = runToEnd(mergedSteps(out, ops, pathsToDelete));
  out.length = 0;
  for (const op of merged) out.push(op);
  return out;
}

/**
 * {@link afterWrite} as steps, one merge of the list with the ops sorted, yielding every
 * `OPS_PER_STEP` ops of the list: the server's commit prepares its doc's next list so, in slices,
 * and puts it in place once the commit is stored.
 */
export function* mergedSteps(sorted: readonly JSONPatchOp[], ops: readonly JSONPatchOp[], pathsToDelete: readonly string[]): Steps<JSONPatchOp[]> {
  const deleted = new Set(pathsToDelete);
  // One op per path, the last one given winning (as upserting one by one does).
  const written = [...new Map(ops.map(op => [op.path, op])).values()].sort(byPathOrder);
  yield;
  const merged: JSONPatchOp[] = [];
  let j = 0;
  for (let i = 0; i < sorted.length; i++) {
    const current = sorted[i];
    while (j < written.length && written[j].path < current.path) merged.push(written[j++]);
    if (j < written.length && written[j].path === current.path) merged.push(written[j++]);
    else if (!deleted.has(current.path)) merged.push(current);
    if (i % OPS_PER_STEP === OPS_PER_STEP - 1) yield;
  }
  while (j < written.length) merged.push(written[j++]);
  return merged;
}
