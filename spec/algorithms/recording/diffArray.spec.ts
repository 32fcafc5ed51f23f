import fc from 'fast-check';
import { diffArray, keptRuns } from '../../../src/algorithms/recording/diffArray.js';

/** Length of a longest common subsequence, by the textbook O(N·M) table: the oracle. */
function lcsLength<T>(a: readonly T[], b: readonly T[]): number {
  let row = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    const next = new Array<number>(b.length + 1).fill(0);
    for (let j = 1; j <= b.length; j++) {
      next[j] = a[i - 1] === b[j - 1] ? row[j - 1] + 1 : Math.max(row[j], next[j - 1]);
    }
    row = next;
  }
  return row[b.length];
}

/** The pairs are a common subsequence: ascending in both indexes, each pair equal. */
function expectCommonSubsequence<T>(a: readonly T[], b: readonly T[], pairs: readonly [number, number][]): void {
  pairs.forEach(([i, j], n) => {
    expect(a[i]).toBe(b[j]);
    if (n > 0) {
      expect(i).toBeGreaterThan(pairs[n - 1][0]);
      expect(j).toBeGreaterThan(pairs[n - 1][1]);
    }
  });
}

describe('diffArray', () => {
  it('should keep every element of an array diffed against itself', () => {
    expect(diffArray(['a', 'b', 'c'], ['a', 'b', 'c'])).toEqual([[0, 0], [1, 1], [2, 2]]);
  });

  it('should see an insert at the front as one insert', () => {
    expect(diffArray(['x', 'y'], ['a', 'x', 'y'])).toEqual([[0, 1], [1, 2]]);
  });

  it('should see a removal in the middle as one removal', () => {
    expect(diffArray(['a', 'b', 'c', 'd'], ['a', 'c', 'd'])).toEqual([[0, 0], [2, 1], [3, 2]]);
  });

  it('should handle empty arrays on either side', () => {
    expect(diffArray([], ['a'])).toEqual([]);
    expect(diffArray(['a'], [])).toEqual([]);
    expect(diffArray([], [])).toEqual([]);
  });

  it('should find the longest common subsequence when edits are scattered', () => {
    const a = 'abcabba'.split('');
    const b = 'cbabac'.split('');
    const pairs = diffArray(a, b)!;
    expectCommonSubsequence(a, b, pairs);
    expect(pairs).toHaveLength(4);
  });

  it('should compare by identity, so equal-looking objects are different elements', () => {
    const x = { id: 1 };
    expect(diffArray([x], [{ id: 1 }])).toEqual([]);
    expect(diffArray([x], [{ id: 0 }, x])).toEqual([[0, 1]]);
  });

  it('should let the predicate pair elements by index (an element edited in place)', () => {
    const pairs = diffArray(['x', 'y'], ['a', 'X', 'y'], (p, q, i, j) => p === q || (i === 0 && j === 1));
    expect(pairs).toEqual([[0, 1], [1, 2]]);
  });

  it('should give up with undefined when the budget runs out', () => {
    const a = Array.from({ length: 200 }, (_, i) => i);
    const reversed = [...a].reverse();
    expect(diffArray(a, reversed, undefined, { maxCost: 1000 })).toBeUndefined();
    // The same edit within budget, and a cheap edit of a long array under a small budget.
    expect(diffArray(a, reversed)).toHaveLength(1);
    expect(diffArray(a, ['new', ...a], undefined, { maxCost: 10 })).toHaveLength(200);
  });

  it('should find a longest common subsequence of random arrays (1000 runs, fixed seed)', () => {
    const list = fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 14 });
    fc.assert(
      fc.property(list, list, (a, b) => {
        const pairs = diffArray(a, b)!;
        expectCommonSubsequence(a, b, pairs);
        expect(pairs).toHaveLength(lcsLength(a, b));
      }),
      { numRuns: 1000, seed: 0xd1ff },
    );
  });
});

describe('keptRuns', () => {
  it('should give an edit in the middle of a long array as its prefix and suffix, two runs', () => {
    const a = Array.from({ length: 10_000 }, (_, i) => i);
    const b = [...a];
    b[5] = -1;
    expect(keptRuns(a, b, (x, y) => x === y)).toEqual([
      { i: 0, j: 0, length: 5 },
      { i: 6, j: 6, length: 9_994 },
    ]);
  });

  it('should join kept pairs that follow each other into one run', () => {
    expect(keptRuns(['x', 'y', 'z'], ['a', 'x', 'y', 'b', 'z'], (x, y) => x === y)).toEqual([
      { i: 0, j: 1, length: 2 },
      { i: 2, j: 4, length: 1 },
    ]);
  });

  it('with identicalAreEqual, should not ask the predicate about identical elements of the prefix and suffix', () => {
    const asked: [number, number][] = [];
    const equal = (x: string, y: string, i: number, j: number) => {
      asked.push([i, j]);
      return x === y;
    };
    keptRuns(['a', 'b', 'c', 'd'], ['a', 'X', 'c', 'd'], equal, { identicalAreEqual: true });
    expect(asked.length).toBeGreaterThan(0);
    expect(asked.filter(([i, j]) => i !== 1 || j !== 1)).toEqual([]);
    asked.length = 0;
    keptRuns(['a', 'b', 'c', 'd'], ['a', 'X', 'c', 'd'], equal);
    expect(asked).toContainEqual([0, 0]);
  });

  it('should hold the pairs diffArray gives, and no two runs that could be one (1000 runs, fixed seed)', () => {
    const list = fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 14 });
    fc.assert(
      fc.property(list, list, fc.boolean(), (a, b, identicalAreEqual) => {
        const runs = keptRuns(a, b, (x, y) => x === y, { identicalAreEqual })!;
        expect(runs.flatMap(({ i, j, length }) => Array.from({ length }, (_, t) => [i + t, j + t]))).toEqual(diffArray(a, b));
        runs.forEach((run, n) => {
          expect(run.length).toBeGreaterThan(0);
          const previous = runs[n - 1];
          if (previous) expect(previous.i + previous.length === run.i && previous.j + previous.length === run.j).toBe(false);
        });
      }),
      { numRuns: 1000, seed: 0x5eed },
    );
  });

  it('with identicalAreEqual, should keep what it keeps without, for a predicate that also pairs other elements (1000 runs, fixed seed)', () => {
    const list = fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 14 });
    const pairs = fc.array(fc.tuple(fc.nat(13), fc.nat(13)), { maxLength: 20 });
    fc.assert(
      fc.property(list, list, pairs, (a, b, extra) => {
        const paired = new Set(extra.map(([i, j]) => `${i},${j}`));
        // What the flag promises of the predicate: identical elements are equal.
        const equal = (x: number, y: number, i: number, j: number) => x === y || paired.has(`${i},${j}`);
        expect(keptRuns(a, b, equal, { identicalAreEqual: true })).toEqual(keptRuns(a, b, equal));
      }),
      { numRuns: 1000, seed: 0xfa57 },
    );
  });
});
