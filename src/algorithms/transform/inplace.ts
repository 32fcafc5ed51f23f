/**
 * Rules for in-place ops (`@inc`, `@bit`, `@max`, `@min`, `@txt`): they update a value where it
 * is, so they meet other writes only at the same path.
 */
import { applyPatch } from '../applyPatch.js';
import { toDeltaOps, transformDelta } from '../textDelta.js';
import { isAncestorOrSelf, isIndexPath } from './paths.js';
import { changed, dropped, isStashPath, synth, type Prim } from './prims.js';

/**
 * `y` rewritten to apply after the in-place op `x`. `xFirst`: x is the earlier writer.
 *
 * - Ops inside the value are dropped (a counter or text has no children to address).
 * - A later set or remove simply applies on top. An earlier literal set (or removal) is turned
 *   into a set of the value x would have produced on top of it, so both frames land on "set,
 *   then increment" whichever side saw which first. An earlier move or copy into the path
 *   carries a value the transform cannot see, so x is re-done after it (`Prim.redo`).
 * - Two in-place ops of one kind combine (see `combine`); of different kinds they are kept as is.
 * - A move or copy of the value takes the updated value along.
 */
export function overInplace(x: Prim, y: Prim, xFirst: boolean): Prim[] {
  const at = x.path;
  if (y.kind === 'test' && isAncestorOrSelf(y.path, at)) return [];
  if (!isAncestorOrSelf(at, y.path)) return [y];
  if (y.path !== at) return dropped(y);
  switch (y.kind) {
    case 'set':
      if (xFirst) return [y];
      if (y.soft) return dropped(y);
      if (y.hasValue) return composed(x, y, y.value, y);
      return [changed(y, { redo: [...(y.redo ?? []), changed(x, {})] })]; // a move/copy into the path
    case 'remove':
      if (xFirst || isStashPath(at)) return [y];
      return composed(x, synth('set', 'replace', at, null), isIndexPath(at) ? null : undefined, y);
    case 'inplace':
      return combine(x, y, xFirst);
    default:
      return [y]; // insert/append positions, detach, clone, opaque
  }
}

/**
 * `set` (the earlier write, or a re-creation) rewritten to write what the in-place op `x` makes
 * of `base` (`undefined`: a missing value); `fallback` when x cannot apply to it.
 */
function composed(x: Prim, set: Prim, base: unknown, fallback: Prim): Prim[] {
  try {
    const start = base === undefined ? {} : { v: base };
    const result = applyPatch<{ v?: unknown }>(start, [{ op: x.name, path: '/v', value: x.value }], { mode: 'strict' });
    return [changed(set, { value: result.v, hasValue: true })];
  } catch {
    return [fallback];
  }
}

/**
 * Two in-place ops of the same kind at one path. `@inc`, `@max`, `@min` commute. `@bit` commutes
 * except on a bit one side sets and the other clears: the later writer's choice wins there, so an
 * earlier mask loses those bits. `@txt` deltas are transformed (Quill's OT), the earlier writer's
 * inserts first on a tie.
 */
export function combine(x: Prim, y: Prim, xFirst: boolean): Prim[] {
  if (x.name !== y.name) return [y];
  if (y.name === '@txt') {
    const theirs = toDeltaOps(x.value);
    const mine = toDeltaOps(y.value);
    if (!mine) return []; // not a delta: it could never apply
    if (!theirs) return [y];
    return [changed(y, { value: transformDelta(theirs, mine, xFirst) })];
  }
  if (y.name === '@bit' && !xFirst && typeof x.value === 'number' && typeof y.value === 'number') {
    const xOn = x.value & 0x7fff;
    const xOff = (x.value >>> 15) & 0x7fff;
    const on = y.value & 0x7fff & ~xOff;
    const off = ((y.value >>> 15) & 0x7fff) & ~xOn;
    const mask = on | (off << 15);
    if (mask === y.value) return [y];
    return mask === 0 ? [] : [changed(y, { value: mask })];
  }
  return [y];
}

