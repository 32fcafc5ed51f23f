import type { Patch } from 'immer';
import { PatchError } from '../../errors.js';
import type { JSONPatchOp } from '../../types.js';
import { appendsAtEnd } from './appendsAtEnd.js';
import { arrayMoves, movesAcrossArrays } from './arrayMoves.js';
import { deepEqual } from '../deepEqual.js';
import { diffArrayOps, diffValue } from './diffValue.js';
import { joinPointer } from '../jsonPointer.js';
import { applyOp } from '../ops/applyOp.js';
import { DeferredWrites } from '../ops/DeferredWrites.js';
import { arrayIndex, childOf, isContainer, PatchDraft } from '../ops/PatchDraft.js';

type Segment = string | number;

/** One immer patch on its way through: `path` may be re-rooted; `index` and `patch` are for errors. */
interface Entry {
  readonly patch: Patch;
  readonly path: readonly Segment[];
  readonly index: number;
}

/** An array whose patches are rewritten as a diff, with every patch at or below its elements. */
interface ArrayEdit {
  readonly path: readonly Segment[];
  readonly entries: Entry[];
}

/**
 * Converts the patches of immer's `produceWithPatches` into JSON Patch ops for a Change.
 *
 * immer describes edits with path arrays and a few JavaScript-isms that JSON Patch has no words
 * for; this turns them into ops that mean the same thing on the wire:
 * - path arrays become escaped JSON Pointers (`['a/b', 0]` → `'/a~1b/0'`); op order is kept;
 * - appends keep their concrete index (`add /list/2`) unless `options.appendsAtEnd` (for OT
 *   docs): then an append becomes `add /list/-` when nothing later in the same change addresses
 *   that array by index (`appendsAtEnd`, README decision);
 * - a `replace` of an array's `length` (truncation) becomes one `remove` per dropped element,
 *   last first (growth appends `null`s);
 * - `undefined` values, which JSON cannot carry, become `null` in arrays (as `JSON.stringify`
 *   writes holes) and a `remove` of an object key (what the key becomes once serialised).
 *
 * ## Arrays edited anywhere but at the end
 * immer records arrays by position: `unshift('a')` on `['x']` is "replace 0 with 'a', add 'x'
 * at 1", a `splice` or `shift` is a cascade of replaces plus an add or remove at the end. The
 * state is right, but OT transforms those replaces as overwrites of the elements that were
 * there, so a concurrent append ends up before 'x' and a concurrent edit of 'x' lands on 'a'.
 * So the patches of such an array (everything but appends and removals at its end) are not
 * converted one by one: the array before them is diffed against the array after them
 * (`diffArrayOps`), and an unshift travels as `add /items/0`, a `splice(i, 1)` as
 * `remove /items/i`. Elements immer kept identical are kept; an element immer edited in place
 * (it writes an element's own patches, under its index, only when the element did not move)
 * keeps those patches, re-indexed to where the element is at that point of the ops; an element
 * that moved and was edited is matched by resemblance (`diffValue`). The ops for the array are
 * emitted where its first patch was; patches elsewhere touch other paths, so the order between
 * them does not matter. An array edit too large to diff in budget falls back to the positional
 * ops. Without `options.moves` there are no moves, so a dragged element (`splice` out, `splice` or
 * `push` back in), `reverse()` or `sort()` removes and re-adds elements.
 *
 * ## Moves (`options.moves`, OT docs)
 * An object or array the recipe took out of an array and put back into it elsewhere, unmodified
 * (immer hands back the base's own object, so it is found by identity), becomes a `move` before
 * the array's other ops (`arrayMoves`); one taken out of one array and put into another, a `move`
 * between them (`movesAcrossArrays`). Concurrent edits of the element then follow it, and two
 * concurrent drags of it leave it once. An element also edited on the way is a new object: it
 * stays a `remove` and an `add` of its new value. Primitives have no identity and are not moved.
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
 * const [, patches] = produceWithPatches(base, (draft) => { draft.todos.unshift('b'); });
 * immerPatchesToOps(patches, base); // [{ op: 'add', path: '/todos/0', value: 'b' }]
 * ```
 *
 * @param patches The patches, in the order immer produced them.
 * @param baseState The state `produceWithPatches` was given (the patches apply to it).
 * @param options `appendsAtEnd`: record appends as `/-` where that is safe (see above);
 *   `moves`: record elements moved within or between arrays as `move` ops (see above).
 * @return The equivalent ops; `applyPatch(baseState, ops)` deep-equals immer's next state.
 * @throws PatchError (op index = index of the immer patch) when a patch does not apply to
 *   `baseState`, names a forbidden key, or is not add/remove/replace.
 */
