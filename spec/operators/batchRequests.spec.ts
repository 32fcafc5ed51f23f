import type { TestScheduler } from 'rxjs/testing';
import { batchRequests } from '../../src/operators/batchRequests.js';
import { createTestScheduler } from '../helpers/marbles.js';

describe('batchRequests', () => {
  let testScheduler: TestScheduler;

  beforeEach(() => {
    testScheduler = createTestScheduler();
  });

  it('should send each item alone and at once while nothing is awaited', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const source = hot('  a-b--c|');
      const expected = '    a-b--c|';
      expectObservable(source.pipe(batchRequests({ maxLength: 10, hold: () => false, window: 3, scheduler: testScheduler }))).toBe(expected, { a: ['a'], b: ['b'], c: ['c'] });
    });
  });

  it('should group the items that arrive within the window while a reply is awaited', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const source = hot('  abc----de--f|');
      const expected = '    ---x------yf|';
      // A reply is awaited until frame 9: a, b, c share a window, d and e the next; f goes alone at once.
      const hold = () => testScheduler.now() < 9;
      expectObservable(source.pipe(batchRequests({ maxLength: 10, hold, window: 3, scheduler: testScheduler }))).toBe(expected, { x: ['a', 'b', 'c'], y: ['d', 'e'], f: ['f'] });
    });
  });

  it('should send a group as soon as it holds maxLength items', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const source = hot('  (abcde)----|');
      const expected = '    (xy)-z-----|';
      expectObservable(source.pipe(batchRequests({ maxLength: 2, hold: () => true, window: 5, scheduler: testScheduler }))).toBe(expected, { x: ['a', 'b'], y: ['c', 'd'], z: ['e'] });
    });
  });

  it('should emit the open group when the source completes, and pass errors through', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const done = hot('    ab|');
      const failed = hot('  ab#');
      const options = { maxLength: 10, hold: () => true, window: 5, scheduler: testScheduler };
      expectObservable(done.pipe(batchRequests(options))).toBe('--(x|)', { x: ['a', 'b'] });
      expectObservable(failed.pipe(batchRequests(options))).toBe('--#');
    });
  });

  it('should never hold items when a group may hold only one', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const source = hot('  ab|');
      expectObservable(source.pipe(batchRequests({ maxLength: 1, hold: () => true, window: 5, scheduler: testScheduler }))).toBe('ab|', { a: ['a'], b: ['b'] });
    });
  });
});
