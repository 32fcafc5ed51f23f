/**
 * Work written as a generator that yields where it may pause (between ops, between chunks of a
 * transform), so one caller can run it at once and another in slices (the server, which serves
 * other requests between them: `src/server/docs/runSliced.ts`). A yield carries nothing.
 */
export type Steps<T> = Generator<void, T, void>;

/**
 * Runs `steps` to its end at once and returns its result.
 *
 * @example
 * function* twice(n: number): Steps<number> { yield; return 2 * n; }
 * runToEnd(twice(4)); // 8
 */
export function runToEnd<T>(steps: Steps<T>): T {
  let step = steps.next();
  while (!step.done) step = steps.next();
  return step.value;
}
