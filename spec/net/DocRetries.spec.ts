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

  it('should say the quick retries are used up once, then probe again every 4–5 minutes (jittered)', () => {
    testScheduler.run(({ flush }) => {
      const at: number[] = [];
      const jitter = [1, 0];
      const retries = new DocRetries(() => at.push(testScheduler.now()), testScheduler, () => jitter.shift() ?? 0.5);
      const outcomes: string[] = [];
      for (let i = 0; i < 13; i++) {
        outcomes.push(retries.schedule('doc'));
        flush();
      }
      expect(outcomes).toEqual([...Array(10).fill('scheduled'), 'exhausted', 'still-exhausted', 'still-exhausted']);
      const gaps = at.map((t, i) => t - (at[i - 1] ?? 0));
      expect(gaps.slice(0, 10)).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000, 30_000, 30_000]);
      expect(gaps.slice(10)).toEqual([300_000, 240_000, 270_000]);
    });
  });

  it('should probe a doc that failed for good again in 8–10 minutes', () => {
    testScheduler.run(({ flush }) => {
      const at: number[] = [];
      const retries = new DocRetries(() => at.push(testScheduler.now()), testScheduler, () => 0);
      retries.probeLater('doc');
      flush();
      expect(at).toEqual([480_000]);
      expect(retries.has('doc')).toBe(true);
    });
  });
});
