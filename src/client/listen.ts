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
