import type { JSONPatchOp } from '../../types.js';
import { valueAt } from '../ops/PatchDraft.js';

const INDEX = /^(0|[1-9]\d*)$/;

/** The array pointer and index of an element path (`/a/3` → [`/a`, 3]); undefined for other paths. */
function elementOf(path: string | undefined): [string, number] | undefined {
  if (path === undefined) return undefined;
  const slash = path.lastIndexOf('/');
  const segment = path.slice(slash + 1);
  return slash >= 0 && INDEX.test(segment) ? [path.slice(0, slash), Number(segment)] : undefined;
}

/** True when `path` addresses an element of `array` (or inside one) by a concrete index. */
function addressesElement(path: string | undefined, array: string): boolean {
  if (path === undefined || !path.startsWith(`${array}/`)) return false;
  const rest = path.slice(array.length + 1);
  const slash = rest.indexOf('/');
  return INDEX.test(slash < 0 ? rest : rest.slice(0, slash));
}

/**
 * Rewrites appends (`add` at an array's current length) as `add <array>/-`, unless another op
 * after the first of them addresses an element of that array by index: then all of that array's
 * appends keep their concrete index, so the transform can keep them naming the same elements (it
 * follows indexes within one list).
 *
 * Why (README, Decisions): under the reference's transform rules two concurrent inserts at one
 * index interleave and a later edit by index can land on the other side's element, while `-`
 * appends are never shifted and keep both sides' items in commit order.
 * `node bench/pushEncoding.js` measures it: of 4,000 random two-client scenarios, this rule
 * mis-edits the fewest items and never interleaves concurrent pushes.
 *
 * `baseState` is the state the ops apply to (for array lengths). An array that an earlier op of
 * the list replaces, removes or moves (or a container of it) has an unknown length from there
 * on: its appends keep their index. Pure; returns `ops` itself when nothing changes.
 *
 * @example
 * appendsAtEnd([{ op: 'add', path: '/list/2', value: 'x' }], { list: ['a', 'b'] });
 * // → [{ op: 'add', path: '/list/-', value: 'x' }]
 */
export function appendsAtEnd(ops: readonly JSONPatchOp[], baseState: unknown): JSONPatchOp[] {
  // Only an `add` of an element can be an append: an edit without one (a field set) is left as it is at once.
  if (!ops.some((op) => op.op === 'add' && elementOf(op.path) !== undefined)) return ops as JSONPatchOp[];
  const lengths = new Map<string, number | undefined>();
  // Paths whose arrays (at or under them: `/x` and `/x/`) no longer are what `baseState` has there.
  const forgottenPaths = new Set<string>();
  const forgottenPrefixes = new Set<string>();
  const forgotten = (array: string): boolean => forgottenPaths.has(array) || [...forgottenPrefixes].some((prefix) => array.startsWith(prefix));
  const lengthOf = (array: string): number | undefined => {
    if (!lengths.has(array)) {
      const value = forgotten(array) ? undefined : valueAt(baseState, array);
      lengths.set(array, Array.isArray(value) ? value.length : undefined);
    }
    return lengths.get(array);
  };
  const forget = (path: string, itself: boolean): void => {
    if (itself) forgottenPaths.add(path);
    forgottenPrefixes.add(`${path}/`);
    for (const array of lengths.keys()) if ((itself && array === path) || array.startsWith(`${path}/`)) lengths.set(array, undefined);
  };
  const appends: number[] = [];
  ops.forEach((op, i) => {
    const element = elementOf(op.path);
    if (element && (op.op === 'add' || op.op === 'remove')) {
      const [array, index] = element;
      const length = lengthOf(array);
      if (length !== undefined) {
        if (op.op === 'add' && index === length) appends.push(i);
        lengths.set(array, length + (op.op === 'add' ? 1 : -1));
      }
      // The elements after it moved by one: an array inside one of them is not the base's any more.
      forget(array, false);
      return;
    }
    if (op.op === 'test') return;
    // Any other write may change what the arrays at or under its path are: forget them, and a
    // move or copy into or out of an array changes that array's length too.
    for (const path of [op.path, op.from]) {
      if (path === undefined) continue;
      const parent = op.op === 'move' || op.op === 'copy' ? elementOf(path) : undefined;
      forget(parent ? parent[0] : path, true);
    }
  });
  // Per array, all or nothing: its appends become `-` only when no other op after the first of
  // them addresses one of its elements by index (appends of one list then keep their order).
  const isAppend = new Set(appends);
  const arrayOf = (i: number): string => (elementOf(ops[i].path) as [string, number])[0];
  const first = new Map<string, number>();
  for (const i of appends) if (!first.has(arrayOf(i))) first.set(arrayOf(i), i);
  const safe = new Set(
    [...first].filter(([array, start]) =>
      ops.every((op, j) => j <= start || isAppend.has(j) || !(addressesElement(op.path, array) || addressesElement(op.from, array))),
    ).map(([array]) => array),
  );
  const kept = appends.filter((i) => safe.has(arrayOf(i)));
  if (kept.length === 0) return ops as JSONPatchOp[];
  const out = ops.slice();
  for (const i of kept) out[i] = { ...ops[i], path: `${arrayOf(i)}/-` };
  return out;
}
