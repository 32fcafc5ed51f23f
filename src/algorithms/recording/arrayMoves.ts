import type { JSONPatchOp } from '../../types.js';
import { keptRuns, type KeptRun } from './diffArray.js';
import { splitPointer } from '../jsonPointer.js';
import { applyOp } from '../ops/applyOp.js';
import { isContainer, PatchDraft } from '../ops/PatchDraft.js';

/** What `arrayMoves` found: the move ops, the array they leave, and where each of its elements was. */
export interface ArrayMoves {
  /** `move` ops within the array, to apply in order. */
  readonly ops: JSONPatchOp[];
  /** The old array after them. */
  readonly list: unknown[];
  /** `origin[k]` is the index in the old array of `list[k]`. */
  readonly origin: number[];
}

/**
 * The elements an array edit moved, as `move` ops: an object or array that is, by identity
 * (`===`), in the old array once and in the new one once, and that a diff of the two would
 * remove and re-add (it is not among the elements the edit kept in order). After the moves,
 * every such element stands where the new array has it among the kept ones, so a diff of
 * `list` against the new array keeps it and only inserts, removes and edits the others.
 *
 * Why: a drag (`const [card] = cards.splice(i, 1); cards.splice(j, 0, card)`) recorded as a
 * `remove` and an `add` of the whole element loses another user's concurrent edit of it (the add
 * carries the old value) and, when two users drag it at once, leaves it twice. The transform
 * re-roots edits of a moved element to where it went, and a second move of a moved element
 * follows the first (protocol §4.5). immer hands back the base's own object for an element the
 * recipe did not modify, so identity tells a moved element from a new one that looks the same;
 * an element the recipe also edited is a new object, and stays a removal and an insert.
 * Primitives have no identity: equal ones are kept or re-added as before.
 *
 * Each moved element, in new-array order, goes right after the element before it in the new
 * array among those already in place (kept, or moved before it), or to the front.
 *
 * @param oldList The array before the edit.
 * @param newList The array after it.
 * @param pointer The array's JSON Pointer.
 * @param sameElement Whether old element i became new element j, edited in place (kept as well).
 * @return The moves, or undefined when there is none (or the diff ran out of budget).
 *
 * @example
 * const [a, b, c] = [{ n: 'a' }, { n: 'b' }, { n: 'c' }];
 * arrayMoves([a, b, c], [b, c, a], '/list')?.ops; // [{ op: 'move', from: '/list/0', path: '/list/2' }]
 */
export function arrayMoves(
  oldList: readonly unknown[],
  newList: readonly unknown[],
  pointer: string,
  sameElement?: (i: number, j: number) => boolean,
): ArrayMoves | undefined {
  // Only what lies between the common prefix and suffix can have moved: an insert or a removal
  // at one place (one side's middle empty) costs one pass.
  let start = 0;
  while (start < oldList.length && start < newList.length && oldList[start] === newList[start]) start++;
  let endOld = oldList.length;
  let endNew = newList.length;
  while (endOld > start && endNew > start && oldList[endOld - 1] === newList[endNew - 1]) {
    endOld--;
    endNew--;
  }
  if (endOld === start || endNew === start) return undefined;

  // The elements the diff keeps in order (as `diffArrayOps` matches them) do not move.
  const runs = keptRuns(oldList, newList, (x, y, i, j) => (x === undefined ? null : x) === (y === undefined ? null : y) || (sameElement?.(i, j) ?? false), { identicalAreEqual: true });
  if (runs === undefined) return undefined;
  // The rest, between the runs: containers there once in the old array and once in the new one.
  const oldAt = new Map<unknown, number>();
  gaps(runs, oldList.length, 'i', (i) => {
    const value = oldList[i];
    if (isContainer(value)) oldAt.set(value, oldAt.has(value) ? -1 : i);
  });
  if (oldAt.size === 0) return undefined;
  const pairs = new Map<unknown, [number, number] | null>();
  gaps(runs, newList.length, 'j', (j) => {
    const value = newList[j];
    const i = isContainer(value) ? oldAt.get(value) : undefined;
    if (i !== undefined && i >= 0) pairs.set(value, pairs.has(value) ? null : [i, j]);
  });
  const moved = [...pairs.values()].filter((pair): pair is [number, number] => pair !== null).sort((x, y) => x[1] - y[1]);
  if (moved.length === 0) return undefined;

  const list = oldList.slice();
  const origin = oldList.map((_, i) => i);
  const ops: JSONPatchOp[] = [];
  // New index → old index of the moved elements already in place, new indexes ascending.
  const placedNew: number[] = [];
  const placedOld: number[] = [];
  for (const [i, j] of moved) {
    const from = origin.indexOf(i);
    list.splice(from, 1);
    origin.splice(from, 1);
    // The element before it in the new array among those in place: kept, or moved before it.
    const kept = keptBefore(runs, j);
    const at = insertionPoint(placedNew, j);
    const movedBefore = at === 0 ? undefined : placedNew[at - 1];
    const before = movedBefore !== undefined && (kept === undefined || movedBefore > kept[1]) ? placedOld[at - 1] : kept?.[0];
    const to = before === undefined ? 0 : origin.indexOf(before) + 1;
    list.splice(to, 0, oldList[i]);
    origin.splice(to, 0, i);
    if (to !== from) ops.push({ op: 'move', from: `${pointer}/${from}`, path: `${pointer}/${to}` });
    placedNew.splice(at, 0, j);
    placedOld.splice(at, 0, i);
  }
  return { ops, list, origin };
}

