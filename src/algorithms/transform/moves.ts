/**
 * Rules for the halves of move and copy (see prims.ts): what the other side's ops become after a
 * value was detached (moved away), cloned (copied) or attached (landed at its destination).
 */
import { childIndex, isAncestorOrSelf, isIndexPath, isStrictAncestor, lastIndex, parentOf, reroot, withIndex } from './paths.js';
import { changed, dropped, moved, removal, type Prim } from './prims.js';

/** True for a primitive that names an array position rather than a value. */
function isPosition(p: Prim): boolean {
  return p.kind === 'insert' || p.kind === 'append';
}

/** True for a write that destroys whatever was inside its path. */
function overwrites(p: Prim): boolean {
  return p.kind === 'remove' || p.kind === 'inplace' || (p.kind === 'set' && !p.soft);
}

/**
 * `y` after `x` detached the value at `F` into its stash (a move's first half).
 *
 * Everything addressing the value follows it: ops at or under `F` are re-rooted into the stash
 * and come out at the move's destination (a `remove F` becomes a removal of the moved value, a
 * `replace F` replaces it where it went). An insert at `F`'s index is a position, not the value,
 * and stays. Two moves of one value: the later one moves it on from where the earlier one put it;
 * the earlier one, seen from the later, does nothing. Removing or overwriting a container of `F`
 * also takes the moved value with it, so the move cannot resurrect what the other side deleted.
 * A test of the moved value (or of a container it left) is dropped: where it lands, other
 * redirected ops may already have changed it.
 */
export function overDetach(x: Prim, y: Prim, xFirst: boolean): Prim[] {
  const from = x.path;
  const stash = x.stash as string;
  if (y.kind === 'test' && (isAncestorOrSelf(y.path, from) || isAncestorOrSelf(from, y.path))) return [];
  if (isStrictAncestor(y.path, from) && !isPosition(y)) return overwrites(y) ? [y, removal(stash)] : [y];
  if (y.path === from) {
    if (isPosition(y)) return [y];
    if (y.kind === 'detach' && !xFirst) return [];
    return [moved(y, stash)];
  }
  if (isStrictAncestor(from, y.path)) return [moved(y, reroot(y.path, from, stash))];
  if (!isIndexPath(from)) return [y];
  const array = parentOf(from);
  const at = lastIndex(from);
  const c = childIndex(array, y.path);
  if (!c || c.index === undefined || c.index <= at) return [y];
  return [moved(y, withIndex(y.path, array, c.index - 1, c.end))];
}

/**
 * `y` after `x` cloned the value at `F` (a copy's first half). The copy takes part in what
 * happens to its source: a concurrent write at or under `F` is done to the copy as well (in the
 * stash, so it lands wherever the copy lands), a move out of `F` takes the moved part out of the
 * copy too, and a removal or overwrite of `F` or a container of it removes the copy. That keeps
 * both frames equal whichever side wrote first. A move or copy INTO the source cannot be
 * duplicated (its value exists once), so it cancels the copy.
 */
export function overClone(x: Prim, y: Prim): Prim[] {
  const from = x.path;
  const stash = x.stash as string;
  if (y.kind === 'test' || y.kind === 'clone' || y.kind === 'opaque') return [y];
  if (y.kind === 'detach') {
    // Moving the source itself (or a container of it) takes the copy's source along; moving
    // something out of the source takes it out of the copy as well (emitted first, so the
    // detach stays next to its attach).
    return isStrictAncestor(from, y.path) ? [removal(reroot(y.path, from, stash)), y] : [y];
  }
  if (isStrictAncestor(y.path, from) && !isPosition(y)) {
    return overwrites(y) || y.stash !== undefined ? [y, removal(stash)] : [y];
  }
  if (!isAncestorOrSelf(from, y.path) || (y.path === from && isPosition(y))) return [y];
  if (y.stash !== undefined) return [y, removal(stash)];
  return [y, changed(y, { path: reroot(y.path, from, stash), derived: true })];
}

/**
 * `y`, which addresses the content of `x`'s stash, after `x` attached that content at its
 * destination: it is re-rooted there. An append's index is unknown without the document, so
 * ops that followed a value appended with `/-` are dropped (protocol §4.5 warns about `-`).
 */
export function overAttachedContent(x: Prim, y: Prim): Prim[] {
  if (x.kind === 'append') return dropped(y);
  return [moved(y, reroot(y.path, x.stash as string, x.path))];
}
