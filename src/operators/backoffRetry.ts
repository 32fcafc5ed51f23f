import { asyncScheduler, defer, EMPTY, Observable, repeat, retry, tap, throwError, timer } from 'rxjs';
import type { MonoTypeOperatorFunction, SchedulerLike } from 'rxjs';

/** How `backoffRetry` waits between resubscriptions and when it gives up. */
export interface BackoffRetryConfig<T> {
  /** Delay before the first resubscription, in ms. Default 1000. */
  initialDelay?: number | undefined;
  /** Multiplier applied to the delay after each resubscription. Default 1.5. */
  factor?: number | undefined;
  /** Upper bound of the (pre-jitter) delay, in ms. Default 30 000. */
  maxDelay?: number | undefined;
  /** Fraction of the delay that may be taken off at random: delay × (1 − jitter × random()). Default 0.2; 0 disables. */
  jitter?: number | undefined;
  /** Source of randomness in [0, 1) for the jitter. Default `Math.random`. */
  random?: (() => number) | undefined;
  /** Resubscribe when the source completes, not only when it errors. Default true. */
  repeatOnComplete?: boolean | undefined;
  /** A value for which this returns true resets the attempt counter (e.g. the socket's `'open'` event). */
  resetOn?: ((value: T) => boolean) | undefined;
  /** Consecutive resubscriptions allowed without a reset; then the error (or completion) is passed on. Default Infinity. */
  maxAttempts?: number | undefined;
  /** An error for which this returns false is passed on at once, never retried (e.g. an auth refusal). Default: retry every error. */
  retryIf?: ((error: unknown) => boolean) | undefined;
  /** Scheduler for the delays. Default `asyncScheduler`. */
  scheduler?: SchedulerLike | undefined;
}

/**
 * Resubscribes to the source after it errors or completes, waiting longer each time.
 *
 * It keeps a connection-like source alive: a WebSocket that drops (error) or closes cleanly
 * (complete) is reopened after `initialDelay × factor^n` ms, capped at `maxDelay` and shortened by
 * up to `jitter` so many clients do not reconnect in lock-step. `n` counts resubscriptions since
 * the last value matching `resetOn`, so one successful `'open'` brings the delay back to
 * `initialDelay`. Delays are rounded to whole milliseconds. Errors are never swallowed silently:
 * once `maxAttempts` is exhausted the last error (or the completion) goes downstream, and so does
 * at once an error `retryIf` refuses.
 *
 * Note: the @dabble/patches anchor uses the same 1000 / ×1.5 / 30 000 schedule but no jitter;
 * pass `jitter: 0` for identical timings.
 *
 * ## Example
 * ```ts
 * import { backoffRetry } from './operators/backoffRetry.js';
 * import { webSocketEvents } from './streams/webSocketEvents.js';
 *
 * const events$ = webSocketEvents({ url: 'ws://127.0.0.1:8080' }).pipe(
 *   backoffRetry({ resetOn: (event) => event.type === 'open' }),
 * );
 * events$.subscribe((event) => console.log(event.type));
 * ```
 *
 * @param config Delays, jitter, reset rule, attempt limit and scheduler; every field is optional.
 * @return A function that returns an Observable mirroring the source across resubscriptions.
 */
export function backoffRetry<T>(config: BackoffRetryConfig<T> = {}): MonoTypeOperatorFunction<T> {
  const {
    initialDelay = 1000,
    factor = 1.5,
    maxDelay = 30_000,
    jitter = 0.2,
    random = Math.random,
    repeatOnComplete = true,
    resetOn,
    maxAttempts = Infinity,
    retryIf = () => true,
    scheduler = asyncScheduler,
  } = config;

  return (source) =>
    defer(() => {
      // Per subscriber: resubscriptions since the last reset.
      let attempt = 0;

      /** The wait before the next resubscription, or null when the attempts are used up. */
      const nextWait = (): Observable<unknown> | null => {
        if (attempt >= maxAttempts) return null;
        const base = Math.min(initialDelay * Math.pow(factor, attempt), maxDelay);
        attempt++;
        return timer(Math.round(base * (1 - jitter * random())), scheduler);
      };

      const counted = resetOn
        ? source.pipe(
            tap((value) => {
              if (resetOn(value)) attempt = 0;
            }),
          )
        : source;

      const retried = counted.pipe(retry({ delay: (error: unknown) => (retryIf(error) ? nextWait() : null) ?? throwError(() => error) }));
      return repeatOnComplete ? retried.pipe(repeat({ delay: () => nextWait() ?? EMPTY })) : retried;
    });
}
