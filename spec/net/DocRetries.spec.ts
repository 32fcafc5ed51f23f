import { TestScheduler } from 'rxjs/testing';
import { DocRetries } from '../../src/net/DocRetries.js';

describe('DocRetries', () => {
  let testScheduler: TestScheduler;

  beforeEach(() => {
    testScheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });

  it('should retry after 1 s, then 2 s, then 4 s, one timer per doc at a time', () => {
    testScheduler.run(({ flush }) => {
      const at: number[] = [];
      const retries = new DocRetries(() => at.push(testScheduler.now()), testScheduler);
      retries.schedule('doc');
      flush();
      retries.schedule('doc');
      flush();
      retries.schedule('doc');
      retries.schedule('doc'); // replaces the pending timer and counts one more attempt
      flush();
      expect(at).toEqual([1000, 1000 + 2000, 1000 + 2000 + 8000]);
      expect(retries.has('doc')).toBe(true);
    });
  });

  it('should cancel a scheduled retry and start over from 1 s after clear', () => {
    testScheduler.run(({ flush }) => {
      const at: number[] = [];
      const retries = new DocRetries(() => at.push(testScheduler.now()), testScheduler);
      retries.schedule('doc');
      retries.clear('doc');
      flush();
      expect(at).toEqual([]);
      expect(retries.has('doc')).toBe(false);
      retries.schedule('doc');
      flush();
      expect(at).toEqual([1000]);
    });
  });

  it('should cancel every doc on clearAll', () => {
    testScheduler.run(({ flush }) => {
      const retried: string[] = [];
      const retries = new DocRetries(docId => retried.push(docId), testScheduler);
      retries.schedule('a');
      retries.schedule('b');
      retries.clearAll();
      flush();
      expect(retried).toEqual([]);
    });
  });

  it('should give up silently after 10 attempts', () => {
    testScheduler.run(({ flush }) => {
      let runs = 0;
      const retries = new DocRetries(() => runs++, testScheduler);
      for (let i = 0; i < 12; i++) {
        retries.schedule('doc');
        flush();
      }
      expect(runs).toBe(10);
    });
  });
});
