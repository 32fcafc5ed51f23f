import type { JSONPatchOp } from '../../types.js';
import { diffArray, keptRuns, type DiffArrayOptions } from './diffArray.js';
import { keyPointer } from '../jsonPointer.js';
import { hasValue, isContainer, isObject } from '../ops/PatchDraft.js';

/** What a caller knows about an array edit beyond the two arrays (see `diffArrayOps`). */
export interface ArrayDiffHooks {
  /** Whether old element i became new element j, edited in place (identical elements always match). */
  sameElement?: (i: number, j: number) => boolean;
  /** The ops, at `pointer`, that edit old element i into new element j, for a pair `sameElement` matched. */
  editElement?: (i: number, j: number, pointer: string) => JSONPatchOp[];
}

/**
 * Computes JSON Patch ops that turn `oldValue` into `newValue`, describing edits the way a
 * person made them: an element inserted into or removed from an array is one `add` or `remove`
 * at its index (never a rewrite of every element after it), and an element edited in place
 * gets ops at its own sub-paths.
 *
 * It exists for concurrency: OT transforms ops by their paths, so an unshift sent as "replace
 * element 0, replace element 1, …, append the last" would overwrite whatever another client
 * concurrently did to those elements, while an `add …/0` shifts their edits to where the
 * elements went.
 *
 * Rules:
 * - Values the same (`===`, `undefined` read as `null` in arrays and as absent in objects) give
 *   no ops, so untouched subtrees that immer or copy-on-write kept identical cost nothing.
 * - Objects: removed keys → `remove`, new keys → `add`, changed keys → `replace`, or ops inside
 *   the key when old and new look like the same container edited (below).
 * - Arrays: a longest common subsequence of identical elements is kept (`diffArray`); in each
 *   stretch between kept elements, an old and a new container that look like the same one
 *   edited are paired (ops inside it, at its index at that point), and the rest is replaced
 *   position by position, the surplus removed or added (at concrete indexes, appends included). Ops apply in
 *   order; indexes are those of the array as the previous ops left it.
 * - "Looks like the same container edited" (`resemblance` ≥ ½): same kind, and at least half of
 *   the keys of both holding the same value (for arrays, half of the elements identical); in an
 *   array stretch the pair must also resemble each other more than anything else there.
 *
 * Known limits: there are no moves, so a reordered element is removed and re-added; which of
 * several equal primitives is kept is unspecified; an element edited in most of its entries, or
 * one that resembles two candidates equally, is replaced whole; a key that no pointer may name
 * (`__proto__`) makes the object holding it be replaced whole; an array edit past the
 * `diffArray` budget is written position by position.
 *
 * ## Example
 * ```ts
 * diffValue({ items: ['x'] }, { items: ['a', 'x'] }, ''); // [{ op: 'add', path: '/items/0', value: 'a' }]
 * ```
 *
 * @param oldValue The value the ops apply to.
 * @param newValue The value they must produce.
 * @param pointer The JSON Pointer of the value in the document (`''` for the root).
 * @return Ops such that applying them in order at `pointer` turns `oldValue` into a value
 *   deep-equal to `newValue`.
 */
export function diffValue(oldValue: unknown, newValue: unknown, pointer: string): JSONPatchOp[] {
  if (oldValue === newValue) return [];
  if (Array.isArray(oldValue) && Array.isArray(newValue)) {
    return diffArrayOps(oldValue, newValue, pointer) ?? positionalOps(oldValue, newValue, pointer);
  }
  if (isObject(oldValue) && isObject(newValue)) return objectOps(oldValue, newValue, pointer);
  return [{ op: 'replace', path: pointer, value: asElement(newValue) }];
}

/**
 * The array part of `diffValue`, with hooks for a caller that knows more than the values show:
 * immer, for one, tells which elements were edited in place, which a diff of values can only guess.
 *
 * @param oldList The array the ops apply to.
 * @param newList The array they must produce.
 * @param pointer The JSON Pointer of the array.
 * @param hooks Extra element matches and how to edit a matched element.
 * @param options The `diffArray` budget.
 * @return The ops, or undefined when the diff ran out of budget.
 */
