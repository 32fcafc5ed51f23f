import { catchError, of } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { sizeOf } from '../../src/algorithms/batching/sizeOf.js';
import { UnsplittableChangeError } from '../../src/errors.js';
import { batchChanges } from '../../src/operators/batchChanges.js';
import type { Change } from '../../src/types.js';
import { createTestScheduler } from '../helpers/marbles.js';

/** A local (uncommitted) change replacing `/n<rev>` with `value`. */
function change(id: string, rev: number, value: unknown): Change {
  return { id, ops: [{ op: 'replace', path: `/n${rev}`, value }], baseRev: 3, rev, createdAt: 1_700_000_000_000, committedAt: 0 };
}

const small = [change('a1', 4, 'x'), change('a2', 5, 'y')];
const large = Array.from({ length: 6 }, (_, i) => change(`b${i}`, 4 + i, 'z'.repeat(100)));

describe('batchChanges', () => {
  let testScheduler: TestScheduler;

  beforeEach(() => {
    testScheduler = createTestScheduler();
  });

  it('should map a queue that fits to one unchanged batch, and an empty queue to no batch', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const source = hot('           -s--e--|', { s: small, e: [] as Change[] });
      const expected = '             -S--E--|';

      expectObservable(source.pipe(batchChanges({ maxPayloadBytes: 10_000 }))).toBe(expected, { S: [small], E: [] });
    });
  });

  it('should split a queue over the budget into batches sharing the head id as batchId', () => {
    // Each labelled change is 237 bytes of JSON: two fit in 500 (2 + 237 + 1 + 237), three do not.
    const maxPayloadBytes = 500;
    const batches: Change[][] = [];
    testScheduler.run(({ hot, expectObservable }) => {
      const source = hot('           -l-|', { l: large });
      const expected = '             -b-|';

      const result = source.pipe(batchChanges({ maxPayloadBytes }));
      result.subscribe((value) => batches.push(...value));
      expectObservable(result).toBe(expected, {
        b: [
          large.slice(0, 2).map((c) => ({ ...c, batchId: 'b0' })),
          large.slice(2, 4).map((c) => ({ ...c, batchId: 'b0' })),
          large.slice(4, 6).map((c) => ({ ...c, batchId: 'b0' })),
        ],
      });
    });
    for (const batch of batches) expect(sizeOf(batch)).toBeLessThanOrEqual(maxPayloadBytes);
  });

  it('should batch every emitted queue independently', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const source = cold('          s-l-s|', { s: small, l: large });
      const expected = '             a-b-a|';

      // Three labelled changes of 237 bytes fit in 720 (2 + 3 × 237 + 2).
      expectObservable(source.pipe(batchChanges({ maxPayloadBytes: 720 }))).toBe(expected, {
        a: [small],
        b: [large.slice(0, 3).map((c) => ({ ...c, batchId: 'b0' })), large.slice(3).map((c) => ({ ...c, batchId: 'b0' }))],
      });
    });
  });

  it('should error with UnsplittableChangeError when an op cannot fit the budget', () => {
    const huge = [change('h1', 4, 'q'.repeat(500))];
    testScheduler.run(({ hot, expectObservable }) => {
      const source = hot('           -s-h-s|', { s: small, h: huge });
      const expected = '             -a-(e|)';

      const result = source.pipe(
        batchChanges({ maxPayloadBytes: 300, docId: 'doc1' }),
        catchError((error: unknown) =>
          of(error instanceof UnsplittableChangeError ? `${error.name} ${error.docId} limit ${error.limit}` : String(error)),
        ),
      );
      expectObservable(result).toBe(expected, { a: [small], e: 'UnsplittableChangeError doc1 limit 298' });
    });
  });
});
