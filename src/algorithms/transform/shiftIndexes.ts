/**
 * The rule for an array element inserted or removed at `path`: the other side's indexes in that
 * array move up or down.
 */
import type { JSONPatchOp } from '../../types.js';
import { removePath } from './clearPath.js';
import { mapOps, type Mapped, type Stop } from './mapOps.js';
import { isAddAt, likeOf, type Frame } from './opKinds.js';
import { indexAfter, prefixOf } from './paths.js';

/**
 * Rewrites `ops` after an element was inserted (`delta` +1) or removed (-1) at the index `path`.
 *
 * The index is followed through the other list as it runs (its own inserts and removals before
 * the index move it), so each op is compared in the frame it was written in. Indexes at or above
 * it shift; an insert at the same index stays put (it lands before the new element); ops inside
 * a removed element die, a `replace` of it becomes an insert of its value, an in-place op of it
 * re-creates it (`add null` first). A soft insert at the same index yields. With `isRemove`, a
 * move of the removed element goes nowhere and a copy of it copies nothing: both are dropped and
 * the rest is carried past the removal of their destination. Once the other list removes or
 * replaces the same element itself, the rest of it already lives in the new frame.
 */
export function shiftIndexes(frame: Frame, path: string, ops: readonly JSONPatchOp[], delta: 1 | -1, isRemove = false): JSONPatchOp[] {
  const prefix = prefixOf(path);
  let index = Number(path.slice(prefix.length));
  return mapOps(ops, (op, i, stop) => {
    const here = prefix + index;
    if (isRemove && op.from === here) {
      const like = likeOf(op);
      if (like === 'move') {
        stop();
        return removePath(frame, op.path, ops.slice(i + 1));
      }
      if (like === 'copy') {
        stop();
        return removePath(frame, op.path, removePath(frame, here, ops.slice(i + 1)));
      }
    }
    if (op.soft && isAddAt(op, 'path') && op.path === here) {
      stop(true);
      return null;
    }
    const original = op;
    const fromShifted = shiftOne(op, 'from', prefix, index, delta);
    const shifted = fromShifted && !Array.isArray(fromShifted) ? shiftOne(fromShifted, 'path', prefix, index, delta) : fromShifted;
    index = follow(prefix, index, delta, original, stop);
    return shifted;
  });
}

/** One op's `path` or `from` after the insert/removal at `prefix + index`. */
function shiftOne(op: JSONPatchOp, pathName: 'path' | 'from', prefix: string, index: number, delta: 1 | -1): Mapped {
  const path = op[pathName];
  if (!path || !path.startsWith(prefix)) return op;
  const at = indexAfter(path, prefix.length);
  if (!at) return op;
  const like = likeOf(op);
  // A move up the same array took its element out below its destination first.
  if (like === 'move' && pathName === 'path' && op.from?.startsWith(prefix)) {
    const from = indexAfter(op.from, prefix.length);
    if (from && from.index < at.index) index -= 1;
  }
  if (at.index < index) return op;
  const exact = at.end === path.length;
  if (at.index === index && delta === -1) {
    if (exact) {
      if (isAddAt(op, pathName)) return op;
      if (op.op === 'replace') return { ...op, op: 'add' };
      if (like === 'replace') return [{ op: 'add', path: op.path, value: null }, op];
    }
    return null;
  }
  if (isAddAt(op, pathName) && at.index === index && exact) return op.soft ? null : op;
  return { ...op, [pathName]: prefix + (at.index + delta) + path.slice(at.end) };
}

/** Where the tracked index is once `op` (an op of the other list) has run. */
function follow(prefix: string, index: number, delta: 1 | -1, op: JSONPatchOp, stop: Stop): number {
  const like = likeOf(op);
  if (like === 'move' && op.from?.startsWith(prefix)) {
    const from = indexAfter(op.from, prefix.length);
    if (from && from.end === op.from.length && from.index < index) index -= 1;
  }
  if (!op.path.startsWith(prefix)) return index;
  const at = indexAfter(op.path, prefix.length);
  if (!at || at.end !== op.path.length) return index;
  if (isAddAt(op, 'path')) {
    if (at.index <= index) index += 1;
  } else if (like === 'remove') {
    if (at.index < index) index -= 1;
    else if (at.index === index && delta === -1) stop(true);
  } else if (delta === -1 && at.index === index && like === 'replace') {
    stop(true);
  }
  return index;
}
