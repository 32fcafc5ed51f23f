import { Observable } from 'rxjs';
import type { OperatorFunction } from 'rxjs';

/** Options of `serialGate`. */
export interface SerialGateOptions<T, K> {
  /** Receives an error from `run`; the key's gate stays open and a queued follow-up still runs. Without it an error from `run` errors the output. */
  onError?: ((error: unknown, key: K, value: T) => void) | undefined;
}

/**
 * Runs at most one `run` per key at a time; triggers arriving meanwhile collapse into exactly one
 * follow-up run after it finishes.
 *
 * This is the per-document sync gate: `syncDoc` must never run twice at once for a doc, yet a
 * change made while a sync is in flight must not be lost. It is `exhaustMap` with one trailing
 * run, per key: the follow-up receives the LATEST trigger value that arrived during the run; no
 * follow-up happens when nothing arrived; different keys run in parallel. A key's state is dropped
 * as soon as it is idle, so the gate holds no memory for keys that are not running.
 *
 * Errors: `run` should handle its own failures (`catchError` inside it) and must not error. As a
 * safety net, pass `onError`: an error from `run` is then handed to it and the gate carries on.
 * Without `onError` an error from `run` is the output's error notification (it is never swallowed).
 * The output completes when the source has completed and every run (and follow-up) has finished.
 *
 * ## Example
 * ```ts
 * import { Subject, timer, map } from 'rxjs';
 * import { serialGate } from './operators/serialGate.js';
 *
 * const syncRequests = new Subject<string>();
 * syncRequests
 *   .pipe(serialGate((docId) => docId, (docId) => timer(100).pipe(map(() => `synced ${docId}`))))
 *   .subscribe(console.log);
 * syncRequests.next('a'); // runs now
 * syncRequests.next('a'); // queued
 * syncRequests.next('a'); // collapses into the queued follow-up: 'synced a' is logged twice in all
 * ```
 *
 * @param keyOf Maps a trigger to its key (e.g. the doc id).
 * @param run Starts the work for a key; subscribed once per run, and unsubscribed when the output is.
 * @param options `onError` to keep the gate alive when `run` errors.
 * @return A function that returns an Observable of every value emitted by every run.
 */
export function serialGate<T, K, R>(
  keyOf: (value: T) => K,
  run: (key: K, value: T) => Observable<R>,
  options: SerialGateOptions<T, K> = {},
): OperatorFunction<T, R> {
  const { onError } = options;

  return (source) =>
    new Observable<R>((subscriber) => {
      // A key is in the map exactly while a run for it is in flight; `queued` is its follow-up.
      const gates = new Map<K, { queued: { value: T } | null }>();
      let sourceDone = false;

      const finish = (key: K): void => {
        const queued = gates.get(key)?.queued;
        if (queued) {
          start(key, queued.value);
          return;
        }
        gates.delete(key);
        if (sourceDone && gates.size === 0) subscriber.complete();
      };

      const fail = (error: unknown, key: K, value: T): void => {
        if (!onError) {
          subscriber.error(error);
          return;
        }
        onError(error, key, value);
        finish(key);
      };

      const start = (key: K, value: T): void => {
        gates.set(key, { queued: null });
        let inner: Observable<R>;
        try {
          inner = run(key, value);
        } catch (error) {
          fail(error, key, value);
          return;
        }
        // Inner subscriptions remove themselves from `subscriber` when they end.
        subscriber.add(
          inner.subscribe({
            next: (result) => subscriber.next(result),
            error: (error: unknown) => fail(error, key, value),
            complete: () => finish(key),
          }),
        );
      };

      subscriber.add(
        source.subscribe({
          next: (value) => {
            let key: K;
            try {
              key = keyOf(value);
            } catch (error) {
              subscriber.error(error);
              return;
            }
            const gate = gates.get(key);
            if (gate) gate.queued = { value };
            else start(key, value);
          },
          error: (error: unknown) => subscriber.error(error),
          complete: () => {
            sourceDone = true;
            if (gates.size === 0) subscriber.complete();
          },
        }),
      );
    });
}
