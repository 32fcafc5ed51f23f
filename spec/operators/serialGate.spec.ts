import { Observable, of } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { serialGate } from '../../src/operators/serialGate.js';
import { createTestScheduler } from '../helpers/marbles.js';

/** A `run` that hands out the given observables per key in order and records each call. */
function scripted<R>(runs: Record<string, Observable<R>[]>) {
  const calls: string[] = [];
  const run = (key: string, value: string): Observable<R> => {
    calls.push(value);
    const next = runs[key]?.shift();
    if (!next) throw new Error(`unexpected run for ${value}`);
    return next;
  };
  return { calls, run };
}

/** Triggers are strings like 'A1': the key is the first letter. */
const keyOf = (value: string) => value[0];

const triggers = { a: 'A1', b: 'A2', c: 'A3', x: 'B1', y: 'B2' };

describe('serialGate', () => {
  let testScheduler: TestScheduler;

  beforeEach(() => {
    testScheduler = createTestScheduler();
  });

  it('should collapse N triggers during a run into exactly one follow-up with the latest value', () => {
    const runs = { A: [] as Observable<string>[] };
    const { calls, run } = scripted(runs);
    testScheduler.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const source = hot('           a-b-c-------', triggers);
      const first = cold('           ----1|');
      const followUp = cold('             ----2|');
      const firstSubs = '            ^----!';
      const followUpSubs = '         -----^----!';
      const expected = '             ----1----2--';
      runs.A.push(first, followUp);

      expectObservable(source.pipe(serialGate(keyOf, run))).toBe(expected);
      expectSubscriptions(first.subscriptions).toBe(firstSubs);
      expectSubscriptions(followUp.subscriptions).toBe(followUpSubs);
    });
    expect(calls).toEqual(['A1', 'A3']);
  });

  it('should not run a follow-up when no trigger arrived during the run', () => {
    const runs = { A: [] as Observable<string>[] };
    const { calls, run } = scripted(runs);
    testScheduler.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const source = hot('           a-----------', triggers);
      const only = cold('            ----1|');
      const onlySubs = '             ^----!';
      const expected = '             ----1-------';
      runs.A.push(only);

      expectObservable(source.pipe(serialGate(keyOf, run))).toBe(expected);
      expectSubscriptions(only.subscriptions).toBe(onlySubs);
    });
    expect(calls).toEqual(['A1']);
  });

  it('should start a fresh run at once for a trigger after the previous run finished', () => {
    const runs = { A: [] as Observable<string>[] };
    const { calls, run } = scripted(runs);
    testScheduler.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const source = hot('           a-------b---', triggers);
      const first = cold('           --1|');
      const second = cold('                  --2|');
      const firstSubs = '            ^--!';
      const secondSubs = '           --------^--!';
      const expected = '             --1-------2-';
      runs.A.push(first, second);

      expectObservable(source.pipe(serialGate(keyOf, run))).toBe(expected);
      expectSubscriptions(first.subscriptions).toBe(firstSubs);
      expectSubscriptions(second.subscriptions).toBe(secondSubs);
    });
    expect(calls).toEqual(['A1', 'A2']);
  });

  it('should run different keys in parallel, each with its own follow-up', () => {
    const runs = { A: [] as Observable<string>[], B: [] as Observable<string>[] };
    const { calls, run } = scripted(runs);
    testScheduler.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const source = hot('           ax-b-y------', triggers);
      const a1 = cold('              -----1|');
      const b1 = cold('               --3|');
      const a2 = cold('                    --2|');
      const b2 = cold('                    -4|');
      const a1Subs = '               ^-----!';
      const b1Subs = '               -^--!';
      const b2Subs = '               -----^-!';
      const a2Subs = '               ------^--!';
      const expected = '             ---3-14-2---';
      runs.A.push(a1, a2);
      runs.B.push(b1, b2);

      expectObservable(source.pipe(serialGate(keyOf, run))).toBe(expected);
      expectSubscriptions(a1.subscriptions).toBe(a1Subs);
      expectSubscriptions(b1.subscriptions).toBe(b1Subs);
      expectSubscriptions(a2.subscriptions).toBe(a2Subs);
      expectSubscriptions(b2.subscriptions).toBe(b2Subs);
    });
    expect(calls).toEqual(['A1', 'B1', 'B2', 'A2']);
  });

  it('should complete once the source completed and the last follow-up finished', () => {
    const runs = { A: [] as Observable<string>[] };
    const { run } = scripted(runs);
    testScheduler.run(({ cold, hot, expectObservable }) => {
      const source = hot('           a-b|', triggers);
      const first = cold('           ---1|');
      const followUp = cold('            --2|');
      const expected = '             ---1--2|';
      runs.A.push(first, followUp);

      expectObservable(source.pipe(serialGate(keyOf, run))).toBe(expected);
    });
  });

  it('should error the output when run errors and no onError is given', () => {
    const runs = { A: [] as Observable<string>[] };
    const { run } = scripted(runs);
    testScheduler.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const source = hot('           a-b-----', triggers);
      const failing = cold('         --#', undefined, new Error('boom'));
      const sourceSubs = '           ^-!';
      const expected = '             --#';
      const error = new Error('boom');
      runs.A.push(failing);

      expectObservable(source.pipe(serialGate(keyOf, run))).toBe(expected, undefined, error);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should hand an error to onError and keep the gate running, follow-up included', () => {
    const runs = { A: [] as Observable<string>[] };
    const { calls, run } = scripted(runs);
    const reported: unknown[] = [];
    testScheduler.run(({ cold, hot, expectObservable }) => {
      const source = hot('           a-b---------c---', triggers);
      const failing = cold('         --#', undefined, new Error('boom'));
      const followUp = cold('          --2|');
      const later = cold('                       -3|');
      const expected = '             ----2--------3--';
      runs.A.push(failing, followUp, later);

      const gate = serialGate(keyOf, run, { onError: (error, key, value) => reported.push([key, value, (error as Error).message]) });
      expectObservable(source.pipe(gate)).toBe(expected);
    });
    expect(reported).toEqual([['A', 'A1', 'boom']]);
    expect(calls).toEqual(['A1', 'A2', 'A3']);
  });

  it('should unsubscribe the runs in flight when the output is unsubscribed', () => {
    const runs = { A: [] as Observable<string>[], B: [] as Observable<string>[] };
    const { run } = scripted(runs);
    testScheduler.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const source = hot('           ax------', triggers);
      const a1 = cold('              ------1|');
      const b1 = cold('               ------3|');
      const unsub = '                ---!';
      const a1Subs = '               ^--!';
      const b1Subs = '               -^-!';
      runs.A.push(a1);
      runs.B.push(b1);

      expectObservable(source.pipe(serialGate(keyOf, run)), unsub).toBe('---');
      expectSubscriptions(a1.subscriptions).toBe(a1Subs);
      expectSubscriptions(b1.subscriptions).toBe(b1Subs);
    });
  });

  it('should handle runs that finish synchronously', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const source = hot('           a-b-x-c|', triggers);
      const expected = '             a-b-x-c|';

      expectObservable(source.pipe(serialGate(keyOf, (_key, value) => of(value)))).toBe(expected, triggers);
    });
  });
});
