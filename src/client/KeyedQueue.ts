/**
 * Runs async tasks one at a time per key, in arrival order; different keys run concurrently.
 *
 * Every step that reads and then writes a doc's stored state (mint a local change, apply server
 * changes, move pending ops into the sending slot) goes through the doc's queue, so two of them
 * can never interleave their read and write.
 *
 * @example
 * const queue = new KeyedQueue();
 * await queue.run('doc-1', async () => store.savePendingChanges('doc-1', changes));
 */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Runs `task` after every task queued before it for `key`; resolves or rejects with its result. */
  run<R>(key: string, task: () => Promise<R>): Promise<R> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task, task);
    // The chain must not reject, or the next task would see the previous task's error.
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Resolves when every task queued so far for `key` has settled. */
  settled(key: string): Promise<void> {
    return (this.tails.get(key) ?? Promise.resolve()).then(() => undefined);
  }
}
