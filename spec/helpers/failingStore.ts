import { InMemoryStore } from '../../src/stores/InMemoryStore.js';
import type { PatchesStore } from '../../src/stores/PatchesStore.js';

/** A store whose next calls of one method can be made to fail (see {@link failingStore}). */
export type FailingStore = PatchesStore & {
  /** The next `times` calls of `method` (default 1; `Infinity` until healed with 0) reject with `error` (default a plain `Error`), without reaching the store. */
  failNext(method: keyof PatchesStore, error?: unknown, times?: number): void;
};

/**
 * A real store (an `InMemoryStore` unless given) whose next calls of one method reject, as a
 * database that hits its quota or aborts a transaction would (an edge mock: every other call
 * reaches the store unchanged, and a failed call writes nothing).
 *
 * @example
 * const store = failingStore();
 * store.failNext('untrackDocs', new DOMException('The quota has been exceeded.', 'QuotaExceededError'));
 * await patches.untrackDocs(['notes']); // rejects with a StoreError
 */
export function failingStore(inner: PatchesStore = new InMemoryStore()): FailingStore {
  const failures = new Map<PropertyKey, { error: unknown; left: number }>();
  const failNext = (method: keyof PatchesStore, error: unknown = new Error(`${String(method)} failed`), times = 1) => {
    if (times > 0) failures.set(method, { error, left: times });
    else failures.delete(method);
  };
  return new Proxy(inner, {
    get(target, prop) {
      if (prop === 'failNext') return failNext;
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const failure = failures.get(prop);
        if (!failure) return (value as (...a: unknown[]) => unknown).apply(target, args);
        if (--failure.left === 0) failures.delete(prop);
        return Promise.reject(failure.error);
      };
    },
  }) as FailingStore;
}