export function diffArrayOps(
  oldList: readonly unknown[],
  newList: readonly unknown[],
  pointer: string,
  hooks: ArrayDiffHooks = {},
  options?: DiffArrayOptions,
): JSONPatchOp[] | undefined {
  const { sameElement, editElement } = hooks;
  const kept = keptRuns(
    oldList,
    newList,
    (x, y, i, j) => asElement(x) === asElement(y) || (sameElement?.(i, j) ?? false),
    { ...options, identicalAreEqual: true },
  );
  if (kept === undefined) return undefined;

  const ops: JSONPatchOp[] = [];
  // The array as the ops so far left it: new elements before `at`, old ones from `nextOld` on.
  let at = 0;
  let length = oldList.length;
  let nextOld = 0;
  let nextNew = 0;
  const indexPointer = (index: number): string => `${pointer}/${index}`;

  /** Writes old[nextOld, oldEnd) as new[nextNew, newEnd): a stretch with nothing identical in it. */
  const rewrite = (oldEnd: number, newEnd: number): void => {
    const removed = oldList.slice(nextOld, oldEnd);
    const inserted = newList.slice(nextNew, newEnd);
    const edited = pairEdited(removed, inserted);
    let r = 0;
    let s = 0;
    const replaceThenResize = (rEnd: number, sEnd: number): void => {
      for (; r < rEnd && s < sEnd; r++, s++) ops.push({ op: 'replace', path: indexPointer(at++), value: asElement(inserted[s]) });
      for (; r < rEnd; r++, length--) ops.push({ op: 'remove', path: indexPointer(at) });
      for (; s < sEnd; s++, length++) {
        ops.push({ op: 'add', path: indexPointer(at), value: asElement(inserted[s]) });
        at++;
      }
    };
    for (const [p, q] of edited) {
      replaceThenResize(p, q);
      append(ops, diffValue(removed[p], inserted[q], indexPointer(at++)));
      r++;
      s++;
    }
    replaceThenResize(removed.length, inserted.length);
    nextOld = oldEnd;
    nextNew = newEnd;
  };

  for (const run of kept) {
    if (run.i > nextOld || run.j > nextNew) rewrite(run.i, run.j);
    for (let t = 0; t < run.length; t++) {
      const i = run.i + t;
      const j = run.j + t;
      if (oldList[i] !== newList[j] && asElement(oldList[i]) !== asElement(newList[j])) {
        const elementPointer = indexPointer(at);
        append(ops, editElement ? editElement(i, j, elementPointer) : diffValue(oldList[i], newList[j], elementPointer));
      }
      at++;
    }
    nextOld = run.i + run.length;
    nextNew = run.j + run.length;
  }
  if (oldList.length > nextOld || newList.length > nextNew) rewrite(oldList.length, newList.length);
  return ops;
}

function objectOps(oldObject: Record<string, unknown>, newObject: Record<string, unknown>, pointer: string): JSONPatchOp[] {
  const ops: JSONPatchOp[] = [];
  for (const key of Object.keys(oldObject)) {
    if (oldObject[key] === undefined || hasValue(newObject, key)) continue;
    const path = keyPointer(pointer, key);
    if (path === undefined) return [{ op: 'replace', path: pointer, value: newObject }];
    ops.push({ op: 'remove', path });
  }
  for (const key of Object.keys(newObject)) {
    const before = oldObject[key];
    const after = newObject[key];
    if (after === undefined || (hasValue(oldObject, key) && before === after)) continue;
    const path = keyPointer(pointer, key);
    if (path === undefined) return [{ op: 'replace', path: pointer, value: newObject }];
    if (!hasValue(oldObject, key)) ops.push({ op: 'add', path, value: after });
    else if (resemblance(before, after) >= SAME_CONTAINER) append(ops, diffValue(before, after, path));
    else ops.push({ op: 'replace', path, value: after });
  }
  return ops;
}

/** The fallback when an array diff is over budget: replace what differs by index, then resize. */
function positionalOps(oldList: readonly unknown[], newList: readonly unknown[], pointer: string): JSONPatchOp[] {
  const ops: JSONPatchOp[] = [];
  const common = Math.min(oldList.length, newList.length);
  for (let i = 0; i < common; i++) {
    if (asElement(oldList[i]) !== asElement(newList[i])) ops.push({ op: 'replace', path: `${pointer}/${i}`, value: asElement(newList[i]) });
  }
  for (let i = oldList.length - 1; i >= newList.length; i--) ops.push({ op: 'remove', path: `${pointer}/${i}` });
  for (let i = oldList.length; i < newList.length; i++) ops.push({ op: 'add', path: `${pointer}/${i}`, value: asElement(newList[i]) });
  return ops;
}

