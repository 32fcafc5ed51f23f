import { merge, Observable } from 'rxjs';

/** Why the host may have lost or regained its network behind our back. */
export type WakeReason = 'online' | 'visible' | 'pageshow' | 'resume';

/** Something events can be listened to on: a window, a document, or a fake in tests. */
export interface WakeEventSource {
  /** Registers a listener. */
  addEventListener(type: string, listener: (event?: unknown) => void): void;
  /** Removes a listener added with `addEventListener`. */
  removeEventListener(type: string, listener: (event?: unknown) => void): void;
}

/** What `wakeups$` listens to: the window, and its document for the page lifecycle events. */
export interface WakeTarget extends WakeEventSource {
  /** The page's document: `visibilitychange`, `freeze` and `resume` fire there. */
  document?: (WakeEventSource & { visibilityState?: string | undefined }) | undefined;
}

/** The host's window, or undefined in Node. */
function defaultTarget(): WakeTarget | undefined {
  return typeof window === 'undefined' ? undefined : (window as unknown as WakeTarget);
}

/** One event on one source, as a reason (or nothing, when `accept` says the event does not count). */
function fromEvent(source: WakeEventSource | undefined, type: string, reason: WakeReason, accept: () => boolean = () => true): Observable<WakeReason> {
  return new Observable<WakeReason>((subscriber) => {
    if (!source) return;
    const listener = () => {
      if (accept()) subscriber.next(reason);
    };
    source.addEventListener(type, listener);
    return () => source.removeEventListener(type, listener);
  });
}

/**
 * Emits whenever the page may have lost its connection without a close event and should check it
 * now rather than at the next timer: `online` (also a repeated one, after a network change),
 * `visibilitychange` to visible, `pageshow` (a back/forward-cache restore revives a page whose
 * socket died while it was stored) and `resume` (a frozen page's timers did not run). `freeze`
 * needs no action: nothing runs while frozen, and `resume` follows it.
 *
 * PatchesConnection probes an open socket (liveness) or reconnects at once when none is open.
 * Without a target (Node) it never emits.
 *
 * ## Example
 * ```ts
 * import { wakeups$ } from './streams/wakeups.js';
 *
 * wakeups$().subscribe((reason) => console.log('check the connection:', reason));
 * ```
 *
 * @param target The window to listen to (its `document` for lifecycle events); defaults to `window` when there is one.
 * @return An Observable of wake reasons; it never completes.
 */
export function wakeups$(target: WakeTarget | undefined = defaultTarget()): Observable<WakeReason> {
  const document = target?.document;
  return merge(
    fromEvent(target, 'online', 'online'),
    fromEvent(target, 'pageshow', 'pageshow'),
    fromEvent(document, 'visibilitychange', 'visible', () => document?.visibilityState !== 'hidden'),
    fromEvent(document, 'resume', 'resume'),
  );
}
