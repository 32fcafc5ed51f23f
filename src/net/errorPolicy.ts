import { ApplyChangesError, DocNotTrackedError, MissingChangesError, NetworkError, StatusError, StoreOutdatedError, TimeoutError, isRetryable } from '../errors.js';

/** What PatchesSync does about an error from one doc's sync. */
export type ErrorAction =
  /** The connection failed: not the doc's fault; no 'error' status, the next connection resyncs. */
  | 'network'
  /** Nothing wrong with the doc, try again soon: no reply in time on a socket that may still be open, or 503 (the server is restarting). No 'error' status, not reported, retried with backoff. */
  | 'transient'
  /** Revisions are missing: fetch what is missing and resync. */
  | 'refetch'
  /** A committed change did not apply on the doc's committed state: take the server's state (`getDoc`) and resync; reported once until the doc syncs again. */
  | 'reload'
  /** The doc was deleted on the server (410): run the remote-delete path. */
  | 'deleted'
  /** The store no longer tracks the doc (untracked or deleted here or by another tab meanwhile), or can no longer be opened by this build (`StoreOutdatedError`, reported once on its own): drop its sync quietly. */
  | 'untracked'
  /** A transient server error: mark 'error', report once, retry with backoff. */
  | 'retry'
  /** Retrying cannot help (401/402/403/404, bad data): mark 'error' and report. */
  | 'fail';

/**
 * The one error policy of PatchesSync: what is retried, what refetches, what reaches `onError`.
 *
 * @example
 * classifyError(new StatusError(410, 'gone')); // 'deleted'
 */
export function classifyError(error: unknown): ErrorAction {
  if (error instanceof NetworkError) return 'network';
  if (error instanceof TimeoutError || (error instanceof StatusError && error.code === 503)) return 'transient';
  if (error instanceof MissingChangesError) return 'refetch';
  if (error instanceof ApplyChangesError) return 'reload';
  if (error instanceof StatusError && error.code === 410) return 'deleted';
  if (error instanceof DocNotTrackedError || error instanceof StoreOutdatedError) return 'untracked';
  return isRetryable(error) ? 'retry' : 'fail';
}

/** Per-doc retry delays: 1 s × 2^n, capped at 30 s, at most 10 attempts. */
export const DOC_RETRY = { initialDelay: 1000, factor: 2, maxDelay: 30_000, maxAttempts: 10 } as const;

/** The delay before retry number `attempt` (0-based), or `undefined` when attempts are used up. */
export function docRetryDelay(attempt: number): number | undefined {
  if (attempt >= DOC_RETRY.maxAttempts) return undefined;
  return Math.min(DOC_RETRY.initialDelay * DOC_RETRY.factor ** attempt, DOC_RETRY.maxDelay);
}

/**
 * The delay before retry number `attempt` (0-based) of something retried for as long as the
 * connection lasts (a sync pass, a `subscribe`): the docs' ladder, then its longest step.
 *
 * @example
 * steadyRetryDelay(0); // 1000
 * steadyRetryDelay(20); // 30000
 */
export function steadyRetryDelay(attempt: number): number {
  return docRetryDelay(Math.min(attempt, DOC_RETRY.maxAttempts - 1)) ?? DOC_RETRY.maxDelay;
}
