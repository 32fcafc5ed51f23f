/**
 * The rule for a `move`: the other side's ops follow the moved value to its new path, and the
 * two arrays (or keys) it left and entered are updated as for a removal and an insert.
 */
import type { JSONPatchOp } from '../../types.js';
import { clearPath } from './clearPath.js';
import { mapOps } from './mapOps.js';
import { isAddAt, isHardSet, likeOf, type Frame } from './opKinds.js';
import { isIndexPath } from './paths.js';
import { shiftIndexes } from './shiftIndexes.js';

/**
 * Ops that already followed the move carry this mark on their paths so the index and key rules
 * that come after leave them alone; the mark never leaves this file. Pointers start with `/` (or
 * are ''), so a mark cannot be mistaken for one.
 */
const MARK = '$';

function protect(op: JSONPatchOp): JSONPatchOp {
  const out = { ...op, path: MARK + op.path };
  if (out.from) out.from = MARK + out.from;
  return out;
}

function unprotect(op: JSONPatchOp): JSONPatchOp | null {
  if (op.path[0] === MARK) op.path = op.path.slice(1);
  if (op.from && op.from[0] === MARK) op.from = op.from.slice(1);
  return op.from === op.path ? null : op;
}

/** `op` with its `path` or `from` moved from `from` to `to` (marked), when it addresses the moved value. */
function follow(op: JSONPatchOp, pathName: 'path' | 'from', from: string, to: string, original: JSONPatchOp): JSONPatchOp {
  const path = op[pathName];
  if (!path) return op;
  if (isAddAt(op, pathName) && op.path === from) return op; // a write into the vacated place stays
  if (path === from || path.startsWith(`${from}/`)) {
    const out = op === original ? { ...op } : op;
    out[pathName] = MARK + to + path.slice(from.length);
    return out;
  }
  return op;
}

/** What, with `otherOpsFirst`, makes the mirror half of the diamond drop a queued move. */
interface MirrorKiller {
  op: JSONPatchOp;
  kind: 'move' | 'set';
}

/**
 * With `otherOpsFirst`, the other (earlier) list is what the mirror transform carries the queued
 * move of `from` through: an earlier move of the same source makes it follow the value,
 * and an earlier set or removal of wherever the value then is kills it. Returns what kills it
 * (the followed move when there was one), or undefined when it survives. Inserts at an array
 * index never kill (they shift, they do not overwrite).
 */
function findMirrorKiller(ops: readonly JSONPatchOp[], from: string): MirrorKiller | undefined {
  let src = from;
  let followed: JSONPatchOp | undefined;
  for (const op of ops) {
    const like = likeOf(op);
    if (like === 'move' && op.from === src) {
      followed = followed ?? op;
      src = op.path;
      continue;
    }
    const exactKill =
      op.path === src &&
      !op.soft &&
      (src === from
        ? (isAddAt(op, 'path') || op.op === 'replace') && !isIndexPath(src)
        : op.op === 'replace' || (isAddAt(op, 'path') && !isIndexPath(src)));
    const kills =
      exactKill ||
      (src.startsWith(`${op.path}/`) && isHardSet(op, op.path)) ||
      (like === 'remove' && (src.startsWith(`${op.path}/`) || (op.path === src && src !== from)));
    if (kills) return followed ? { op: followed, kind: 'move' } : { op, kind: 'set' };
  }
  return undefined;
}

/**
 * Rewrites `ops` to apply after `move` (see the file comment). With `otherOpsFirst`, two moves
 * of one value: the later (this one) decides where it ends, unless the mirror drops it, in which
 * case the earlier move is kept and pulls from where this one put the value.
 */
export function overMove(frame: Frame, move: JSONPatchOp, ops: readonly JSONPatchOp[]): JSONPatchOp[] {
  const from = move.from as string;
  const to = move.path;
  if (from === to) return ops as JSONPatchOp[];
  const killer = frame.otherOpsFirst ? findMirrorKiller(ops, from) : undefined;
  let removed = false;
  let out = mapOps(ops, (op, index, stop) => {
    if (removed) return protect(op);
    const like = likeOf(op);
    if (like === 'remove' && op.path === from) removed = true;
    if (frame.otherOpsFirst && like === 'move' && op.from === from && !killer) {
      stop();
      const rest = ops.slice(index + 1);
      if (op.path === to) return rest.map(protect);
      return overMove(frame, { op: 'move', from: op.path, path: to }, rest).map(protect);
    }
    if (killer?.op === op) {
      if (killer.kind === 'move') {
        if (op.path === to) {
          stop();
          return ops.slice(index + 1).map(protect);
        }
        return protect({ ...op, from: to });
      }
      return [protect({ op: 'remove', path: to }), op];
    }
    const original = op;
    return follow(follow(op, 'path', from, to, original), 'from', from, to, original);
  });

  // Without the document no path is known to be an array, so a move is always a removal then an insert.
  out = isIndexPath(from) ? shiftIndexes(frame, from, out, -1) : clearPath(frame, from, out);
  out = isIndexPath(to) ? shiftIndexes(frame, to, out, 1) : clearPath(frame, to, out, { setter: killer ? undefined : move });
  return mapOps(out, unprotect);
}
