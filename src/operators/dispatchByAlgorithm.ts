import { mergeMap, Observable } from 'rxjs';
import type { OperatorFunction } from 'rxjs';
import type { Algorithm } from '../types.js';

/**
 * Routes each value to the handler of its document's sync algorithm (OT or LWW).
 *
 * The OT and LWW paths share the wire but not the logic (rebase vs. per-path merge); this keeps
 * the choice in one place instead of an `if` in every step. Handlers run concurrently
 * (`mergeMap`): the operator does NOT serialise anything. Keeping one document's steps in order is
 * the caller's concern — put a per-doc queue (`serialGate`, a `concatMap` per doc) in front of it or
 * inside the handlers. An algorithm with no handler (a value from outside the type) is an error
 * notification.
 *
 * ## Example
 * ```ts
 * import { of } from 'rxjs';
 * import { dispatchByAlgorithm } from './operators/dispatchByAlgorithm.js';
 *
 * const docs = of({ docId: 'a', algorithm: 'ot' as const }, { docId: 'b', algorithm: 'lww' as const });
 * docs
 *   .pipe(dispatchByAlgorithm((doc) => doc.algorithm, {
 *     ot: (doc) => of(`rebase ${doc.docId}`),
 *     lww: (doc) => of(`merge ${doc.docId}`),
 *   }))
 *   .subscribe(console.log); // 'rebase a', 'merge b'
 * ```
 *
 * @param algorithmOf Reads the algorithm of a value (usually its tracked doc's `algorithm`).
 * @param handlers One handler per algorithm, each returning the work for one value.
 * @return A function that returns an Observable of every handler's output, merged.
 */
export function dispatchByAlgorithm<T, R>(
  algorithmOf: (value: T) => Algorithm,
  handlers: Record<Algorithm, (value: T) => Observable<R>>,
): OperatorFunction<T, R> {
  return mergeMap((value: T) => {
    const algorithm = algorithmOf(value);
    const handler = Object.prototype.hasOwnProperty.call(handlers, algorithm) ? handlers[algorithm] : undefined;
    if (!handler) throw new TypeError(`No handler for sync algorithm "${String(algorithm)}"`);
    return handler(value);
  });
}