/** The resemblance from which two containers count as one container edited. */
const SAME_CONTAINER = 0.5;

/** Above this many removed × inserted elements in one stretch, nothing is paired (the scores cost that many comparisons). */
const MAX_PAIRING_CELLS = 1 << 16;

/**
 * In a stretch of the array where every old element went and new ones came, finds the old
 * containers that became new ones, edited: pairs that resemble each other enough, and more
 * than either resembles anything else in the stretch (an old element that resembles two new
 * ones equally is not guessed at), kept in order.
 */
function pairEdited(removed: readonly unknown[], inserted: readonly unknown[]): [number, number][] {
  if (removed.length === 0 || inserted.length === 0 || removed.length * inserted.length > MAX_PAIRING_CELLS) return [];
  const bestOfRemoved = new Array<number>(removed.length).fill(-1);
  const bestOfInserted = new Array<number>(inserted.length).fill(-1);
  const scoreOfRemoved = new Array<number>(removed.length).fill(SAME_CONTAINER);
  const scoreOfInserted = new Array<number>(inserted.length).fill(SAME_CONTAINER);
  let any = false;
  removed.forEach((x, r) => {
    if (!isContainer(x)) return;
    inserted.forEach((y, s) => {
      const score = resemblance(x, y);
      if (score < SAME_CONTAINER) return;
      any = true;
      // -2 marks a tie for the best: that side has no unique counterpart (unless a better one comes).
      if (score > scoreOfRemoved[r] || bestOfRemoved[r] === -1) [bestOfRemoved[r], scoreOfRemoved[r]] = [s, score];
      else if (score === scoreOfRemoved[r]) bestOfRemoved[r] = -2;
      if (score > scoreOfInserted[s] || bestOfInserted[s] === -1) [bestOfInserted[s], scoreOfInserted[s]] = [r, score];
      else if (score === scoreOfInserted[s]) bestOfInserted[s] = -2;
    });
  });
  if (!any) return [];
  // The mutual pairs form a matching; the longest run of them that does not cross is kept.
  return diffArray(removed, inserted, (_x, _y, r, s) => bestOfRemoved[r] === s && bestOfInserted[s] === r) ?? [];
}

/**
 * How much two values look like one container edited, from 0 to 1: 0 for different kinds or
 * primitives; for arrays the share of identical elements; for objects the share of keys (of
 * both) holding identical values. Only identical values count: elements of one array usually
 * share a shape, so a shared key says nothing. Used only where immer gave no better clue, for
 * an element it rewrote whole because it also moved: a wrong guess costs intent under
 * concurrency, never correctness.
 */
function resemblance(x: unknown, y: unknown): number {
  if (!isContainer(x) || !isContainer(y) || Array.isArray(x) !== Array.isArray(y)) return 0;
  if (Array.isArray(x)) {
    const list = y as unknown[];
    const size = Math.max(x.length, list.length);
    if (size === 0) return 1;
    const present = new Set(x.map(asElement));
    let shared = 0;
    for (const item of list) if (present.has(asElement(item))) shared++;
    return Math.min(shared, x.length) / size;
  }
  const before = x as Record<string, unknown>;
  const after = y as Record<string, unknown>;
  let union = 0;
  let shared = 0;
  for (const key of Object.keys(before)) if (hasValue(before, key)) union++;
  for (const key of Object.keys(after)) {
    if (!hasValue(after, key)) continue;
    if (!hasValue(before, key)) union++;
    else if (before[key] === after[key]) shared++;
  }
  return union === 0 ? 1 : shared / union;
}

/** How an array element travels: `undefined` (a hole) is written as `null`, as `JSON.stringify` does. */
function asElement(value: unknown): unknown {
  return value === undefined ? null : value;
}

/**
 * Appends `more` to `ops` in a loop: `push(...more)` passes every op as an argument, and an
 * edit of a long array has more of them than the engine's argument limit.
 */
function append(ops: JSONPatchOp[], more: readonly JSONPatchOp[]): void {
  for (const op of more) ops.push(op);
}

