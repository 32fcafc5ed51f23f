/**
 * Runs `work` on every item, at most `limit` at a time; rejects with the first failure once
 * every started call has settled (none is left running behind the caller's back). A limit
 * under 1 (or NaN) rejects with a `RangeError`: it would run nothing and resolve.
 *
 * @example
 * await eachAtMost(4, paths, fsyncFile);
 */
export async function eachAtMost<T>(limit: number, items: Iterable<T>, work: (item: T) => Promise<unknown>): Promise<void> {
  if (!(limit >= 1)) throw new RangeError(`eachAtMost: the limit must be at least 1, not ${limit}`);
  const list = [...items];
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (next < list.length && failure === undefined) {
      try {
        await work(list[next++]);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, list.length) }, worker));
  if (failure) throw failure.error;
}
