import type { Patch } from 'immer';
import type { JSONPatchOp } from '../../types.js';
import { isContainer } from '../ops/PatchDraft.js';

/**
 * Whether immer's patches may have left out an edit: some `add` or `replace` writes a container
 * that holds another container (at any depth, so one level is enough to look at).
 *
 * Why: immer 11 (seen in 11.2.10) finalizes a draft it finds inside a new array or object (`d.archive =
 * d.items.filter(i => i.done)`, `d.selected = [d.items[0]]`, `d.selected = { item: d.items[0] }`)
 * without generating the patches of that draft's own edits, so an edit made to such an item in
 * the same recipe (`d.items[0].title = 'B'`) is in its next state, at both places, but its
 * patches carry it only inside the new container. Such a draft is always a container inside the
 * value of a patch, never the value itself (a draft assigned as it is, `d.x = d.items[0]`, gets
 * its patches), so a change whose written values hold no container inside them cannot lose one,
 * and the recorder replays and checks the others only (`PatchesDoc.record`). Costs one look at each written
 * container's entries, up to the first container among them.
 *
 * @example
 * mayHideEdits([{ op: 'replace', path: ['archive'], value: [{ title: 'B' }] }]); // true
 * mayHideEdits([{ op: 'replace', path: ['title'], value: 'B' }]);                 // false
 */
export function mayHideEdits(patches: readonly Patch[]): boolean {
  for (const patch of patches) {
    if (patch.op === 'remove' || !isContainer(patch.value)) continue;
    const value = patch.value as Record<string, unknown> | unknown[];
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) if (isContainer(value[i])) return true;
    } else {
      for (const key in value) if (isContainer(value[key])) return true;
    }
  }
  return false;
}

/**
 * `ops` with each `@txt` op of `textOps` put back as the plain write it was recorded from, so the
 * ops can be replayed without the rich-text engine (the state they give is the same:
 * `textEditOps`' contract). `textOps` maps an `@txt` op to that write. Returns `ops` itself when
 * it holds none.
 */
export function withoutTextOps(ops: readonly JSONPatchOp[], textOps: ReadonlyMap<JSONPatchOp, JSONPatchOp>): readonly JSONPatchOp[] {
  if (textOps.size === 0) return ops;
  return ops.map((op) => textOps.get(op) ?? op);
}
