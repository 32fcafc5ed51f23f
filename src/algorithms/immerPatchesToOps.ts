import type { Patch } from 'immer';
import { PatchError } from '../errors.js';
import type { JSONPatchOp } from '../types.js';
import { joinPointer } from './jsonPointer.js';
import { applyOp } from './ops/applyOp.js';
import { arrayIndex, childOf, isContainer, PatchDraft } from './ops/PatchDraft.js';

/**
 * Converts the patches of immer's `produceWithPatches` into JSON Patch ops for a Change.
 *
 * immer describes edits with path arrays and a few JavaScript-isms that JSON Patch has no words
 * for; this turns them into ops that mean the same thing on the wire:
 * - path arrays become escaped JSON Pointers (`['a/b', 0]` → `'/a~1b/0'`); op order is kept;
 * - an `add` at an array index equal to the array's current length becomes `add …/-` (same
 *   effect, and an append is cheaper to transform than an insert);
 * - a `replace` of an array's `length` (truncation) becomes one `remove` per dropped element,
 *   last first (growth appends `null`s);
 * - `undefined` values, which JSON cannot carry, become `null` in arrays (as `JSON.stringify`
 *   writes holes) and a `remove` of an object key (what the key becomes once serialised).
 *
 * Knowing what an index or a `length` refers to takes the document, so the base state is
 * required: the patches are replayed on it as they are converted (copy-on-write, the base
 * is not touched). Documents are JSON: Map and Set patches are not supported.
 *
 * Callers must have called immer's `enablePatches()` once, or `produceWithPatches` throws.
 *
 * ## Example
 * ```ts
 * enablePatches();
 * const base = { todos: ['a'] };
 * const [, patches] = produceWithPatches(base, (draft) => { draft.todos.push('b'); });
 * immerPatchesToOps(patches, base); // [{ op: 'add', path: '/todos/-', value: 'b' }]
 * ```
 *
 * @param patches The patches, in the order immer produced them.
 * @param baseState The state `produceWithPatches` was given (the patches apply to it).
 * @return The equivalent ops; `applyPatch(baseState, ops)` deep-equals immer's next state.
 * @throws PatchError (op index = index of the immer patch) when a patch does not apply to
 *   `baseState`, names a forbidden key, or is not add/remove/replace.
 */
export function immerPatchesToOps(patches: readonly Patch[], baseState: unknown): JSONPatchOp[] {
  const draft = new PatchDraft(baseState);
  const ops: JSONPatchOp[] = [];
  patches.forEach((patch, index) => {
    // Shown in errors only: the real pointer may be the thing that cannot be built.
    const shownPath = patch.path.map((segment) => '/' + String(segment)).join('');
    try {
      const pointer = joinPointer(patch.path);
      for (const op of convertPatch(draft, patch, pointer)) {
        applyOp(draft, op);
        ops.push(op);
      }
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new PatchError(`immer patch cannot be converted: ${message}`, index, shownPath);
    }
  });
  return ops;
}

function convertPatch(draft: PatchDraft, patch: Patch, pointer: string): JSONPatchOp[] {
  const { op, path } = patch;
  if (op === 'remove') return [{ op: 'remove', path: pointer }];
  if (op !== 'add' && op !== 'replace') throw new TypeError(`unsupported immer op "${String(op)}"`);

  const parent = path.length === 0 ? undefined : parentOf(draft, path);
  const last = path[path.length - 1];
  const parentPointer = joinPointer(path.slice(0, -1));

  if (Array.isArray(parent) && last === 'length' && op === 'replace') {
    return resizeOps(parentPointer, parent.length, patch.value);
  }
  if (patch.value === undefined && !Array.isArray(parent) && path.length > 0) {
    const exists = parent !== undefined && childOf(parent, String(last)).found;
    return exists ? [{ op: 'remove', path: pointer }] : [];
  }
  const value: unknown = patch.value === undefined ? null : patch.value;
  if (op === 'add' && Array.isArray(parent) && indexOf(last) === parent.length) {
    return [{ op: 'add', path: `${parentPointer}/-`, value }];
  }
  return [{ op, path: pointer, value }];
}

/** The container the patch writes into, as the previous patches left it. */
function parentOf(draft: PatchDraft, path: readonly (string | number)[]): unknown[] | Record<string, unknown> | undefined {
  const lookup = draft.get(path.slice(0, -1).map(String));
  return lookup.found && isContainer(lookup.value) ? lookup.value : undefined;
}

function indexOf(segment: string | number): number | undefined {
  return typeof segment === 'number' ? segment : arrayIndex(segment);
}

function resizeOps(arrayPointer: string, length: number, newLength: unknown): JSONPatchOp[] {
  if (typeof newLength !== 'number' || !Number.isSafeInteger(newLength) || newLength < 0) {
    throw new TypeError(`invalid array length ${String(newLength)}`);
  }
  const ops: JSONPatchOp[] = [];
  // Last element first: each remove keeps the indexes of the ones still to go.
  for (let i = length - 1; i >= newLength; i--) ops.push({ op: 'remove', path: `${arrayPointer}/${i}` });
  for (let i = length; i < newLength; i++) ops.push({ op: 'add', path: `${arrayPointer}/-`, value: null });
  return ops;
}
