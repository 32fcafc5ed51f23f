/**
 * The pair rule: one primitive of the other side rewritten to apply after one primitive of this
 * side. `transformPatch` lifts it to op lists. Every rule is written for both orders (`xFirst`),
 * so the two halves of the OT diamond agree (see transformPatch.ts).
 */
import { overInplace } from './inplace.js';
import { overAttachedContent, overClone, overDetach } from './moves.js';
import { childIndex, isAncestorOrSelf, isAppendPath, isIndexPath, isStrictAncestor, lastIndex, parentOf, withIndex } from './paths.js';
import { changed, dropped, isAttach, isStashPath, moved, removal, synth, type Prim } from './prims.js';

/** The location whose changes can affect others: the array for an index or append, else the path. */
function region(path: string): string {
  return isIndexPath(path) || isAppendPath(path) ? parentOf(path) : path;
}

/** Cheap pre-check: false when neither primitive can change the other. */
export function related(x: Prim, y: Prim): boolean {
  if (x.stash !== undefined && isAncestorOrSelf(x.stash, y.path)) return true;
  if (y.stash !== undefined && isAncestorOrSelf(y.stash, x.path)) return true;
  return isAncestorOrSelf(region(x.path), y.path) || isAncestorOrSelf(region(y.path), x.path);
}

/** True for a set or removal that replaces whatever was at `p.path`. */
function replacesValue(p: Prim): boolean {
  return p.kind === 'remove' || (p.kind === 'set' && !p.soft);
}

/** True when the value at `path` contains what `p` writes (an insert at `path` itself does not). */
function covers(path: string, p: Prim): boolean {
  return isStrictAncestor(path, p.path) || (p.path === path && p.kind !== 'insert' && p.kind !== 'append');
}

/** `y` rewritten to apply after `x`. `xFirst`: x is the earlier writer (y wins conflicts). */
export function over(x: Prim, y: Prim, xFirst: boolean): Prim[] {
  // An edit duplicated onto a copy dies with the copy's value (see Prim.derived).
  if (y.derived && y.kind !== 'remove' && replacesValue(x) && covers(x.path, y)) return [];
  if (x.derived && x.kind !== 'remove' && replacesValue(y) && covers(y.path, x)) return [y];
  if (isAttach(x)) {
    if (isAncestorOrSelf(x.stash as string, y.path)) return overAttachedContent(x, y);
    // A value moved or copied into the source of a copy cannot be copied twice: the copy is cancelled.
    if (y.kind === 'clone' && (isStrictAncestor(y.path, x.path) || (y.path === x.path && x.kind === 'set'))) return [];
  }
  if (isAttach(y) && x.path === y.stash) {
    // The value this attach was carrying is gone: what is left is the overwrite of its destination.
    const left = y.kind === 'set' ? [removal(y.path)] : [];
    if (x.kind === 'remove') return left;
    // Taken by the other side's move: the ops it re-does go with the value.
    if (x.kind === 'detach') return [...left, ...(y.redo ?? []).map((op) => moved(op, x.stash as string))];
    // Replaced in the stash by a later write of the side whose in-place ops it re-does: those
    // ops came before that write, which overwrote them.
    if (x.kind === 'set' && !x.soft && y.redo !== undefined) return [changed(y, { redo: undefined })];
  }
  switch (x.kind) {
    case 'insert':
      return overInsert(x, y, xFirst);
    case 'append':
      return y.kind === 'test' && isAncestorOrSelf(y.path, parentOf(x.path)) ? [] : [y];
    case 'remove':
      return isIndexPath(x.path) ? overRemoveIndex(x, y, xFirst) : overRemoveKey(x, y, xFirst);
    case 'set':
      return x.soft ? overSoftSet(x, y) : overSet(x, y, xFirst);
    case 'inplace':
      return overInplace(x, y, xFirst);
    case 'detach':
      return overDetach(x, y, xFirst);
    case 'clone':
      return overClone(x, y);
    default:
      return [y]; // test, opaque
  }
}

/**
 * After an insert at `a/i`: indexes at or above `i` shift up, sub-paths included. Two inserts at
 * the same index: the later writer's element lands first (it keeps `i`, the earlier moves up). A
 * soft insert at that index merges with the other side's element: dropped if the other is hard
 * (which then replaces it in the soft side's frame), both dropped if both are soft.
 */
