import type { Patch } from 'immer';
import type { JSONPatchOp } from '../../types.js';
import { joinPointer } from '../jsonPointer.js';
import { valueAt } from '../ops/PatchDraft.js';
import { diffStates } from './diffStates.js';
import { sameParent } from './immerPatchesToOps.js';

/**
 * The arrays immer's patches edit in place that end up with a hole (or an `undefined` element)
 * in immer's next state, by JSON Pointer, outermost first: their patches may not describe them.
 *
 * immer patches only the indexes a recipe assigned: after `list.length = 2; list[3] = 'x'` on
 * `['a', 'b', 'c', 'd', 'e']` its state is `['a', 'b', <hole>, 'x']`, but its patches,
 * `replace /list/3` and `remove /list/4`, bring `'c'` back on every other replica while the
 * author sees it gone. The recorder writes such an array's ops from the states instead
 * (`rediffArrays`).
 *
 * Each distinct parent of the patches is looked up once (a splice of a long list is thousands of
 * patches under one parent), and an array is scanned with `includes(undefined)`, which sees holes
 * and runs natively, so the common change pays one pass over the arrays it edits. An array no
 * patch is under is not seen (cut and refilled to its old length with its old values: immer
 * gives it no patch at all).
 *
 * @example
 * const [next, patches] = produceWithPatches(base, (d) => { d.list.length = 2; d.list[3] = 'x'; });
 * arraysWithHoles(patches, next); // ['/list']
 */
export function arraysWithHoles(patches: readonly Patch[], next: unknown): string[] {
  const scanned = new Set<unknown>();
  const found: string[] = [];
  let previous: Patch['path'] | undefined;
  for (const { path } of patches) {
    if (path.length === 0 || (previous !== undefined && sameParent(previous, path))) continue;
    previous = path;
    // A path no document may hold is left to the conversion, which reports it with its patch.
    const pointer = pointerOf(path.slice(0, -1));
    const parent = pointer === undefined ? undefined : valueAt(next, pointer);
    if (!Array.isArray(parent) || scanned.has(parent)) continue;
    scanned.add(parent);
    if (parent.includes(undefined)) found.push(pointer!);
  }
  // Outermost first (an ancestor's pointer is a prefix of its descendants'): an inner one is the outer one's.
  found.sort((a, b) => a.length - b.length);
  return found.filter((pointer, i) => !found.slice(0, i).some((outer) => isUnder(pointer, outer)));
}

/**
 * `ops` with the ops of each array in `pointers` written from the states instead: removed, and
 * the diff of the array's old value against its JSON form in `next` put where the first of them
 * was. The ops elsewhere stay as immer's patches made them (an OT append stays `/-`). An op that
 * writes one of those arrays' containers (then the pointer may not name the same array before and
 * after) makes the whole document the diff instead.
 *
 * @param ops The change's ops, as converted from immer's patches.
 * @param pointers The arrays to write from the states (`arraysWithHoles`).
 * @param base The state the change applies to.
 * @param next immer's next state.
 * @example
 * rediffArrays([{ op: 'replace', path: '/list/1', value: 'x' }], ['/list'], { list: ['a', 'b', 'c'] }, { list: ['a', 'x'] });
 * // [{ op: 'replace', path: '/list/1', value: 'x' }, { op: 'remove', path: '/list/2' }]
 */
export function rediffArrays(ops: readonly JSONPatchOp[], pointers: readonly string[], base: unknown, next: unknown): JSONPatchOp[] {
  const json = (value: unknown): unknown => JSON.parse(JSON.stringify(value ?? null));
  const writesAbove = ops.some((op) => pointers.some((pointer) => op.path === '' || isUnder(pointer, op.path)));
  if (writesAbove || !pointers.every((pointer) => Array.isArray(valueAt(base, pointer)))) return diffStates(base, json(next));
  let out: JSONPatchOp[] = [...ops];
  for (const pointer of pointers) {
    // Every op before the array's first is kept, so that is where its diff goes among the rest.
    const first = out.findIndex((op) => op.path === pointer || isUnder(op.path, pointer));
    const rest = out.filter((op) => op.path !== pointer && !isUnder(op.path, pointer));
    const diff = diffStates(valueAt(base, pointer), json(valueAt(next, pointer)), pointer);
    out = [...rest.slice(0, Math.max(0, first)), ...diff, ...rest.slice(Math.max(0, first))];
  }
  return out;
}

function isUnder(path: string, pointer: string): boolean {
  return path.startsWith(pointer + '/');
}

function pointerOf(path: Patch['path']): string | undefined {
  try {
    return joinPointer(path);
  } catch {
    return undefined;
  }
}
