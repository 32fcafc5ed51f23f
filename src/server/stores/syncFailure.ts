// What FileServerStore does once a sync of a segment or a directory failed. On Linux a failed
// writeback marks the pages it could not write as clean and reports the error once: a later sync
// of the file, on a fresh descriptor, reports success with none of those lines on the disk
// ("fsyncgate", PostgreSQL 2018). So such a file is never trusted to a later sync: the store takes
// no more writes and keeps the journal (every acknowledged line is in it), a marker in the journal
// tells the next start, and that start writes the files anew (a new file, synced, renamed over the
// old) from what it reads, the page cache's lines and the journal's replayed, before it empties the journal.
import { randomBytes } from 'node:crypto';
import { open, readFile, rename } from 'node:fs/promises';
import { StoreError } from '../../errors.js';
import { tempName } from './docFiles.js';
import { datasyncFd, ignoreMissing, unlinkQuiet } from './fileOps.js';

/** The journal record body that marks a failed sync: the next start rewrites what it would sync. */
export interface SyncFailedMarker {
  syncFailed: string;
}

/** Whether a journal record's body is a {@link SyncFailedMarker}. */
export function isSyncFailedMarker(body: unknown): body is SyncFailedMarker {
  return typeof body === 'object' && body !== null && typeof (body as { syncFailed?: unknown }).syncFailed === 'string';
}

/**
 * The error every write gets once a sync failed (no doc named: the server answers 500 `{ scope: 'server' }`).
 *
 * @param ofJournal whether it was the journal's own sync (the next start replays it, and writes no file anew)
 */
export function syncFailedError(error: unknown, ofJournal = false): StoreError {
  const next = ofJournal ? 'replays the journal' : 'writes the files the journal covers anew';
  const message =
    `a sync of the data failed (${(error as Error).message}): this FileServerStore takes no more writes; ` +
    `every acknowledged commit is in its journal; restart the process (the next start ${next})`;
  return new StoreError(message, undefined, { cause: error });
}

/**
 * Puts `data` at `path` through a new file beside it: written, synced when `sync`, then renamed
 * over `path` (a reader sees the old file or the new, never half of one). The new file is removed
 * if any step fails. The caller syncs the directory for the rename.
 */
export async function replaceFile(path: string, data: string | Buffer, sync: boolean): Promise<void> {
  const temp = tempName(path, randomBytes(4).toString('hex'));
  try {
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(data);
      if (sync) await datasyncFd(handle.fd);
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    // A file too big for the disk must not keep its space (only a load removes temps).
    await unlinkQuiet(temp).catch(() => undefined);
    throw error;
  }
}

/**
 * Writes the file at `path` anew with what reading it gives (the page cache's lines, which a sync
 * that failed left unwritten and marked clean), so a sync covers them; a file gone is skipped.
 */
export async function rewriteFile(path: string): Promise<void> {
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (error) {
    ignoreMissing(error);
    return;
  }
  await replaceFile(path, data, true);
}
