import type { Observable } from 'rxjs';
import type { Unsubscriber } from '../types.js';

/**
 * Adapts an observable to the callback API: subscribes `listener` and returns the function that
 * unsubscribes it. (A listener that throws is reported by RxJS asynchronously; the other
 * listeners keep receiving values.)
 *
 * @example
 * const stop = listen(sync.state$, state => console.log(state));
 * stop();
 */
export function listen<T>(source: Observable<T>, listener: (value: T) => void): Unsubscriber {
  const subscription = source.subscribe(listener);
  return () => subscription.unsubscribe();
}

/** What an `onError` listener hears beside the error: the doc, and the ids of edits rolled back with it when there were any. */
export interface ErrorContext {
  docId?: string;
  rolledBack?: string[];
}

/**
 * `listen` for an error stream (`Patches.errors$`, `PatchesSync.error$`): calls `listener(error,
 * context)`, the context holding `rolledBack` only when the event has it.
 *
 * @example
 * const stop = listenErrors(patches.errors$, (error, { docId }) => console.warn(docId, error));
 */
export function listenErrors(
  source: Observable<{ readonly error: Error; readonly docId?: string | undefined; readonly rolledBack?: string[] | undefined }>,
  listener: (error: Error, context: ErrorContext) => void,
): Unsubscriber {
  return listen(source, e => listener(e.error, e.rolledBack ? { docId: e.docId, rolledBack: e.rolledBack } : { docId: e.docId }));
}
