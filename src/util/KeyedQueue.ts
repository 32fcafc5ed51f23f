/**
 * Runs tasks one at a time per key, in arrival order; different keys run concurrently.
 *
 * Client and server need exactly this for a document: every read-modify-write of a doc's state
 * (mint a local change, apply server changes, commit on the server) must see the result of the
 * previous one, while other docs proceed in parallel. A failing task does not break the chain:
 * the next task still runs.
 *
 * @example
 * const queue = new KeyedQueue();
 * const a = queue.run('doc-1', async () => 1);
 * const b = queue.run('doc-1', async () => 2); // starts after `a` settles
 */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `task` after every task queued before it for `key`; resolves or rejects with its result. */
  run<R>(key: string, task: () => R | Promise<R>): Promise<R> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task);
    // The chain itself never rejects, or the next task would inherit the previous one's error.
    const tail = result.then(ignore, ignore);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Resolves when every task queued so far for `key` has settled. */
  settled(key: string): Promise<void> {
    return this.tails.get(key) ?? Promise.resolve();
  }

  /** True while a task for `key` is queued or running. */
  isBusy(key: string): boolean {
    return this.tails.has(key);
  }

  /** Resolves once every task queued so far, for any key, has settled. */
  async idle(): Promise<void> {
    while (this.tails.size > 0) await Promise.all(this.tails.values());
  }
}

function ignore(): void {}
