import { wakeups$, type WakeEventSource, type WakeReason } from '../../src/streams/wakeups.js';

/** A window or document stand-in: keeps listeners and fires events on demand. */
class FakeTarget implements WakeEventSource {
  readonly listeners = new Map<string, Set<() => void>>();
  visibilityState = 'visible';

  addEventListener(type: string, listener: () => void): void {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type)!.add(listener);
  }

  removeEventListener(type: string, listener: () => void): void {
    this.listeners.get(type)?.delete(listener);
  }

  fire(type: string): void {
    for (const listener of [...(this.listeners.get(type) ?? [])]) listener();
  }

  get listenerCount(): number {
    return [...this.listeners.values()].reduce((count, set) => count + set.size, 0);
  }
}

describe('wakeups$', () => {
  it('should emit on online, pageshow, becoming visible and resume, not on hiding or freeze', () => {
    const document = new FakeTarget();
    const window = Object.assign(new FakeTarget(), { document });
    const seen: WakeReason[] = [];
    const subscription = wakeups$(window).subscribe((reason) => seen.push(reason));

    window.fire('online');
    window.fire('online');
    window.fire('pageshow');
    document.visibilityState = 'hidden';
    document.fire('visibilitychange');
    document.fire('freeze');
    document.visibilityState = 'visible';
    document.fire('visibilitychange');
    document.fire('resume');
    window.fire('offline');

    expect(seen).toEqual(['online', 'online', 'pageshow', 'visible', 'resume']);
    subscription.unsubscribe();
  });

  it('should remove every listener on unsubscribe', () => {
    const document = new FakeTarget();
    const window = Object.assign(new FakeTarget(), { document });
    const subscription = wakeups$(window).subscribe();
    expect(window.listenerCount + document.listenerCount).toBe(4);
    subscription.unsubscribe();
    expect(window.listenerCount + document.listenerCount).toBe(0);
  });

  it('should never emit without a target (Node)', () => {
    const seen: WakeReason[] = [];
    const subscription = wakeups$(undefined).subscribe({ next: (reason) => seen.push(reason), complete: () => seen.push('online') });
    subscription.unsubscribe();
    expect(seen).toEqual([]);
  });
});
