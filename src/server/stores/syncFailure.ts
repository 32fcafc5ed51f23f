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

/**
 * Whether a FileServerStore may still write and empty its journal: not once a sync of a segment,
 * a directory or the journal failed (every write then rejects with the error that stopped it),
 * nor once it was abandoned (a crash, for the files).
 */
export class FailStop {
  /** Set once a sync failed: every write rejects with it, and no journal is emptied. */
  private stopped: StoreError | undefined;
  /** Set by `abandon`: a checkpoint still running empties no journal (a crash, for the files). */
  private abandoned = false;

  /**
   * @param onWarning told once, of the failed sync that stopped the writes (and of a marker that could not be written)
   * @param mark writes the marker to the journal appends go to (`undefined` when the store keeps none)
   */
  constructor(
    private readonly onWarning: (warning: StoreError) => void,
    private readonly mark: (marker: SyncFailedMarker) => Promise<void> | undefined,
  ) {}

  /** Set once a sync failed: the error every write gets until the process restarts. */
  get error(): StoreError | undefined {
    return this.stopped;
  }

  /** From now on no journal is emptied, and a failed sync stops and marks nothing: the store is being abandoned. */
  abandon(): void {
    this.abandoned = true;
  }

  /** Whether `abandon` was called. */
  get isAbandoned(): boolean {
    return this.abandoned;
  }

  /**
   * A sync of a segment, a directory or the journal (`ofJournal`) failed: stops the writes (once),
   * marks the journal for the next start (not after its own sync failed: see below) and tells
   * `onWarning`. Returns what the call that met it throws: the error every write gets from now on,
   * or `error` itself when the file could not even be opened (no sync ran, so the kernel kept any
   * error for the next one: the checkpoint tries again, as before). Not once abandoned (the journal
   * is closed; a crash, for the files).
   *
   * The journal's own: its later syncs are not trusted either, so it takes no more records (the
   * group's appends are refused, their lines cut back out of their segments), and no marker is
   * written. None is needed: no segment's sync failed, so the next start may trust them, and every
   * record a sync covered (all that was acknowledged) is on the disk; what the failed sync left in
   * the file is a call that was refused, replayed or not. Nor does that file take a record again: the next
   * start takes its commits into a new one (`CommitJournal.openFresh`).
   */
  syncFailed(error: unknown, ofJournal = false): unknown {
    if (this.stopped || this.abandoned || (error as NodeJS.ErrnoException).syscall === 'open') return this.stopped ?? error;
    const stopped = syncFailedError(error, ofJournal);
    this.stopped = stopped;
    if (!ofJournal) {
      const marker: SyncFailedMarker = { syncFailed: (error as Error).message };
      this.mark(marker)?.catch((markerError: unknown) => {
        this.onWarning(new StoreError(`cannot mark the journal after a failed sync (${(markerError as Error).message}): the next start may trust files it should write anew`, undefined, { cause: markerError }));
      });
    }
    this.onWarning(stopped);
    return stopped;
  }

  /** Refuses a write once a sync failed. */
  assertWritable(): void {
    if (this.stopped) throw this.stopped;
  }

  /**
   * Throws unless a journal may be emptied now: not once abandoned (a crash, for the files: the
   * journal stays as a crash leaves it), nor once a sync failed (a snapshot's, a journal's: a journal
   * is emptied no more in this process, and its marker must stay). Checked again in the step of each cut.
   */
  assertMayEmpty(): void {
    if (this.abandoned) throw new StoreError('FileServerStore is closed');
    if (this.stopped) throw this.stopped;
  }
}
