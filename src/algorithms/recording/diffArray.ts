/** Options for `diffArray`. */
export interface DiffArrayOptions {
  /** Work budget (element comparisons plus diagonals visited); past it the diff gives up and returns undefined. */
  maxCost?: number;
  /** The caller's promise that `equal` holds for identical elements (`===`): a long common prefix or suffix is then matched without a call to `equal` per element. */
  identicalAreEqual?: boolean;
}

/**
 * Half a million steps: about 20 ms and a few megabytes of trace at worst. Enough for any edit
 * a person makes by hand (an insert or delete in an array of 100,000 elements costs one pass
 * over it); a sort or reverse of a long array runs out, and that is when a positional rewrite
 * is as good a description of the edit as any.
 */
const DEFAULT_MAX_COST = 500_000;

/**
 * Finds the longest common subsequence of two arrays: the elements an edit kept, in order.
 *
 * It is what turns "the old list" and "the new list" back into the inserts and removes a person
 * made, so that an `unshift` travels as one insert at index 0 rather than as an overwrite of
 * every element (which concurrent edits would then be transformed against, and land on the
 * wrong elements). Everything between two kept elements was removed (from `a`) or inserted
 * (from `b`).
 *
 * Myers' O((N+M)·D) algorithm (D = number of inserts plus removes): a common prefix and suffix
 * are matched first, so an edit at one place of a long array costs one pass over it. `equal`
 * gets the indexes too, so a caller can declare two different values the same element (an
 * element edited in place). It need not be an equivalence: any pairing it allows may be used.
 *
 * Known limits: among several longest subsequences, which one is returned is unspecified (for
 * `[1, 2, 1]` → `[2, 1]` either 1 may be kept). A budget bounds time and memory (the trace of
 * an edit of D steps holds about D² numbers); past it the diff returns undefined and the caller
 * has to describe the edit some other way.
 *
 * ## Example
 * ```ts
 * diffArray(['x', 'y'], ['a', 'x', 'y']); // [[0, 1], [1, 2]]: 'x' and 'y' kept, 'a' inserted
 * ```
 *
 * @param a The old array.
 * @param b The new array.
 * @param equal Whether `a[i]` may be kept as `b[j]`; `===` by default.
 * @param options The work budget.
 * @return The kept pairs `[i, j]`, ascending in both indexes; undefined when the budget ran out.
 */
export function diffArray<A, B>(
  a: readonly A[],
  b: readonly B[],
  equal: (x: A, y: B, i: number, j: number) => boolean = (x, y) => (x as unknown) === (y as unknown),
  options: DiffArrayOptions = {},
): [number, number][] | undefined {
  const runs = keptRuns(a, b, equal, options);
  if (runs === undefined) return undefined;
  const pairs: [number, number][] = [];
  for (const { i, j, length } of runs) for (let t = 0; t < length; t++) pairs.push([i + t, j + t]);
  return pairs;
}

/** A stretch of kept elements: `a[i + t]` kept as `b[j + t]` for `t` below `length`. */
export interface KeptRun {
  readonly i: number;
  readonly j: number;
  readonly length: number;
}

/**
 * `diffArray`'s answer as runs of consecutive pairs, ascending. An edit at one place of a long
 * array keeps a long prefix and suffix: two runs, where the pairs would be an array per element
 * (most of the cost of recording an edit of one element of a 17,000-element list).
 *
 * ## Example
 * ```ts
 * keptRuns(['x', 'y'], ['a', 'x', 'y'], (x, y) => x === y); // [{ i: 0, j: 1, length: 2 }]
 * ```
 *
 * @param a The old array.
 * @param b The new array.
 * @param equal Whether `a[i]` may be kept as `b[j]`.
 * @param options The work budget, and whether identical elements are always equal.
 * @return The kept runs, ascending in both indexes, none next to the one before it; undefined when the budget ran out.
 */
export function keptRuns<A, B>(
  a: readonly A[],
  b: readonly B[],
  equal: (x: A, y: B, i: number, j: number) => boolean,
  options: DiffArrayOptions = {},
): KeptRun[] | undefined {
  const identical = options.identicalAreEqual === true;
  let start = 0;
  while (start < a.length && start < b.length && ((identical && (a[start] as unknown) === b[start]) || equal(a[start], b[start], start, start))) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && ((identical && (a[endA - 1] as unknown) === b[endB - 1]) || equal(a[endA - 1], b[endB - 1], endA - 1, endB - 1))) {
    endA--;
    endB--;
  }
  const same = (x: number, y: number): boolean => equal(a[start + x], b[start + y], start + x, start + y);
  const middle = shortestEdit(endA - start, endB - start, same, options.maxCost ?? DEFAULT_MAX_COST);
  if (middle === undefined) return undefined;

  const runs: KeptRun[] = [];
  const keep = (i: number, j: number, length: number): void => {
    if (length === 0) return;
    const last = runs[runs.length - 1];
    if (last !== undefined && last.i + last.length === i && last.j + last.length === j) runs[runs.length - 1] = { i: last.i, j: last.j, length: last.length + length };
    else runs.push({ i, j, length });
  };
  keep(0, 0, start);
  for (const [x, y] of middle) keep(start + x, start + y, 1);
  keep(endA, endB, a.length - endA);
  return runs;
}

/**
 * Myers' greedy forward search on an n × m grid, keeping the furthest-reaching point of every
 * diagonal after each step so the path can be walked back. Returns the diagonal (kept) moves.
 */
function shortestEdit(
  n: number,
  m: number,
  same: (x: number, y: number) => boolean,
  maxCost: number,
): [number, number][] | undefined {
  if (n === 0 || m === 0) return [];
  const max = n + m;
  const offset = max + 1;
  // v[offset + k] = furthest x reached on diagonal k = x − y.
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  let cost = 0;
  for (let d = 0; d <= max; d++) {
    for (let k = -d; k <= d; k += 2) {
      // Step down (insert b[y]) from diagonal k+1, or right (remove a[x]) from k−1, whichever got further.
      let x = k === -d || (k !== d && v[offset + k - 1] < v[offset + k + 1]) ? v[offset + k + 1] : v[offset + k - 1] + 1;
      let y = x - k;
      while (x < n && y < m && same(x, y)) {
        x++;
        y++;
        cost++;
      }
      v[offset + k] = x;
      cost++;
      if (x >= n && y >= m) return walkBack(trace, d, n, m);
    }
    // Only diagonals −d…d can have been reached; keep just those.
    trace.push(v.slice(offset - d, offset + d + 1));
    if (cost > maxCost) return undefined;
  }
  return undefined; // not reached: d = n + m always ends the search
}

/** Walks the search trace back from (n, m), collecting the diagonal moves of the path found. */
function walkBack(trace: readonly Int32Array[], steps: number, n: number, m: number): [number, number][] {
  const kept: [number, number][] = [];
  let x = n;
  let y = m;
  for (let d = steps; d > 0; d--) {
    const previous = trace[d - 1]; // diagonal k is at previous[k + d − 1]
    const at = (k: number): number => previous[k + d - 1];
    const k = x - y;
    const down = k === -d || (k !== d && at(k - 1) < at(k + 1));
    const previousK = down ? k + 1 : k - 1;
    const previousX = at(previousK);
    const snakeStart = down ? previousX : previousX + 1;
    while (x > snakeStart) {
      x--;
      y--;
      kept.push([x, y]);
    }
    x = previousX;
    y = previousX - previousK;
  }
  while (x > 0 && y > 0) {
    x--;
    y--;
    kept.push([x, y]);
  }
  return kept.reverse();
}
