import type { OnlineEventTarget } from '../../src/streams/online.js';

/** A minimal stand-in for `window` in online/offline specs: keeps listeners and fires events on demand. */
export class FakeWindow implements OnlineEventTarget {
  readonly listeners = new Map<string, Set<() => void>>();

  constructor(readonly navigator?: { onLine?: unknown }) {}

  addEventListener(type: 'online' | 'offline', listener: () => void): void {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type)!.add(listener);
  }

  removeEventListener(type: 'online' | 'offline', listener: () => void): void {
    this.listeners.get(type)?.delete(listener);
  }

  /** Dispatches `online` or `offline` to the current listeners. */
  fire(type: 'online' | 'offline'): void {
    for (const listener of [...(this.listeners.get(type) ?? [])]) listener();
  }

  /** How many listeners are registered in all. */
  get listenerCount(): number {
    let count = 0;
    for (const set of this.listeners.values()) count += set.size;
    return count;
  }
}
