import type { PageLifecycleTarget } from '../../src/streams/pageAway.js';
import type { WakeEventSource } from '../../src/streams/wakeups.js';

/** A window or document stand-in: keeps listeners and fires events on demand. */
export class FakeEventTarget implements WakeEventSource {
  readonly listeners = new Map<string, Set<(event?: unknown) => void>>();

  addEventListener(type: string, listener: (event?: unknown) => void): void {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type)!.add(listener);
  }

  removeEventListener(type: string, listener: (event?: unknown) => void): void {
    this.listeners.get(type)?.delete(listener);
  }

  /** Dispatches `type` (with `event`) to the current listeners. */
  fire(type: string, event: unknown = {}): void {
    for (const listener of [...(this.listeners.get(type) ?? [])]) listener(event);
  }

  /** How many listeners are registered in all. */
  get listenerCount(): number {
    return [...this.listeners.values()].reduce((count, set) => count + set.size, 0);
  }
}

/**
 * A page's window for the page lifecycle: `pagehide`/`pageshow` fire on it, `freeze`/`resume` on
 * its `document`, in the order Chromium fires them.
 *
 * @example
 * const page = new FakePage();
 * page.store();   // the user navigated away: into the back/forward cache
 * page.restore(); // and back
 */
export class FakePage extends FakeEventTarget implements PageLifecycleTarget {
  readonly document = new FakeEventTarget();

  /** Into the back/forward cache: `pagehide` (persisted), then `freeze`. */
  store(): void {
    this.fire('pagehide', { persisted: true });
    this.document.fire('freeze');
  }

  /** Back from the back/forward cache: `resume`, then `pageshow` (persisted). */
  restore(): void {
    this.document.fire('resume');
    this.fire('pageshow', { persisted: true });
  }

  /** Unloaded (the tab closed, or left for a page the cache does not keep): `pagehide`, not persisted. */
  unload(): void {
    this.fire('pagehide', { persisted: false });
  }

  /** A background tab frozen by the browser. */
  freeze(): void {
    this.document.fire('freeze');
  }

  /** Thawed (shown again). */
  resume(): void {
    this.document.fire('resume');
  }

  /** How many listeners are registered on the window and its document. */
  override get listenerCount(): number {
    return super.listenerCount + this.document.listenerCount;
  }
}
