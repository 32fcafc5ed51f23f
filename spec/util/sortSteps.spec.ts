import fc from 'fast-check';
import { sortSteps } from '../../src/util/sortSteps.js';
import { runToEnd, type Steps } from '../../src/util/steps.js';

/** Runs `steps` to its end, counting its yields. */
function counted<T>(steps: Steps<T>): { result: T; yields: number } {
  let yields = 0;
  let step = steps.next();
  while (!step.done) {
    yields++;
    step = steps.next();
  }
  return { result: step.value, yields };
}

describe('sortSteps', () => {
  it('should sort as a stable Array.prototype.sort does, ties kept in their order, across runs of many elements', () => {
    // Few keys, so most elements tie: only a stable sort gives the one order; lengths past 4,096 merge runs.
    const items = fc.array(fc.record({ key: fc.integer({ min: 0, max: 5 }), at: fc.nat() }), { maxLength: 3 * 4096 + 17, size: 'max' });
    fc.assert(
      fc.property(items, fc.boolean(), (list, descending) => {
        const compare = (a: { key: number }, b: { key: number }) => (descending ? b.key - a.key : a.key - b.key);
        const copy = list.slice();
        expect(runToEnd(sortSteps(list, compare))).toEqual(list.slice().sort(compare));
        expect(list).toEqual(copy);
      }),
      { numRuns: 60, endOnFailure: true },
    );
  });

  it('should sort 20,000 elements in many steps, each of at most a few thousand', () => {
    const list = Array.from({ length: 20_000 }, (_, i) => (i * 7919) % 20_000);
    const { result, yields } = counted(sortSteps(list, (a, b) => a - b));
    expect(result).toEqual(Array.from({ length: 20_000 }, (_, i) => i));
    // 5 runs sorted, then 3 rounds of merges of 20,000 each: a yield per 4,096 elements.
    expect(yields).toBeGreaterThanOrEqual(5 + 3 * 4);
  });

  it('should give an empty array for no elements and one for one', () => {
    expect(runToEnd(sortSteps([], (a: number, b: number) => a - b))).toEqual([]);
    expect(runToEnd(sortSteps([3], (a: number, b: number) => a - b))).toEqual([3]);
  });
});
