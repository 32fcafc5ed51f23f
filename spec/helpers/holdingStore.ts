import { InMemoryStore } from '../../src/stores/InMemoryStore.js';
import type { PatchesStore } from '../../src/stores/PatchesStore.js';

/**
 * A held store call: `reached` resolves once the call is made; it completes after `release()`.
 * Held before the call (`holdNext`), the store runs it on release; held after (`holdNextResult`),
 * the store runs it at once and its answer, read then, is delivered on release.
 */
export interface HeldCall {
  reached: Promise<void>;
  release(): void;
}

/** A store whose next call of a method can be held (see {@link holdingStore}). */
export type HoldingStore = PatchesStore & {
  /** Holds the next call of `method` (whose arguments satisfy `matching`, if given) before the store runs it. */
  holdNext(method: keyof PatchesStore, matching?: (...args: unknown[]) => boolean): HeldCall;
  /** Holds the answer of the next call of `method` (whose arguments satisfy `matching`, if given). */
  holdNextResult(method: keyof PatchesStore, matching?: (...args: unknown[]) => boolean): HeldCall;
};

/**
 * A store (an `InMemoryStore` unless given) whose next call of one method can be held, so a spec
 * can do something at the exact moment a sync step is writing, or make a read's answer arrive
 * late (an edge mock: the store itself is real and every call reaches it unchanged).
 *
 * @example
 * const store = holdingStore();
 * const applying = store.holdNext('applyServerChanges');
 * await applying.reached; // a server batch is being written now
 * applying.release();
 */
export function holdingStore(inner: PatchesStore = new InMemoryStore()): HoldingStore {
  const holds = new Map<PropertyKey, { arrived: () => void; released: Promise<void>; after: boolean; matching?: (...args: unknown[]) => boolean }>();
  const hold = (method: keyof PatchesStore, after: boolean, matching?: (...args: unknown[]) => boolean): HeldCall => {
    let arrived!: () => void;
    let release!: () => void;
    const reached = new Promise<void>(resolve => (arrived = resolve));
    holds.set(method, { arrived, released: new Promise<void>(resolve => (release = resolve)), after, matching });
    return { reached, release };
  };
  const holdNext = (method: keyof PatchesStore, matching?: (...args: unknown[]) => boolean) => hold(method, false, matching);
  const holdNextResult = (method: keyof PatchesStore, matching?: (...args: unknown[]) => boolean) => hold(method, true, matching);
  return new Proxy(inner, {
    get(target, prop) {
      if (prop === 'holdNext') return holdNext;
      if (prop === 'holdNextResult') return holdNextResult;
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const held = holds.get(prop);
        const call = () => (value as (...a: unknown[]) => unknown).apply(target, args);
        if (!held || (held.matching && !held.matching(...args))) return call();
        holds.delete(prop);
        held.arrived();
        if (!held.after) return held.released.then(call);
        const answer = Promise.resolve(call());
        return held.released.then(() => answer);
      };
    },
  }) as HoldingStore;
}