export function immerPatchesToOps(patches: readonly Patch[], baseState: unknown, options: { appendsAtEnd?: boolean; moves?: boolean } = {}): JSONPatchOp[] {
  const entries = patches.map((patch, index): Entry => ({ patch, path: patch.path, index }));
  const converted = convertEntries(entries, new PatchDraft(baseState), options.moves === true, true);
  const ops = options.moves ? movesAcrossArrays(converted, baseState) : converted;
  return options.appendsAtEnd ? appendsAtEnd(ops, baseState) : ops;
}

/**
 * The common case, patches that each set or remove one value, with no array to diff: each op is
 * checked against the base as the patches before it left it, but only applied when a later patch
 * needs to read the document (a `length`, an `undefined`), so nothing is copied for nothing.
 */
function convertSimple(entries: readonly Entry[], draft: PatchDraft): JSONPatchOp[] {
  const writes = new DeferredWrites(draft);
  const ops: JSONPatchOp[] = [];
  for (const entry of entries) {
    guarded(entry, () => {
      if (entry.patch.value === undefined || entry.path[entry.path.length - 1] === 'length') writes.flush();
      for (const op of convertPatch(draft, entry.patch, entry.path)) {
        writes.add(op);
        ops.push(op);
      }
    });
  }
  return ops;
}

/**
 * Converts a sequence of patches on `draft` (which follows along), diffing the arrays that need
 * it. With `deferred` nothing reads `draft` afterwards, so when no array needs a diff its writes
 * are deferred (`convertSimple`).
 */
function convertEntries(entries: readonly Entry[], draft: PatchDraft, moves: boolean, deferred = false): JSONPatchOp[] {
  const edits = findArrayEdits(entries, draft);
  if (deferred && edits === undefined) return convertSimple(entries, draft);
  const ops: JSONPatchOp[] = [];
  entries.forEach((entry, i) => {
    const edit = edits?.[i];
    if (edit === undefined) {
      append(ops, convertEntry(draft, entry));
    } else if (edit.entries[0] === entry) {
      const arrayOps = diffEdit(draft, edit, moves);
      guarded(entry, () => arrayOps.forEach((op) => applyOp(draft, op)));
      append(ops, arrayOps);
    }
  });
  return ops;
}

/** Converts one patch and applies the result to `draft`. */
function convertEntry(draft: PatchDraft, entry: Entry): JSONPatchOp[] {
  return guarded(entry, () => {
    const ops = convertPatch(draft, entry.patch, entry.path);
    for (const op of ops) applyOp(draft, op);
    return ops;
  });
}

/** Runs `work`, reporting any failure as a PatchError that names the immer patch. */
function guarded<T>(entry: Entry, work: () => T): T {
  try {
    return work();
  } catch (error) {
    if (error instanceof PatchError) throw error;
    // Shown in errors only: the real pointer may be the thing that cannot be built.
    const shownPath = entry.patch.path.map((segment) => '/' + String(segment)).join('');
    const message = error instanceof Error ? error.message : String(error);
    throw new PatchError(`immer patch cannot be converted: ${message}`, entry.index, shownPath);
  }
}

/**
 * Finds the arrays to diff and the patches each one takes over: an array (as `draft` holds it
 * now) with a patch that is not an append or a removal at its end, unless a patch sets or
 * removes it or a container above it (then its old value is not what its patches apply to).
 * An array inside another one to diff is the outer one's business.
 *
 * @return each entry's array edit, by position in `entries`; `undefined` when there is none.
 */
