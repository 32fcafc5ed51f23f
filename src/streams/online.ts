import { distinctUntilChanged, Observable, of } from 'rxjs';

/** What `online$` listens to: a window (or a worker's `self`, or a fake in tests). */
export interface OnlineEventTarget {
  /** Registers a listener for the `online` / `offline` events. */
  addEventListener(type: 'online' | 'offline', listener: () => void): void;
  /** Removes a listener added with `addEventListener`. */
  removeEventListener(type: 'online' | 'offline', listener: () => void): void;
  /** Read once per subscription for the starting value; used only when `onLine` is a boolean. */
  navigator?: { onLine?: unknown } | undefined;
}

/** The host's window, or undefined in Node. */
function defaultTarget(): OnlineEventTarget | undefined {
  return typeof window === 'undefined' ? undefined : window;
}

/**
 * Emits whether the host is online, now and on every change.
 *
 * PatchesSync only connects while online and closes the socket when the host goes offline. With
 * an event target (by default the browser `window`) it starts from `navigator.onLine` when that is
 * a boolean — otherwise it assumes online, unlike the anchor, which treats a non-boolean as
 * offline and never connects in Node — and then follows the `online` / `offline` events. Without
 * a target (Node) it emits `true` once and completes. Repeated equal values are dropped.
 *
 * ## Example
 * ```ts
 * import { online$ } from './streams/online.js';
 *
 * online$().subscribe((online) => console.log(online ? 'online' : 'offline'));
 * // In a worker: online$(self)
 * ```
 *
 * @param target The event target to follow; defaults to `window` when there is one.
 * @return An Observable of `true` (online) / `false` (offline), without repeats.
 */
export function online$(target: OnlineEventTarget | undefined = defaultTarget()): Observable<boolean> {
  if (!target) return of(true);
  return new Observable<boolean>((subscriber) => {
    const onLine = target.navigator?.onLine;
    subscriber.next(typeof onLine === 'boolean' ? onLine : true);
    const online = () => subscriber.next(true);
    const offline = () => subscriber.next(false);
    target.addEventListener('online', online);
    target.addEventListener('offline', offline);
    return () => {
      target.removeEventListener('online', online);
      target.removeEventListener('offline', offline);
    };
  }).pipe(distinctUntilChanged());
}
