import { StoreConflictError } from '../errors.js';

/** Conflicts redone at once; from then on each try first waits a little (see `retryOnConflict`). */
const QUICK_ATTEMPTS = 10;
/** How many times in all a step is redone before the conflict is reported (half a minute of waits, about). */
const MAX_ATTEMPTS = 300;
/** The longest wait between two tries, in ms. */
const MAX_PAUSE_MS = 200;

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
 * @example
 * await retryOnConflict(() => mintOnce(), () => refresh(docId));
 */
export async function retryOnConflict<R>(attempt: () => Promise<R>, onConflict: () => Promise<void>, pause: (ms: number) => Promise<void> = sleep): Promise<R> {
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof StoreConflictError) || tries >= MAX_ATTEMPTS) throw error;
      if (tries >= QUICK_ATTEMPTS) await pause(Math.random() * Math.min(MAX_PAUSE_MS, 2 ** (tries - QUICK_ATTEMPTS + 1)));
      await onConflict();
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
