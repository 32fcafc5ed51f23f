import fc from 'fast-check';
import { diffArray } from '../../../src/algorithms/recording/diffArray.js';

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
