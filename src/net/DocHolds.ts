/**
 * Doc ids held by steps under way, counted: a doc is held while any hold naming it is. Each hold
 * is released once, however often its release is called (a step's end and its teardown may both
 * release it).
 *
 * @example
 * const holds = new DocHolds();
 * const release = holds.hold(['notes']);
 * holds.has('notes'); // true
 * release();
 * holds.has('notes'); // false
 */
export class DocHolds {
  private readonly counts = new Map<string, number>();

  /** Holds the docs until the returned function is first called. */
  hold(docIds: readonly string[]): () => void {
    for (const id of docIds) this.counts.set(id, (this.counts.get(id) ?? 0) + 1);
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      for (const id of docIds) {
        const count = this.counts.get(id) ?? 1;
        if (count > 1) this.counts.set(id, count - 1);
        else this.counts.delete(id);
      }
    };
  }

  /** Whether any hold names the doc. */
  has(docId: string): boolean {
    return this.counts.has(docId);
  }
}
