import { defer, Observable } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { backoffRetry } from '../../src/operators/backoffRetry.js';
import { AuthError, NetworkError } from '../../src/errors.js';
import { createTestScheduler } from '../helpers/marbles.js';

/** Subscribes to `sources[0]`, then `sources[1]`, … on each resubscription. */
function inTurn<T>(sources: Observable<T>[]): Observable<T> {
  let index = 0;
  return defer(() => sources[index++]);
}

describe('backoffRetry', () => {
  let testScheduler: TestScheduler;

  beforeEach(() => {
    testScheduler = createTestScheduler();
  });

  it('should resubscribe after an error waiting 1 s, 1.5 s, 2.25 s', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const error = new NetworkError('dropped');
      const source = cold('                                 #', undefined, error);
      const subs = [
        '                                                   (^!)',
        '                                                   1000ms (^!)',
        '                                                   2500ms (^!)',
        '                                                   4750ms (^!)',
      ];
      const expected = '                                    4750ms #';

      expectObservable(source.pipe(backoffRetry({ jitter: 0, maxAttempts: 3 }))).toBe(expected, undefined, error);
      expectSubscriptions(source.subscriptions).toBe(subs);
    });
  });

  it('should follow the anchor schedule 1000, 1500, 2250 … capped at 30 000 ms', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const delays = [1000, 1500, 2250, 3375, 5063, 7594, 11391, 17086, 25629, 30000, 30000, 30000];
      const source = cold('#');
      let at = 0;
      const subs = ['(^!)'];
      for (const delay of delays) {
        at += delay;
        subs.push(`${at}ms (^!)`);
      }

      expectObservable(source.pipe(backoffRetry({ jitter: 0, maxAttempts: delays.length }))).toBe(`${at}ms #`);
      expectSubscriptions(source.subscriptions).toBe(subs);
    });
  });

  it('should cap the delay at maxDelay', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('                                 #');
      const subs = [
        '                                                   (^!)',
        '                                                   1000ms (^!)',
        '                                                   2500ms (^!)',
        '                                                   4750ms (^!)',
        '                                                   7750ms (^!)',
        '                                                   10750ms (^!)',
      ];
      const expected = '                                    10750ms #';

      expectObservable(source.pipe(backoffRetry({ jitter: 0, maxDelay: 3000, maxAttempts: 5 }))).toBe(expected);
      expectSubscriptions(source.subscriptions).toBe(subs);
    });
  });

  it('should resubscribe after completion by default', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('                                 a|');
      const subs = [
        '                                                   ^!',
        '                                                   1001ms ^!',
        '                                                   2502ms ^!',
      ];
      const expected = '                                    a 1000ms a 1500ms a|';

      expectObservable(source.pipe(backoffRetry({ jitter: 0, maxAttempts: 2 }))).toBe(expected);
      expectSubscriptions(source.subscriptions).toBe(subs);
    });
  });

  it('should complete without resubscribing when repeatOnComplete is false', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('                                 a-|');
      const subs = '                                        ^-!';
      const expected = '                                    a-|';

      expectObservable(source.pipe(backoffRetry({ repeatOnComplete: false }))).toBe(expected);
      expectSubscriptions(source.subscriptions).toBe(subs);
    });
  });

  it('should reset the delay after a value matching resetOn', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const first = cold('                                  #');
      const second = cold('                                 #');
      const opened = cold('                                 o--#');
      const again = cold('                                  -');
      const expected = '                                    2500ms o';

      const result = inTurn([first, second, opened, again]).pipe(
        backoffRetry({ jitter: 0, resetOn: (value) => value === 'o' }),
      );
      expectObservable(result).toBe(expected);
      expectSubscriptions(first.subscriptions).toBe('       (^!)');
      expectSubscriptions(second.subscriptions).toBe('      1000ms (^!)');
      expectSubscriptions(opened.subscriptions).toBe('      2500ms ^--!');
      expectSubscriptions(again.subscriptions).toBe('       3503ms ^');
    });
  });

  it('should keep growing the delay when no value matches resetOn', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const first = cold('                                  #');
      const second = cold('                                 #');
      const opened = cold('                                 m--#');
      const again = cold('                                  -');
      const expected = '                                    2500ms m';

      const result = inTurn([first, second, opened, again]).pipe(
        backoffRetry({ jitter: 0, resetOn: (value) => value === 'o' }),
      );
      expectObservable(result).toBe(expected);
      expectSubscriptions(opened.subscriptions).toBe('      2500ms ^--!');
      expectSubscriptions(again.subscriptions).toBe('       4753ms ^');
    });
  });

  it('should take jitter × random() off each delay', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('                                 #');
      const subs = [
        '                                                   (^!)',
        '                                                   900ms (^!)',
        '                                                   2250ms (^!)',
        '                                                   4275ms (^!)',
      ];
      const expected = '                                    4275ms #';

      const result = source.pipe(backoffRetry({ jitter: 0.2, random: () => 0.5, maxAttempts: 3 }));
      expectObservable(result).toBe(expected);
      expectSubscriptions(source.subscriptions).toBe(subs);
    });
  });

  it('should apply a default jitter of 20 % downward', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('                                 #');
      const subs = ['                                       (^!)', '800ms (^!)'];
      const expected = '                                    800ms #';

      expectObservable(source.pipe(backoffRetry({ random: () => 1, maxAttempts: 1 }))).toBe(expected);
      expectSubscriptions(source.subscriptions).toBe(subs);
    });
  });

  it('should mirror values and stop waiting when unsubscribed', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('                                 a-b-#');
      const unsub = '                                       600ms !';
      const subs = '                                        ^---!';
      const expected = '                                    a-b-';

      expectObservable(source.pipe(backoffRetry({ jitter: 0 })), unsub).toBe(expected);
      expectSubscriptions(source.subscriptions).toBe(subs);
    });
  });

  it('should count attempts per subscriber', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const source = cold('                                 #');
      const result = source.pipe(backoffRetry({ jitter: 0, maxAttempts: 1 }));

      expectObservable(result).toBe('                       1000ms #');
      expectObservable(result).toBe('                       1000ms #');
    });
  });

  it('should pass on at once an error retryIf refuses, after retrying the others', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const dropped = new NetworkError('dropped');
      const refused = new AuthError('Connection refused (close code 4401)', 4401);
      const source = inTurn([cold('#', undefined, dropped), cold('#', undefined, refused), cold('a')]);
      const result = source.pipe(backoffRetry({ jitter: 0, retryIf: (error) => !(error instanceof AuthError) }));

      expectObservable(result).toBe('1000ms #', undefined, refused);
    });
  });
});
