/**
 * The rule for a value that was overwritten, removed or updated in place at `path`: what the
 * other side's ops at and under that path become.
 */
import type { JSONPatchOp } from '../../types.js';
import { mapOps, type Mapped } from './mapOps.js';
import { isHardSet, likeOf, type Frame } from './opKinds.js';
import { shiftIndexes } from './shiftIndexes.js';
import { isIndexPath } from './paths.js';

/** How `clearPath` treats the op that cleared the path. */
export interface ClearOptions {
  /** The op updates the value where it is (`@inc`, `@txt`…): ops AT the path survive, only ops inside it die. */
  inPlace?: boolean;
  /** Merges another op of the same name at the same path (`@txt` deltas); null when it cannot. */
  merge?: { name: string; with: (op: JSONPatchOp) => JSONPatchOp | null };
  /**
   * The set that cleared the path (add, replace, copy, move), when it is one: with
   * `otherOpsFirst`, an earlier hard set of the same path is superseded by it.
   */
  setter?: JSONPatchOp;
}

const under = (path: string | undefined, parent: string): boolean => path !== undefined && path.startsWith(`${parent}/`);

/**
 * Rewrites `ops` (written before `path` was cleared) to apply after it:
 * - ops inside the cleared value are dropped (what they edited is gone);
 * - a later write at the path itself starts a new value: it and every op after it are kept as
 *   they are (a `test` there is kept and the walk goes on);
 * - a move or copy out of the path never got the value: it is dropped, and what followed it is
 *   carried past the removal of its destination;
 * - a soft write at the path yields, and the ops under it then address the surviving value;
 * - with `otherOpsFirst` (the ops being rewritten came first) a hard set of the same path is
 *   superseded by the setter: dropped, and its dependants die with it, unless a later move or
 *   copy in the same list takes the superseded value elsewhere, where it still lands (composed
 *   into a set at the destination, with the edits made to it in between re-rooted there).
 */
export function clearPath(frame: Frame, path: string, ops: readonly JSONPatchOp[], options: ClearOptions = {}): JSONPatchOp[] {
  const { inPlace = false, merge, setter } = options;
  const softened = new Set<string>();
  const setterWins = frame.otherOpsFirst && setter !== undefined && isHardSet(setter, path);
  const composable = setterWins && !isIndexPath(path);
  let superseded: JSONPatchOp | undefined;
  let owedRemove: JSONPatchOp | undefined;
  let trailing: JSONPatchOp[] = [];

  // By value, a literal set composes; by reference, a copy/move only when its source is apart from the path.
  const composes = (op: JSONPatchOp): boolean =>
    op.op === 'add' ||
    op.op === 'replace' ||
    ((op.op === 'copy' || op.op === 'move') && !!op.from && !under(op.from, path) && !under(path, op.from));
  const touchesSource = (op: JSONPatchOp): boolean => {
    const src = superseded?.from;
    if (!src) return false;
    return [op.path, op.from].some((p) => p !== undefined && p !== '' && (p === src || under(p, src) || under(src, p)));
  };
  const forget = (): JSONPatchOp | undefined => {
    superseded = undefined;
    trailing = [];
    const owed = owedRemove;
    owedRemove = undefined;
    return owed;
  };
  const reroot = (op: JSONPatchOp, dest: string): JSONPatchOp => {
    const out = { ...op };
    if (under(out.path, path)) out.path = dest + out.path.slice(path.length);
    if (under(out.from, path)) out.from = dest + (out.from as string).slice(path.length);
    return out;
  };

  const kept = mapOps(ops, (op, index, stop) => {
    const like = likeOf(op);
    const merges = merge !== undefined && merge.name === op.op;
    const escapes = !inPlace && op.from === path && (like === 'move' || like === 'copy');
    let flushed: JSONPatchOp | undefined;
    if (superseded && !escapes && touchesSource(op)) flushed = forget();
    const emit = (value: Mapped): Mapped => {
      if (!flushed) return value;
      if (value == null) return flushed;
      return Array.isArray(value) ? [flushed, ...value] : [flushed, value];
    };

    if (op.path === path && like !== 'remove' && !merges && !op.soft) {
      if (setterWins && isHardSet(op, path)) {
        const prior = forget();
        if (composable && composes(op)) {
          superseded = op;
          if (op.op === 'move') owedRemove = { op: 'remove', path: op.from as string };
          return emit(prior ?? null);
        }
        const residual: JSONPatchOp | null = like === 'move' ? { op: 'remove', path: op.from as string } : null;
        return emit(prior ? (residual ? [prior, residual] : prior) : residual);
      }
      if (op.op !== 'test') stop(true);
      if (superseded) flushed = forget() ?? flushed;
      return emit(op);
    }

    if (op.path === path && merges) {
      const merged = merge.with(op);
      if (merged) return emit(merged);
    }

    if (!inPlace && op.from === path) {
      if (superseded && (like === 'move' || like === 'copy')) {
        let composed: JSONPatchOp | undefined;
        if (superseded.op === 'add' || superseded.op === 'replace') {
          composed = { op: 'add', path: op.path, value: superseded.value };
        } else if (superseded.op === 'copy' || superseded.op === 'move') {
          const name = superseded.op === 'move' && like === 'move' && owedRemove ? 'move' : 'copy';
          composed = { op: name, from: superseded.from, path: op.path };
        }
        const entangled = composed?.from !== undefined && (under(composed.path, composed.from) || under(composed.from, composed.path));
        if (composed && !entangled) {
          const result: JSONPatchOp[] = [];
          if (composed.from === composed.path) owedRemove = undefined;
          else result.push(composed);
          result.push(...trailing.map((t) => reroot(t, op.path)));
          if (like === 'move') {
            if (superseded.op === 'move') owedRemove = undefined;
            const owed = forget();
            if (owed) result.push(owed);
          }
          return emit(result);
        }
      }
      if (like === 'move') {
        stop();
        return emit(removePath(frame, op.path, ops.slice(index + 1)));
      }
      if (like === 'copy') {
        stop();
        return emit(removePath(frame, op.path, removePath(frame, path, ops.slice(index + 1))));
      }
    }

    if (op.soft && op.path === path) {
      softened.add(op.path);
      return emit(null);
    }

    const hard = !softened.has(path);
    const hitsPath = (!inPlace && op.path === path) || (hard && under(op.path, path));
    const hitsFrom = (!inPlace && op.from === path) || (hard && under(op.from, path));
    if (hitsPath || hitsFrom) {
      if (superseded) {
        if (op.path === path && like === 'remove') return emit(forget() ?? null);
        if (under(op.path, path) && (op.from === undefined || under(op.from, path))) {
          trailing.push(op);
          return emit(null);
        }
        return emit(forget() ?? null);
      }
      return emit(null);
    }
    return emit(op);
  });
  return owedRemove ? [...kept, owedRemove] : kept;
}

/**
 * `ops` after the value at `path` was removed: an array element shifts what follows it down, a
 * key clears its path (see `clearPath`). `isRemove`: a real `remove` (moves and copies of the
 * removed element are then dropped, their dependants carried past).
 */
export function removePath(frame: Frame, path: string, ops: readonly JSONPatchOp[], isRemove = false): JSONPatchOp[] {
  if (isIndexPath(path)) return shiftIndexes(frame, path, ops, -1, isRemove);
  return clearPath(frame, path, ops);
}
