/**
 * One op of the earlier list against the whole later list: which rule applies to each op name.
 */
import type { JSONPatchOp } from '../../types.js';
import { toDeltaOps } from '../deltaOps.js';
import { richText } from '../richText.js';
import { clearPath, removePath } from './clearPath.js';
import { mapOps } from './mapOps.js';
import { isEmptyContainer, type Frame } from './opKinds.js';
import { overMove } from './overMove.js';
import { isIndexPath } from './paths.js';
import { shiftIndexes } from './shiftIndexes.js';

/**
 * Two adds of an empty container of one kind at one key merge: the later one is dropped so the
 * ops that fill it fill the container that is there (maps created concurrently by both sides).
 */
function mergeEmptyContainers(path: string, value: unknown, ops: readonly JSONPatchOp[]): JSONPatchOp[] {
  const isArray = Array.isArray(value);
  return mapOps(ops, (op) => (op.op === 'add' && op.path === path && isEmptyContainer(op.value) && Array.isArray(op.value) === isArray ? null : op));
}

/**
 * `@txt` at the same path: the deltas are transformed (Quill's OT), the earlier writer's inserts
 * first at a tie. Each later delta was written after the ones before it, so the earlier delta is
 * carried past each one it meets.
 */
function mergeText(mine: JSONPatchOp): (op: JSONPatchOp) => JSONPatchOp | null {
  let theirs = toDeltaOps(mine.value);
  return (op) => {
    if (op.path !== mine.path || !Array.isArray(op.value)) return null;
    const ours = toDeltaOps(op.value);
    if (!theirs || !ours) return null;
    const { transform } = richText();
    const merged = transform(theirs, ours, true);
    theirs = transform(ours, theirs, false);
    return { ...op, value: merged };
  };
}

/** `ops` rewritten to apply after `op` (which came first unless `frame.otherOpsFirst`). */
export function overOp(frame: Frame, op: JSONPatchOp, ops: readonly JSONPatchOp[]): JSONPatchOp[] {
  switch (op.op) {
    case 'add':
      if (isIndexPath(op.path)) return shiftIndexes(frame, op.path, ops, 1);
      if (isEmptyContainer(op.value)) return mergeEmptyContainers(op.path, op.value, ops);
      return clearPath(frame, op.path, ops, { setter: op });
    case 'replace':
      return clearPath(frame, op.path, ops, { setter: op });
    case 'remove':
      return removePath(frame, op.path, ops, true);
    case 'move':
      return overMove(frame, op, ops);
    case 'copy':
      return overCopy(frame, op, ops);
    case '@inc':
    case '@bit':
    case '@max':
    case '@min':
      return clearPath(frame, op.path, ops, { inPlace: true });
    case '@txt':
      return clearPath(frame, op.path, ops, { inPlace: true, merge: { name: '@txt', with: mergeText(op) } });
    default:
      return ops as JSONPatchOp[]; // test, and ops we do not know, change nothing for others
  }
}

/**
 * A copy writes at its destination like an add: an insert at an array index, a set of a key.
 * Its source is only read: a concurrent edit or removal of the source does not reach the copy
 * (the reference's rule; the copy keeps what its author copied).
 */
function overCopy(frame: Frame, copy: JSONPatchOp, ops: readonly JSONPatchOp[]): JSONPatchOp[] {
  if (isIndexPath(copy.path)) return shiftIndexes(frame, copy.path, ops, 1);
  return clearPath(frame, copy.path, ops, { setter: copy });
}