function findArrayEdits(entries: readonly Entry[], draft: PatchDraft): (ArrayEdit | undefined)[] | undefined {
  // The keys of each parent path's prefixes (`parents[i][d]` names `path.slice(0, d)`), computed
  // once per run of patches under one parent: a splice of a long array is thousands of patches.
  const parents: string[][] = [];
  const arrays = new Map<string, { keys: string[]; length: number; direct: Entry[] } | null>();
  entries.forEach((entry, i) => {
    const { path } = entry;
    const previous = entries[i - 1]?.path;
    const keys = (parents[i] = previous !== undefined && sameParent(previous, path) ? parents[i - 1] : prefixKeys(path.slice(0, -1)));
    if (path.length === 0) return;
    const key = keys[keys.length - 1];
    let array = arrays.get(key);
    if (array === undefined) {
      const lookup = draft.get(path.slice(0, -1).map(String));
      arrays.set(key, (array = Array.isArray(lookup.value) ? { keys, length: lookup.value.length, direct: [] } : null));
    }
    array?.direct.push(entry);
  });
  const candidates = [...arrays].filter((pair): pair is [string, { keys: string[]; length: number; direct: Entry[] }] => pair[1] !== null && !isTailEdit(pair[1].direct, pair[1].length));
  if (candidates.length === 0) return undefined;

  // Only a patch no deeper than a candidate can set or remove it or a container above it.
  const above = new Set(candidates.flatMap(([, array]) => array.keys));
  const deepest = Math.max(...candidates.map(([, array]) => array.keys.length - 1));
  const overwritten = new Set<string>();
  entries.forEach((entry, i) => {
    if (entry.path.length > deepest) return;
    const key = entry.path.length === 0 ? '' : parents[i][entry.path.length - 1] + segmentKey(entry.path[entry.path.length - 1]);
    if (above.has(key)) overwritten.add(key);
  });
  const rewritten = new Set(candidates.filter(([, array]) => !array.keys.some((key) => overwritten.has(key))).map(([key]) => key));
  if (rewritten.size === 0) return undefined;

  const byArray = new Map<string, ArrayEdit>();
  return entries.map((entry, i) => {
    for (let depth = 0; depth < entry.path.length; depth++) {
      const key = parents[i][depth];
      if (!rewritten.has(key)) continue;
      let edit = byArray.get(key);
      if (edit === undefined) byArray.set(key, (edit = { path: entry.path.slice(0, depth), entries: [] }));
      edit.entries.push(entry);
      return edit;
    }
    return undefined;
  });
}

