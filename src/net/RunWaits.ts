/**
 * What waits for docs' next finished sync run, by doc id: a finished run calls only its own doc's
 * waits. (A Subject of finished ids that every wait filtered made each run cost O(waits): 200 docs
 * tracked one by one, each waited for on its own, made their runs cost O(200²) together.)
 *
 * @example
 * const waits = new RunWaits();
 * const cancel = waits.all(['a', 'b'], () => console.log('both ran'));
 * waits.finished('a');
 * waits.finished('b'); // logs 'both ran'
 * cancel(); // nothing left to cancel
 */
export class RunWaits {
  private readonly waiting = new Map<string, Set<() => void>>();

  /** Calls `done` once every one of the docs has finished a run from now on; the returned function cancels the wait. */
  all(docIds: Iterable<string>, done: () => void): () => void {
    const ids = new Set(docIds);
    let left = ids.size;
    const one = (): void => {
      left -= 1;
      if (left === 0) done();
    };
    for (const id of ids) {
      const waits = this.waiting.get(id);
      if (waits) waits.add(one);
      else this.waiting.set(id, new Set([one]));
    }
    if (left === 0) done();
    return () => {
      for (const id of ids) {
        const waits = this.waiting.get(id);
        if (waits?.delete(one) && waits.size === 0) this.waiting.delete(id);
      }
    };
  }

  /** A run of the doc finished: calls what waited for it (each wait once). */
  finished(docId: string): void {
    const waits = this.waiting.get(docId);
    if (!waits) return;
    // Detached first: a wait begun by one of these calls waits for the doc's next run.
    this.waiting.delete(docId);
    for (const one of waits) one();
  }

  /** How many docs something waits for (for tests). */
  get size(): number {
    return this.waiting.size;
  }
}
