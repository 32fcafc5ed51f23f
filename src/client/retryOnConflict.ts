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
