import { DocNotTrackedError, StoreConflictError, StoreOutdatedError } from '../errors.js';

/** Conflicts redone at once; from then on each try first waits a little (see `retryOnConflict`). */
const QUICK_ATTEMPTS = 10;
/** How many times in all a step is redone before the conflict is reported (half a minute of waits, about). */
const MAX_ATTEMPTS = 300;
/** The longest wait between two tries, in ms. */
const MAX_PAUSE_MS = 200;
/** Failed refreshes in a row tolerated before the step fails with the last one (see `retryOnConflict`). */
const REFRESH_FAILURES = 3;

/** Waits `ms` milliseconds. */
function sleep(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms));
}

/**
 * Runs a read-compute-write until its guarded write lands. Another instance on the same database
 * (another tab) may write between our read and our write; the store then refuses ours with a
 * `StoreConflictError`, and the whole step is redone from a fresh read (after `onConflict`, which
 * brings the open doc up to date). Any other error, or a conflict that keeps coming back, rejects.
 *
 * Another tab writing in a burst (a hundred quick edits) wins every race against a step that
 * reads, then writes (its appends are one transaction each, ours two), so past ten quick tries
 * each one first waits a random while, growing to 200 ms (`pause`), and the burst drains (before
 * these waits, such an edit was given up after fifty quick tries and rolled back: found in review,
 * in Chromium).
 *
 * A refresh that fails is tried again with the next conflict (the third failure in a row fails
 * the step), unless retrying cannot help (the store outdated or lost, the doc no longer tracked): a store that failed
 * a moment (an aborted IndexedDB transaction) used to fail the step, and an edit's save was rolled
 * back and reported although nothing was wrong with it (found by the shared-idb fuzz with store
 * faults, seed 81499).
 *
 * @example
 * await retryOnConflict(() => mintOnce(), () => refresh(docId));
 */
export async function retryOnConflict<R>(attempt: () => Promise<R>, onConflict: () => Promise<void>, pause: (ms: number) => Promise<void> = sleep): Promise<R> {
  let refreshFailures = 0;
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof StoreConflictError) || tries >= MAX_ATTEMPTS) throw error;
      if (tries >= QUICK_ATTEMPTS || refreshFailures > 0) await pause(Math.random() * Math.min(MAX_PAUSE_MS, 2 ** (Math.max(tries - QUICK_ATTEMPTS, refreshFailures) + 1)));
      try {
        await onConflict();
        refreshFailures = 0;
      } catch (refreshError) {
        // The step is redone on what the doc showed: its guarded write meets the conflict again, and the refresh is tried again.
        if (refreshError instanceof StoreOutdatedError || refreshError instanceof DocNotTrackedError || ++refreshFailures >= REFRESH_FAILURES) throw refreshError;
      }
    }
  }
}

/**
 * What to throw when a step computed on what this tab wrote last (not on a fresh read) failed:
 * another tab may have written since (a rev gap, a doc gone), so it becomes a conflict, which
 * `retryOnConflict` redoes on a read after a refresh; the step then fails again only if it really
 * does. A conflict stays as it is.
 *
 * @example
 * try { await step(kept); } catch (error) { throw redoOnRead(docId, error); }
 */
export function redoOnRead(docId: string, error: unknown): StoreConflictError {
  if (error instanceof StoreConflictError) return error;
  return new StoreConflictError(docId, `on what this tab wrote last: ${error instanceof Error ? error.message : String(error)}`);
}
