import { InMemoryStore } from '../../src/stores/InMemoryStore.js';
import type { PatchesStore } from '../../src/stores/PatchesStore.js';

/** A held store call: `reached` resolves once the call is made; it completes after `release()`. */
export interface HeldCall {
  reached: Promise<void>;
  release(): void;
}

/**
 * A store (an `InMemoryStore` unless given) whose next call of one method can be held, so a spec
 * can do something at the exact moment a sync step is writing (an edge mock: the store itself is
 * real and every call reaches it unchanged).
 *
 * @example
 * const store = holdingStore();
 * const applying = store.holdNext('applyServerChanges');
 * await applying.reached; // a server batch is being written now
 * applying.release();
 */
export function holdingStore(inner: PatchesStore = new InMemoryStore()): PatchesStore & { holdNext(method: keyof PatchesStore): HeldCall } {
  const holds = new Map<PropertyKey, { arrived: () => void; released: Promise<void> }>();
  const holdNext = (method: keyof PatchesStore): HeldCall => {
    let arrived!: () => void;
    let release!: () => void;
    const reached = new Promise<void>(resolve => (arrived = resolve));
    holds.set(method, { arrived, released: new Promise<void>(resolve => (release = resolve)) });
    return { reached, release };
  };
  return new Proxy(inner, {
    get(target, prop) {
      if (prop === 'holdNext') return holdNext;
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const hold = holds.get(prop);
        if (!hold) return (value as (...a: unknown[]) => unknown).apply(target, args);
        holds.delete(prop);
        hold.arrived();
        return hold.released.then(() => (value as (...a: unknown[]) => unknown).apply(target, args));
      };
    },
  }) as PatchesStore & { holdNext(method: keyof PatchesStore): HeldCall };
}
