import { StoreConflictError } from '../errors.js';

/** How many times a read-compute-write is redone before the conflict is reported. */
const MAX_ATTEMPTS = 50;

/**
 * Runs a read-compute-write until its guarded write lands. Another instance on the same database
 * (another tab) may write between our read and our write; the store then refuses ours with a
 * `StoreConflictError`, and the whole step is redone from a fresh read (after `onConflict`, which
 * brings the open doc up to date). Any other error, or a conflict that keeps coming back, rejects.
 *
 * @example
 * await retryOnConflict(() => mintOnce(), () => refresh(docId));
 */
export async function retryOnConflict<R>(attempt: () => Promise<R>, onConflict: () => Promise<void>): Promise<R> {
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof StoreConflictError) || tries >= MAX_ATTEMPTS) throw error;
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
