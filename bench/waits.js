// Timing helpers the benches share: a clock and a bounded wait on an observable.
import { filter, firstValueFrom, throwError, timeout } from 'rxjs';

/** Milliseconds on a monotonic clock, with sub-ms precision. */
export function now() {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** The middle value (the upper one of an even count). */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/**
 * The first value of `source$` matching `predicate`; fails after `limitMs`, naming `what`, so a
 * bench that stops converging fails instead of hanging.
 */
export function until(source$, predicate, what, limitMs = 90_000) {
  return firstValueFrom(
    source$.pipe(
      filter(predicate),
      timeout({ first: limitMs, with: () => throwError(() => new Error(`bench: timed out waiting for ${what}`)) }),
    ),
  );
}
