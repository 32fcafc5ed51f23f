/**
 * A per-key FIFO lock: tasks for one key run one at a time, in the order they were queued;
 * different keys never wait for each other.
 *
 * The OT server needs exactly this: every commit on a document must see the result of the
 * previous one (one server order, contiguous revs), while commits on other documents proceed in
 * parallel. A failing task does not break the chain: the next task still runs.
 *
 * ## Example
 * ```ts
 * const lock = new KeyedLock();
 * const a = lock.run('doc1', async () => 1);
 * const b = lock.run('doc1', async () => 2); // starts after `a` settles
 * ```
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  /**
   * Queues `task` behind every task already queued for `key`.
   *
   * @param key the lock key (a document id)
   * @param task the work to run exclusively for that key
   * @return the task's result (or its rejection)
   */
  run<T>(key: string, task: () => T | Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task);
    const tail = result.then(ignore, ignore);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** True while a task for `key` is queued or running. */
  isBusy(key: string): boolean {
    return this.tails.has(key);
  }

  /** Resolves once every task queued so far (for any key) has settled. */
  async idle(): Promise<void> {
    while (this.tails.size > 0) await Promise.all(this.tails.values());
  }
}

function ignore(): void {}
