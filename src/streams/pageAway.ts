import { Observable, distinctUntilChanged } from 'rxjs';
import type { WakeEventSource } from './wakeups.js';

/** What `pageAway$` listens to: the window (`pagehide`, `pageshow`) and its document (`freeze`, `resume`). */
export interface PageLifecycleTarget extends WakeEventSource {
  /** The page's document: `freeze` and `resume` fire there. */
  document?: WakeEventSource | undefined;
}

/** The host's window, or undefined in Node and in workers. */
function defaultTarget(): PageLifecycleTarget | undefined {
  return typeof window === 'undefined' ? undefined : (window as unknown as PageLifecycleTarget);
}

/**
 * The page `pageAway$` follows for `target`: the host's window where there is one when
 * `undefined`, none when `null`.
 *
 * ## Example
 * ```ts
 * import { pageTarget } from './streams/pageAway.js';
 *
 * pageTarget(undefined); // the window in a browser, undefined in Node
 * ```
 *
 * @param target A page, `undefined` for the host's, or `null` for none.
 * @return The page, or `undefined` for none.
 */
export function pageTarget(target: PageLifecycleTarget | null | undefined): PageLifecycleTarget | undefined {
  return target === undefined ? defaultTarget() : (target ?? undefined);
}

/**
 * Whether the page is away: `true` from `pagehide` until `pageshow` (kept in the back/forward
 * cache, or unloading) and from the document's `freeze` until `resume` (a background tab frozen
 * by the browser), else `false`.
 *
 * A page that is away runs none of its code, for as long as the browser likes (a cached page until
 * it is evicted, up to minutes; a frozen one until it is shown again), yet it keeps whatever it
 * holds: a tab that leads the others (`SyncTabs`) lets the lead go while away. The two overlap (a
 * page entering the cache is frozen too, and thawed before its `pageshow`), so the page is back
 * only once neither holds. A page stopped without these events (a long task, a debugger pause) is
 * not seen as away.
 *
 * ## Example
 * ```ts
 * import { pageAway$ } from './streams/pageAway.js';
 *
 * pageAway$().subscribe(away => console.log(away ? 'stored or frozen' : 'running'));
 * ```
 *
 * @param target The window to listen to (its `document` for `freeze`/`resume`); `undefined`: the host's `window` where there is one; `null`: none.
 * @return An Observable of `false` at once, then `true`/`false` as the page leaves and comes back, without repeats; it never completes.
 */
export function pageAway$(target?: PageLifecycleTarget | null): Observable<boolean> {
  const page = pageTarget(target);
  return new Observable<boolean>(subscriber => {
    let stored = false;
    let frozen = false;
    const changed = () => subscriber.next(stored || frozen);
    const listeners: Array<[WakeEventSource | undefined, string, () => void]> = [
      [page, 'pagehide', () => ((stored = true), changed())],
      [page, 'pageshow', () => ((stored = false), changed())],
      [page?.document, 'freeze', () => ((frozen = true), changed())],
      [page?.document, 'resume', () => ((frozen = false), changed())],
    ];
    subscriber.next(false);
    for (const [source, type, listener] of listeners) source?.addEventListener(type, listener);
    return () => {
      for (const [source, type, listener] of listeners) source?.removeEventListener(type, listener);
    };
  }).pipe(distinctUntilChanged());
}
