/**
 * The last `limit` distinct keys first added, the one added longest ago forgotten first: for "tell
 * this once per doc" in a long-running process, where a set of every doc ever told of would only
 * grow. A key added again while remembered keeps its place (a doc told of at every turn is told
 * again once `limit` other keys came after it). A key forgotten is new again, so its report comes
 * again (once), rather than never or at every turn.
 *
 * ## Example
 * ```ts
 * const told = new RecentKeys(1024);
 * if (told.add(docId)) console.warn(`doc ${docId} is damaged`);
 * ```
 */
export class RecentKeys {
  private readonly keys = new Set<string>();

  /** @param limit how many keys are remembered (at least 1) */
  constructor(private readonly limit: number) {
    if (!(limit >= 1)) throw new RangeError(`RecentKeys: limit must be at least 1, got ${limit}`);
  }

  /** Remembers `key`; true when it was not remembered already (the caller's first word about it). */
  add(key: string): boolean {
    if (this.keys.has(key)) return false;
    this.keys.add(key);
    if (this.keys.size > this.limit) this.keys.delete(this.keys.values().next().value as string);
    return true;
  }

  /** How many keys are remembered. */
  get size(): number {
    return this.keys.size;
  }
}
