import { catchError, of } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { batchChanges } from '../../src/operators/batchChanges.js';
import { UnsplittableChangeError } from '../../src/errors.js';
import type { Change } from '../../src/types.js';

const change = (id: string, text: string): Change => ({
  id,
  ops: [{ op: 'add', path: `/${id}`, value: text }],
  baseRev: 0,
  rev: 1,
  createdAt: 0,
  committedAt: 0,
});

describe('batchChanges', () => {
  let testScheduler: TestScheduler;

  beforeEach(() => {
    testScheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });

  it('should pass a queue under the limit through as one batch', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const a = change('a', 'x');
      const b = change('b', 'y');
      const source = cold('  -p-|', { p: [a, b] });
      const expected = '     -q-|';
      expectObservable(source.pipe(batchChanges({ maxPayloadBytes: 10_000 }))).toBe(expected, { q: [[a, b]] });
    });
  });

  it('should group changes into batches under maxPayloadBytes, all with the head id as batchId', () => {
    const a = change('a', 'x'.repeat(300));
    const b = change('b', 'y'.repeat(300));
    const c = change('c', 'z'.repeat(300));
    testScheduler.run(({ cold, expectObservable }) => {
      const source = cold('  -p-|', { p: [a, b, c] });
      const out = source.pipe(batchChanges({ maxPayloadBytes: 1000 }));
      expectObservable(out).toBe('-q-|', {
        q: [[{ ...a, batchId: 'a' }, { ...b, batchId: 'a' }], [{ ...c, batchId: 'a' }]],
      });
    });
  });

  it('should error with UnsplittableChangeError when one op is over the limit', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const source = cold('  -p-|', { p: [change('huge', 'x'.repeat(2000))] });
      const out = source.pipe(
        batchChanges({ maxPayloadBytes: 1000, docId: 'd' }),
        catchError((error: unknown) => of(error instanceof UnsplittableChangeError ? `unsplittable:${error.docId}:${error.limit}` : 'other')),
      );
      expectObservable(out).toBe('-(e|)', { e: 'unsplittable:d:998' });
    });
  });
});
