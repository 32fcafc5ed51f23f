/**
 * Joins transformed primitives back into JSON Patch ops (the inverse of `decompose`).
 */
import type { JSONPatchOp } from '../../types.js';
import { isAttach, isStashPath, type Prim } from './prims.js';

/** The op for a single (non-half) primitive; an untouched one is its source op, same object. */
function emit(p: Prim): JSONPatchOp {
  if (p.pristine && p.src) return p.src;
  const op: JSONPatchOp = p.src ? { ...p.src, op: p.name, path: p.path } : { op: p.name, path: p.path };
  delete op.from;
  if (p.hasValue) op.value = p.value;
  else delete op.value;
  return op;
}

/** What an attach whose value is gone still does: a write at a key cleared what was there. */
function orphanAttach(p: Prim): JSONPatchOp[] {
  return p.kind === 'set' ? [{ op: 'remove', path: p.path }] : [];
}

/**
 * Rebuilds ops from primitives. A detach/clone followed by its attach is a move/copy again (one
 * that now goes nowhere is dropped); a detach that lost its attach still took its value away
 * (`remove`); a clone without its attach did nothing; an attach without its detach/clone is
 * what is left of an overwrite. Primitives left inside a stash address a value that no longer
 * exists anywhere and are dropped.
 */
export function recompose(prims: readonly Prim[]): JSONPatchOp[] {
  const out: JSONPatchOp[] = [];
  for (let i = 0; i < prims.length; i++) {
    const p = prims[i];
    if (p.kind === 'detach' || p.kind === 'clone') {
      const next = prims[i + 1];
      const paired = next !== undefined && next.stash === p.stash && isAttach(next);
      if (paired) i++;
      if (isStashPath(p.path)) {
        if (paired && !isStashPath(next.path)) out.push(...orphanAttach(next));
        continue;
      }
      if (!paired || isStashPath(next.path)) {
        if (p.kind === 'detach') out.push({ op: 'remove', path: p.path });
        continue;
      }
      if (p.pristine && next.pristine && p.src !== undefined && p.src === next.src) {
        out.push(p.src);
        continue;
      }
      if (p.path !== next.path || (p.kind === 'clone' && next.kind !== 'set')) {
        const op: JSONPatchOp = { ...(p.src ?? next.src), op: p.name, from: p.path, path: next.path };
        delete op.value;
        out.push(op);
      } // else: moved or copied onto itself, a no-op
      for (const again of next.redo ?? []) out.push(emit({ ...again, path: next.path, pristine: false }));
      continue;
    }
    if (isStashPath(p.path)) continue;
    if (isAttach(p)) {
      out.push(...orphanAttach(p));
      for (const again of p.redo ?? []) out.push(emit({ ...again, path: p.path, pristine: false }));
      continue;
    }
    out.push(emit(p));
  }
  return out;
}
