import { online$ } from '../../src/streams/online.js';
import { FakeWindow } from '../helpers/fakeWindow.js';

// Compile-time check: a real browser window is an accepted target.
export const acceptsWindow = (w: Window) => online$(w);

describe('online$', () => {
  it('should emit true once and complete without a window (Node)', () => {
    const seen: boolean[] = [];
    let completed = false;
    online$().subscribe({ next: (v) => seen.push(v), complete: () => (completed = true) });
    expect(seen).toEqual([true]);
    expect(completed).toBe(true);
  });

  it('should start from navigator.onLine and follow online/offline events', () => {
    const target = new FakeWindow({ onLine: false });
    const seen: boolean[] = [];
    const subscription = online$(target).subscribe((v) => seen.push(v));
    target.fire('online');
    target.fire('offline');
    subscription.unsubscribe();
    expect(seen).toEqual([false, true, false]);
  });

  it('should drop repeated equal values', () => {
    const target = new FakeWindow({ onLine: true });
    const seen: boolean[] = [];
    const subscription = online$(target).subscribe((v) => seen.push(v));
    target.fire('online');
    target.fire('offline');
    target.fire('offline');
    target.fire('online');
    subscription.unsubscribe();
    expect(seen).toEqual([true, false, true]);
  });

  it('should assume online when navigator.onLine is not a boolean', () => {
    for (const navigator of [undefined, {}, { onLine: 'yes' }]) {
      const target = new FakeWindow(navigator);
      const seen: boolean[] = [];
      online$(target).subscribe((v) => seen.push(v)).unsubscribe();
      expect(seen).toEqual([true]);
    }
  });

  it('should read navigator.onLine afresh for each subscriber', () => {
    const navigator = { onLine: true };
    const target = new FakeWindow(navigator);
    const stream = online$(target);
    const first: boolean[] = [];
    const second: boolean[] = [];
    stream.subscribe((v) => first.push(v)).unsubscribe();
    navigator.onLine = false;
    stream.subscribe((v) => second.push(v)).unsubscribe();
    expect(first).toEqual([true]);
    expect(second).toEqual([false]);
  });

  it('should remove its listeners on unsubscribe', () => {
    const target = new FakeWindow({ onLine: true });
    const subscription = online$(target).subscribe();
    expect(target.listenerCount).toBe(2);
    subscription.unsubscribe();
    expect(target.listenerCount).toBe(0);
  });
});