function overInsert(x: Prim, y: Prim, xFirst: boolean): Prim[] {
  const array = parentOf(x.path);
  const at = lastIndex(x.path);
  if (y.kind === 'test' && isAncestorOrSelf(y.path, array)) return [];
  const c = childIndex(array, y.path);
  if (!c || c.index === undefined || c.index < at) return [y];
  const up = (): Prim[] => [moved(y, withIndex(y.path, array, c.index! + 1, c.end))];
  if (!c.exact || y.kind !== 'insert' || c.index > at) return up();
  const literals = x.stash === undefined && y.stash === undefined;
  if (literals && y.soft) return [];
  if (literals && x.soft) return [changed(y, { kind: 'set', name: 'replace', soft: false })];
  return xFirst ? [y] : up();
}

/**
 * After a removal at `a/i`: higher indexes shift down; ops inside the removed element are
 * dropped. At `a/i` itself: an insert still inserts there; a hard `replace` re-inserts its value
 * (a write beats a concurrent removal); a later in-place op re-creates the element (`add a/i null`
 * then the op) while an earlier one is simply lost; anything else goes with the element.
 */
function overRemoveIndex(x: Prim, y: Prim, xFirst: boolean): Prim[] {
  const array = parentOf(x.path);
  const at = lastIndex(x.path);
  if (y.kind === 'test' && isAncestorOrSelf(y.path, array)) return [];
  const c = childIndex(array, y.path);
  if (!c || c.index === undefined || c.index < at) return [y];
  if (c.index > at) return [moved(y, withIndex(y.path, array, c.index - 1, c.end))];
  if (!c.exact) return dropped(y);
  switch (y.kind) {
    case 'insert':
      return [y];
    case 'set':
      return y.soft ? dropped(y) : [changed(y, { kind: 'insert', name: 'add' })];
    case 'inplace':
      return xFirst ? [synth('insert', 'add', y.path, null), y] : [];
    default:
      return dropped(y);
  }
}

/**
 * After a removal at a key `P`: ops inside `P` are dropped. A hard set of `P` survives (a write
 * beats a concurrent removal, in either order, so both frames keep it); a soft one ("create if
 * missing") yields to the removal — except in a stash: a removed
 * stash means the moved value was destroyed, and a write that followed it there dies with it. A later in-place op re-creates
 * the value from nothing; an earlier one is lost with it. A second removal is redundant.
 */
function overRemoveKey(x: Prim, y: Prim, xFirst: boolean): Prim[] {
  const at = x.path;
  if (y.kind === 'test' && isStrictAncestor(y.path, at)) return [];
  if (!isAncestorOrSelf(at, y.path)) return [y];
  if (y.path !== at || isStashPath(at)) return dropped(y); // a removed stash is gone for good
  if (y.kind === 'set') return y.soft ? dropped(y) : [y];
  if (y.kind === 'inplace') return xFirst ? [y] : [];
  return dropped(y);
}

/**
 * After a hard set at `P` (add/replace/copy/move-in at a key, or `replace` of an element): ops
 * inside the old value are dropped, and so are removals of `P`. Two sets of `P`: the later writer
 * wins, so an earlier one is dropped (a move-in that loses still took its source away). A soft
 * set of `P` is dropped: the path exists. An in-place op survives only if it came later. A move
 * of `P` takes whatever is there; a copy of `P` does too (a copy of a moved-in value cannot be
 * made twice, see `over`). An insert at the same index is a position and is not affected.
 */
function overSet(x: Prim, y: Prim, xFirst: boolean): Prim[] {
  const at = x.path;
  if (y.kind === 'test' && isAncestorOrSelf(y.path, at)) return [];
  if (!isAncestorOrSelf(at, y.path)) return [y];
  if (y.path !== at) return dropped(y);
  switch (y.kind) {
    case 'insert':
    case 'append':
    case 'detach':
    case 'clone':
      return [y];
    case 'set':
      return !y.soft && xFirst ? [y] : dropped(y);
    case 'inplace':
    case 'opaque':
      return xFirst ? [y] : [];
    case 'remove':
      return isStashPath(at) ? [y] : [];
    default:
      return []; // test
  }
}

/**
 * After a soft set at `P` (which did nothing if `P` existed): nothing it could have overwritten
 * is touched. A concurrent soft write of `P` merges with it and is dropped; for the implicit soft
 * `add` of an empty container only another empty container of the same kind merges (protocol
 * §2.4: two "create this map" ops become one, the ops under it all survive).
 */
function overSoftSet(x: Prim, y: Prim): Prim[] {
  if (y.kind === 'test' && isStrictAncestor(y.path, x.path)) return [];
  if (y.path !== x.path || y.kind !== 'set' || !y.soft) return [y];
  if (x.emptyKind !== undefined && x.src?.soft !== true) return y.emptyKind === x.emptyKind ? dropped(y) : [y];
  return dropped(y);
}
