import type { TestScheduler } from 'rxjs/testing';
import { dispatchByAlgorithm } from '../../src/operators/dispatchByAlgorithm.js';
import type { Algorithm } from '../../src/types.js';
import { createTestScheduler } from '../helpers/marbles.js';

interface Job {
  docId: string;
  algorithm: Algorithm;
}

const jobs: Record<string, Job> = {
  o: { docId: 'o', algorithm: 'ot' },
  p: { docId: 'p', algorithm: 'ot' },
  l: { docId: 'l', algorithm: 'lww' },
};

describe('dispatchByAlgorithm', () => {
  let testScheduler: TestScheduler;

  beforeEach(() => {
    testScheduler = createTestScheduler();
  });

  it('should route each value to the handler of its algorithm', () => {
    testScheduler.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const source = hot('           o---l---|', jobs);
      const ot = cold('              -O|');
      const lww = cold('                 --L|');
      const otSubs = '               ^-!';
      const lwwSubs = '              ----^--!';
      const expected = '             -O----L-|';

      const result = source.pipe(dispatchByAlgorithm((job) => job.algorithm, { ot: () => ot, lww: () => lww }));
      expectObservable(result).toBe(expected);
      expectSubscriptions(ot.subscriptions).toBe(otSubs);
      expectSubscriptions(lww.subscriptions).toBe(lwwSubs);
    });
  });

  it('should run handlers concurrently (ordering per doc is the caller\'s concern)', () => {
    testScheduler.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const source = hot('           op-l----|', jobs);
      const ot = cold('              ----O|');
      const lww = cold('                 ---L|');
      const otSubs = ['              ^----!', '-^----!'];
      const lwwSubs = '              ---^---!';
      const expected = '             ----OOL-|';

      const result = source.pipe(dispatchByAlgorithm((job) => job.algorithm, { ot: () => ot, lww: () => lww }));
      expectObservable(result).toBe(expected);
      expectSubscriptions(ot.subscriptions).toBe(otSubs);
      expectSubscriptions(lww.subscriptions).toBe(lwwSubs);
    });
  });

  it('should pass each value to its handler', () => {
    testScheduler.run(({ hot, cold, expectObservable }) => {
      const source = hot('           o-l-p|', jobs);
      const expected = '             a-b-c|';

      const result = source.pipe(
        dispatchByAlgorithm((job: Job) => job.algorithm, {
          ot: (job) => cold('x|', { x: `ot:${job.docId}` }),
          lww: (job) => cold('x|', { x: `lww:${job.docId}` }),
        }),
      );
      expectObservable(result).toBe(expected, { a: 'ot:o', b: 'lww:l', c: 'ot:p' });
    });
  });

  it('should error for an algorithm without a handler', () => {
    testScheduler.run(({ hot, cold, expectObservable }) => {
      const rogue = { docId: 'r', algorithm: 'crdt' as Algorithm };
      const source = hot('           o-r-o|', { ...jobs, r: rogue });
      const expected = '             x-#';

      const result = source.pipe(dispatchByAlgorithm((job) => job.algorithm, { ot: () => cold('x|'), lww: () => cold('y|') }));
      expectObservable(result).toBe(expected, undefined, new TypeError('No handler for sync algorithm "crdt"'));
    });
  });

  it('should pass a handler error on', () => {
    testScheduler.run(({ hot, cold, expectObservable }) => {
      const source = hot('           l-o|', jobs);
      const expected = '             --#';
      const error = new Error('rebase failed');

      const result = source.pipe(
        dispatchByAlgorithm((job) => job.algorithm, { ot: () => cold('#', undefined, error), lww: () => cold('|') }),
      );
      expectObservable(result).toBe(expected, undefined, error);
    });
  });
});