/** Calls `each` with every index of one side (`i` old, `j` new) of a `length`-long array that no run keeps. */
function gaps(runs: readonly KeptRun[], length: number, side: 'i' | 'j', each: (index: number) => void): void {
  let next = 0;
  for (const run of runs) {
    for (; next < run[side]; next++) each(next);
    next = run[side] + run.length;
  }
  for (; next < length; next++) each(next);
}

/** The last kept pair `[i, j]` with `j` below `value`, if any. */
function keptBefore(runs: readonly KeptRun[], value: number): [number, number] | undefined {
  let low = 0;
  let high = runs.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (runs[mid].j < value) low = mid + 1;
    else high = mid;
  }
  if (low === 0) return undefined;
  const run = runs[low - 1];
  const t = Math.min(run.length - 1, value - 1 - run.j);
  return [run.i + t, run.j + t];
}

/** Where `value` goes in the ascending `sorted` (after the ones below it). */
function insertionPoint(sorted: readonly number[], value: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (sorted[mid] < value) low = mid + 1;
    else high = mid;
  }
  return low;
}

const INDEX = /^(0|[1-9]\d*)$/;

/** The array pointer of an element path (`/a/3` → `/a`); undefined for other paths. */
function arrayOf(path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  const slash = path.lastIndexOf('/');
  return slash >= 0 && INDEX.test(path.slice(slash + 1)) ? path.slice(0, slash) : undefined;
}

/** Whether `path` is `pointer`, inside it, or a container of it. */
function touches(path: string | undefined, pointer: string): boolean {
  return path !== undefined && (path === pointer || path.startsWith(`${pointer}/`) || pointer.startsWith(`${path}/`));
}

/**
 * `ops` with each element removed from one array and inserted into another as one `move`: a
 * `remove` of an object or array at an index and an `add` at an index of another array of that
 * very value (`===`, as immer hands back the base's own object for an element the recipe did not
 * modify), each the only one of its kind for that value. The move takes the place of the later of
 * the two when no op between them touches the array of the earlier one (its index still holds),
 * else of the earlier when none touches the later one's; else, or when one array is inside the
 * other, the two stay as they are. Same-array moves are the array diff's (`arrayMoves`).
 *
 * Why: as `arrayMoves`, for a card dragged from one column to another; an element edited on the
 * way is a new object and stays a removal and an insert.
 *
 * @param ops A change's ops, every one applying to what the ones before it left.
 * @param baseState The state they apply to (replayed on a copy-on-write draft to see what each
 *   `remove` takes; only when some `add` inserts a container and some `remove` takes an element).
 * @return The ops with those moves; `ops` itself when there is none.
 *
 * @example
 * const card = { id: 'c' };
 * movesAcrossArrays(
 *   [{ op: 'remove', path: '/todo/0' }, { op: 'add', path: '/done/0', value: card }],
 *   { todo: [card], done: [] },
 * ); // [{ op: 'move', from: '/todo/0', path: '/done/0' }]
 */
export function movesAcrossArrays(ops: readonly JSONPatchOp[], baseState: unknown): JSONPatchOp[] {
  const inserts = new Map<unknown, number | null>();
  ops.forEach((op, k) => {
    if (op.op === 'add' && isContainer(op.value) && arrayOf(op.path) !== undefined) inserts.set(op.value, inserts.has(op.value) ? null : k);
  });
  if (inserts.size === 0 || !ops.some((op) => op.op === 'remove' && arrayOf(op.path) !== undefined)) return ops as JSONPatchOp[];

  // What each element `remove` takes, and each value's only removal.
  const removals = new Map<unknown, number | null>();
  const draft = new PatchDraft(baseState);
  try {
    ops.forEach((op, k) => {
      if (op.op === 'remove' && arrayOf(op.path) !== undefined) {
        const taken = draft.get(splitPointer(op.path));
        if (taken.found && inserts.has(taken.value)) removals.set(taken.value, removals.has(taken.value) ? null : k);
      }
      applyOp(draft, op);
    });
  } catch {
    return ops as JSONPatchOp[];
  }

  const out: (JSONPatchOp | undefined)[] = ops.slice();
  for (const [value, r] of removals) {
    const a = inserts.get(value);
    if (r === null || a === null || a === undefined) continue;
    const removal = out[r];
    const insert = out[a];
    if (removal === undefined || insert === undefined) continue;
    const source = arrayOf(removal.path)!;
    const target = arrayOf(insert.path)!;
    if (touches(source, target)) continue;
    const [first, last] = r < a ? [r, a] : [a, r];
    const between = out.slice(first + 1, last).filter((op): op is JSONPatchOp => op !== undefined);
    const untouched = (pointer: string): boolean => between.every((op) => !touches(op.path, pointer) && !touches(op.from, pointer));
    const earlier = arrayOf(out[first]!.path)!;
    const later = arrayOf(out[last]!.path)!;
    const at = untouched(earlier) ? last : untouched(later) ? first : undefined;
    if (at === undefined) continue;
    out[first] = out[last] = undefined;
    out[at] = { op: 'move', from: removal.path, path: insert.path };
  }
  const moved = out.filter((op): op is JSONPatchOp => op !== undefined);
  return moved.length === ops.length ? (ops as JSONPatchOp[]) : moved;
}
