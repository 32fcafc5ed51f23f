import { StoreError } from '../errors.js';

/**
 * What a failed store step of `Patches` rejects with (or reports): the store's own `StoreError`
 * as it is, so a `DocNotTrackedError` stays one, anything else wrapped with `message` and the
 * cause, so callers can branch on `StoreError` whatever the store threw (a raw `DOMException`).
 *
 * @example
 * await store.untrackDocs(ids).catch(error => { throw asStoreError(error, 'Could not untrack docs'); });
 *
 * @param error What the store threw.
 * @param message What failed, for a wrapped error.
 * @param docId The doc the step was about, if one.
 * @return A `StoreError`.
 */
export function asStoreError(error: unknown, message: string, docId?: string): StoreError {
  return error instanceof StoreError ? error : new StoreError(message, docId, { cause: error });
}
