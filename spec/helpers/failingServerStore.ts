import { MemoryServerStore } from '../../src/server/stores/MemoryServerStore.js';
import type { ServerStore, StoreEvent } from '../../src/server/stores/ServerStore.js';
import { StatusError } from '../../src/errors.js';

type Method = 'loadDoc' | 'readLog' | 'append' | 'saveSnapshot' | 'deleteDoc' | 'removeTombstone';

/**
 * A memory store shared "with other server processes" (it has `watch`, and `report` plays their
 * reports) whose next calls of one method fail, as a database whose connection drops would: before
 * the call reaches the store (`failNext`), or after the store did the work (`loseNextAnswer`: the
 * connection reset after PostgreSQL committed). Every other call reaches the store unchanged.
 *
 * @example
 * const store = new FailingServerStore();
 * store.loseNextAnswer('append'); // the next append is stored, and rejects
 */
export class FailingServerStore extends MemoryServerStore implements ServerStore {
  private readonly failures = new Map<Method, { left: number; after: boolean; unavailable?: boolean }>();
  private listener: ((event: StoreEvent) => void) | undefined;

  constructor() {
    super();
    for (const method of ['loadDoc', 'readLog', 'append', 'saveSnapshot', 'deleteDoc', 'removeTombstone'] as const) {
      const inner = (this[method] as (...args: unknown[]) => Promise<unknown>).bind(this);
      (this as Record<Method, unknown>)[method] = async (...args: unknown[]) => {
        const failure = this.failures.get(method);
        if (!failure) return inner(...args);
        if (--failure.left === 0) this.failures.delete(method);
        if (failure.after) await inner(...args);
        // What PostgresServerStore answers for a database it cannot reach (`unavailable.ts`), or a plain fault.
        if (failure.unavailable) throw new StatusError(503, `The database is unavailable (${method}); retry`, { scope: 'doc' });
        throw new Error(`${method} failed (connection reset)`);
      };
    }
  }

  /**
   * The next `times` calls of `method` (`Infinity` until healed with 0) reject without reaching
   * the store: with a plain Error, or with `unavailable` the retryable 503 of a database that
   * cannot be reached.
   */
  failNext(method: Method, times = 1, options: { unavailable?: boolean } = {}): void {
    if (times > 0) this.failures.set(method, { left: times, after: false, unavailable: options.unavailable });
    else this.failures.delete(method);
  }

  /** The next call of `method` reaches the store, then rejects: its answer was lost. */
  loseNextAnswer(method: Method): void {
    this.failures.set(method, { left: 1, after: true });
  }

  watch(listener: (event: StoreEvent) => void): () => void {
    this.listener = listener;
    return () => (this.listener = undefined);
  }

  /** Reports a write "another process" made, as a shared store would. */
  report(event: StoreEvent): void {
    this.listener?.(event);
  }
}
