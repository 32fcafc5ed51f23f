import type { StoreChange } from './PatchesStore.js';

/**
 * The writes of a store that are under way, each with what it announces once committed, so the
 * store can wait for them as it closes (a write that commits then is still announced) and name
 * them at once when its page goes away (it may never see them commit).
 *
 * @example
 * const writes = new WritesUnderWay();
 * const saving = writes.run({ kind: 'write', docIds: ['notes'] }, () => save());
 * writes.changes(); // [{ kind: 'write', docIds: ['notes'] }] until it settles
 * await writes.settled();
 */
export class WritesUnderWay {
  private readonly entries = new Set<{ change: StoreChange; done: Promise<void> }>();

  /**
   * Runs `write` (started now), known as under way until it settles, however it ends.
   *
   * @param change What it announces once committed.
   * @param write The write, announcement included.
   */
  run<R>(change: StoreChange, write: () => Promise<R>): Promise<R> {
    const result = write();
    const forget = () => {
      this.entries.delete(entry);
    };
    const entry = { change, done: result.then(forget, forget) };
    this.entries.add(entry);
    return result;
  }

  /** What the writes under way announce once committed. */
  changes(): StoreChange[] {
    return [...this.entries].map((entry) => entry.change);
  }

  /** Resolves once no write is under way (also one started meanwhile). */
  async settled(): Promise<void> {
    while (this.entries.size > 0) await Promise.all([...this.entries].map((entry) => entry.done));
  }
}