/** Whether two paths have the same parent (as immer writes them, a run of patches on one array does). */
export function sameParent(a: readonly Segment[], b: readonly Segment[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length - 1; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Whether an array's own patches only append at, or remove from, its end (those stay as they are). */
function isTailEdit(direct: readonly Entry[], length: number): boolean {
  let current = length;
  for (const { patch, path } of direct) {
    const last = path[path.length - 1];
    if (last === 'length' && patch.op === 'replace') {
      // An invalid length is reported by the one-by-one conversion.
      if (typeof patch.value !== 'number') return true;
      current = patch.value;
      continue;
    }
    const index = indexOf(last);
    if (patch.op === 'add' && index === current) current++;
    else if (patch.op === 'remove' && index === current - 1) current--;
    else return false;
  }
  return true;
}

/**
 * The ops for one array edit: its patches are replayed on a fork to learn the new array, which
 * is then diffed against the old one. Elements immer edited in place keep immer's own patches.
 * The fork's ops, the one-by-one conversion, are the answer when the diff is over budget.
 */
function diffEdit(draft: PatchDraft, edit: ArrayEdit, moves: boolean): JSONPatchOp[] {
  const keys = edit.path.map(String);
  const oldList = draft.get(keys).value as unknown[];
  /** The one-by-one conversion, replayed on a fork: the answer when there is nothing to diff. */
  const oneByOne = () => {
    const fork = draft.fork();
    const positional: JSONPatchOp[] = [];
    for (const entry of edit.entries) append(positional, convertEntry(fork, entry));
    return { positional, newList: fork.get(keys).value };
  };
  // A splice, shift or unshift of a long array is thousands of patches: replay them on the array
  // alone, and convert them one by one (with their checks and errors) only when that is the answer.
  const replayed = replayDirect(oldList, edit);
  const converted = replayed === undefined ? oneByOne() : undefined;
  const newList = replayed ?? converted?.newList;
  if (!Array.isArray(newList)) return converted!.positional;

  const edited = editedInPlace(edit, oldList);
  const pointer = guarded(edit.entries[0], () => joinPointer(edit.path));
  const sameElement = (i: number, j: number): boolean => edited.get(i)?.at === j;
  const editElement = (i: number, j: number, elementPointer: string): JSONPatchOp[] => {
    const element = edited.get(i);
    if (element !== undefined && element.at === j) {
      const elementDraft = new PatchDraft(oldList[i]);
      const ops = convertEntries(element.entries, elementDraft, moves);
      // Trusted only when they do produce the element (they always do in immer's patch order).
      // A move inside the element (a reorder of one of its arrays) names its source in it too.
      if (deepEqual(elementDraft.root, newList[j])) return ops.map((op) => (op.from === undefined ? { ...op, path: elementPointer + op.path } : { ...op, path: elementPointer + op.path, from: elementPointer + op.from }));
    }
    return diffValue(oldList[i], newList[j], elementPointer);
  };
  // With `moves` (OT docs), the elements the recipe took out and put back elsewhere move first:
  // the diff of what that leaves keeps them (`arrayMoves`). Indexes in the hooks are old ones.
  const moved = moves ? arrayMoves(oldList, newList, pointer, sameElement) : undefined;
  if (moved !== undefined) {
    const { origin } = moved;
    const rest = diffArrayOps(moved.list, newList, pointer, {
      sameElement: (k, j) => sameElement(origin[k], j),
      editElement: (k, j, elementPointer) => editElement(origin[k], j, elementPointer),
    });
    if (rest !== undefined) return [...moved.ops, ...rest];
  }
  const ops = diffArrayOps(oldList, newList, pointer, { sameElement, editElement });
  return ops ?? (converted ?? oneByOne()).positional;
}

/**
 * The array after an edit whose patches all address its elements or its length directly (what
 * `splice`, `shift`, `unshift` and `sort` produce), replayed on a copy; `undefined` for any
 * other edit, or a patch that would not apply, which the one-by-one conversion then reports.
 */
function replayDirect(oldList: readonly unknown[], edit: ArrayEdit): unknown[] | undefined {
  const depth = edit.path.length;
  const list = oldList.slice();
  for (const { patch, path } of edit.entries) {
    if (path.length !== depth + 1) return undefined;
    const segment = path[depth];
    if (segment === 'length') {
      const length = patch.value;
      if (patch.op !== 'replace' || typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0) return undefined;
      // Growth appends nulls, as `resizeOps` writes it.
      while (list.length < length) list.push(null);
      list.length = length;
      continue;
    }
    const index = indexOf(segment);
    if (index === undefined) return undefined;
    // JSON cannot hold `undefined` in an array: `convertPatch` writes it as null.
    const value = patch.value === undefined ? null : patch.value;
    if (patch.op === 'replace' && index < list.length) list[index] = value;
    else if (patch.op === 'add' && index <= list.length) list.splice(index, 0, value);
    else if (patch.op === 'remove' && index < list.length) list.splice(index, 1);
    else return undefined;
  }
  return list;
}

/**
 * The elements immer edited in place, by old index: where each one is in the new array and its
 * patches, relative to it. immer writes an element's own patches (under its index) only when
 * the element stayed at its index, and before the patches of the array itself; the array's
 * patches are then followed to see where the element ends up (an insert before it shifts it,
 * a replace or removal of it ends it). Patches in any other shape give no clue, so none is
 * taken and the diff goes by values alone.
 */
function editedInPlace(edit: ArrayEdit, oldList: readonly unknown[]): Map<number, { at: number; entries: Entry[] }> {
  const depth = edit.path.length;
  const edited = new Map<number, { at: number; entries: Entry[] }>();
  let seenDirect = false;
  for (const entry of edit.entries) {
    const { patch, path } = entry;
    const segment = path[depth];
    if (path.length > depth + 1) {
      const index = indexOf(segment);
      if (seenDirect || index === undefined || index >= oldList.length || !isContainer(oldList[index])) return new Map();
      let element = edited.get(index);
      if (element === undefined) edited.set(index, (element = { at: index, entries: [] }));
      element.entries.push({ patch, path: path.slice(depth + 1), index: entry.index });
      continue;
    }
    seenDirect = true;
    const index = indexOf(segment);
    for (const [old, element] of edited) {
      if (segment === 'length') {
        if (typeof patch.value !== 'number' || patch.value <= element.at) edited.delete(old);
      } else if (patch.op === 'add') {
        if (segment === '-') continue;
        if (index === undefined) return new Map();
        if (index <= element.at) element.at++;
      } else if (index === undefined) {
        return new Map();
      } else if (index === element.at) {
        edited.delete(old);
      } else if (patch.op === 'remove' && index < element.at) {
        element.at--;
      }
    }
  }
  return edited;
}

/** Appends in a loop: `push(...more)` would pass every op as an argument, past the engine's limit for long arrays. */
function append(ops: JSONPatchOp[], more: readonly JSONPatchOp[]): void {
  for (const op of more) ops.push(op);
}

/**
 * Map keys for every prefix of a path, the empty one first (`keys[d]` names `path.slice(0, d)`):
 * escaped as in a JSON Pointer, so `0` and `'0'` name the same child and no two paths share a key.
 */
function prefixKeys(path: readonly Segment[]): string[] {
  const keys = [''];
  let key = '';
  for (const segment of path) keys.push((key += segmentKey(segment)));
  return keys;
}

/** One segment's part of a path key: `/` and the segment, escaped. */
function segmentKey(segment: Segment): string {
  const text = String(segment);
  return '/' + (text.includes('~') || text.includes('/') ? text.replace(/~/g, '~0').replace(/\//g, '~1') : text);
}

/** The ops for one immer patch, `path` being where it applies (it may have been re-rooted). */
function convertPatch(draft: PatchDraft, patch: Patch, path: readonly Segment[]): JSONPatchOp[] {
  const { op } = patch;
  const pointer = joinPointer(path);
  if (op === 'remove') return [{ op: 'remove', path: pointer }];
  if (op !== 'add' && op !== 'replace') throw new TypeError(`unsupported immer op "${String(op)}"`);

  const parent = path.length === 0 ? undefined : parentOf(draft, path);
  const last = path[path.length - 1];

  if (Array.isArray(parent) && last === 'length' && op === 'replace') {
    return resizeOps(joinPointer(path.slice(0, -1)), parent.length, patch.value);
  }
  if (patch.value === undefined && !Array.isArray(parent) && path.length > 0) {
    const exists = parent !== undefined && childOf(parent, String(last)).found;
    return exists ? [{ op: 'remove', path: pointer }] : [];
  }
  const value: unknown = patch.value === undefined ? null : patch.value;
  return [{ op, path: pointer, value }];
}

/** The container the patch writes into, as the previous patches left it. */
function parentOf(draft: PatchDraft, path: readonly Segment[]): unknown[] | Record<string, unknown> | undefined {
  const lookup = draft.get(path.slice(0, -1).map(String));
  return lookup.found && isContainer(lookup.value) ? lookup.value : undefined;
}

function indexOf(segment: Segment): number | undefined {
  return typeof segment === 'number' ? segment : arrayIndex(segment);
}

function resizeOps(arrayPointer: string, length: number, newLength: unknown): JSONPatchOp[] {
  if (typeof newLength !== 'number' || !Number.isSafeInteger(newLength) || newLength < 0) {
    throw new TypeError(`invalid array length ${String(newLength)}`);
  }
  const ops: JSONPatchOp[] = [];
  // Last element first: each remove keeps the indexes of the ones still to go.
  for (let i = length - 1; i >= newLength; i--) ops.push({ op: 'remove', path: `${arrayPointer}/${i}` });
  for (let i = length; i < newLength; i++) ops.push({ op: 'add', path: `${arrayPointer}/${i}`, value: null });
  return ops;
}
