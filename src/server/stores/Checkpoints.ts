import { join } from 'node:path';
import type { CommitJournal } from './CommitJournal.js';
import { eachAtMost } from '../../util/eachAtMost.js';
import { fsyncDir, fsyncFile, ignoreMissing } from './fileOps.js';
import type { JournalFiles } from './JournalFiles.js';
import { rewriteFile } from './syncFailure.js';
import type { FailStop } from './syncFailure.js';

/**
 * Syncs a checkpoint that holds the appends runs at once (libuv's thread pool has 4 threads by
 * default), and one appends go on beside: one thread is left to the journal's writes, which the
 * replies wait for (3 against 4, alternated, `DOCS=3000 RATE=250 node bench/checkpointWait.js`:
 * worst append 28–84 ms against 59–366).
 */
const CHECKPOINT_SYNCS = { holding: 4, rotating: 3 };

/**
 * Segment files and directories written while one journal was current, not synced yet: their
 * lines are durable in that journal only, which a checkpoint empties once it has synced them.
 */
interface Unsynced {
  files: Set<string>;
  dirs: Set<string>;
}

function noneUnsynced(): Unsynced {
  return { files: new Set(), dirs: new Set() };
}

/**
 * FileServerStore's checkpoints: what was written since the last one and is durable only in the
 * journal (segment files, new directory entries), the syncs that make it durable on its own, and
 * when the journal may then be emptied. A checkpoint starts when the journal passes
 * `checkpointBytes` or the files written since the last one reach `checkpointFiles`, and after an
 * append that failed for lack of space; appends go on beside it (see {@link runAppend}).
 */
export class Checkpoints {
  /** Segment files and directories written since the last checkpoint started, not yet synced. */
  private unsynced = noneUnsynced();
  /** What the checkpoint under way syncs: taken from `unsynced` as it started. */
  private syncing: Unsynced | undefined;
  private readonly appending = new Set<Promise<void>>();
  private checkpointing: Promise<void> | undefined;
  /** Whether the checkpoint under way holds the appends (one that could not rotate the journal). */
  private holding = false;
  /** A rotation under way: `rotated` waits for it, so the journal it opens is closed too. */
  private rotating: Promise<unknown> | undefined;
  /** Syncs running outside a checkpoint (see `outsideCheckpoint`). */
  private readonly syncsOutside = new Set<Promise<void>>();
  /** Set by `close`: no checkpoint starts any more. */
  private closed = false;
  private segmentSyncs = 0;
  private rootSyncs = 0;

  /**
   * @param root the data directory
   * @param journals the journal files a checkpoint retires and empties
   * @param failStop stops the writes when a sync fails; says whether a journal may be emptied
   * @param checkpointBytes journal size that triggers a checkpoint
   * @param checkpointFiles how many segment files written since the last checkpoint trigger one
   */
  constructor(
    private readonly root: string,
    private readonly journals: JournalFiles,
    private readonly failStop: FailStop,
    private readonly checkpointBytes: number,
    private readonly checkpointFiles: number,
  ) {}

  /**
   * Syncs outside checkpoints: `segmentSyncs`, segments synced before a snapshot; `rootSyncs`,
   * syncs of the data directory (new documents' entries) before a snapshot or tombstone.
   */
  get stats(): { segmentSyncs: number; rootSyncs: number } {
    return { segmentSyncs: this.segmentSyncs, rootSyncs: this.rootSyncs };
  }

  /** A segment file got a line: durable in the journal only until a checkpoint (or a snapshot of its doc) syncs it. */
  fileWritten(path: string): void {
    this.unsynced.files.add(path);
  }

  /** A directory got a new entry (a segment file, a doc's directory): synced by the next checkpoint. */
  dirWritten(dir: string): void {
    this.unsynced.dirs.add(dir);
  }

  /**
   * Runs an append (`run`): once the checkpoint under way lets it (see below), and tracked while
   * in flight, since a checkpoint that holds the appends waits for those in flight. Starts a
   * checkpoint when one is due after it, or when it failed for lack of space.
   */
  async runAppend(run: () => Promise<void>): Promise<void> {
    // A checkpoint that rotated the journal holds only the appends that come once as much again
    // was written meanwhile (a disk slower than the commits): the journals and the files to sync
    // stay bounded. While it rotates, appends go on into the journal it retires. One that holds
    // the appends holds them all.
    while (this.checkpointing && (this.holding || (!this.rotating && this.due()))) await this.checkpointing;
    this.failStop.assertWritable();
    const appended = run();
    this.appending.add(appended);
    try {
      await appended;
    } catch (error) {
      // A full disk: the journal's lines are in the segments already, and a checkpoint gives their space back.
      if (isOutOfSpace(error) && this.journals.current.bytes > 0) this.start();
      throw error;
    } finally {
      this.appending.delete(appended);
    }
    if (this.due()) this.start();
  }

  /** Whether what was written since the last checkpoint started reaches `checkpointBytes` or `checkpointFiles`. */
  private due(): boolean {
    return this.journals.current.bytes >= this.checkpointBytes || this.unsynced.files.size >= this.checkpointFiles;
  }

  /**
   * Starts a checkpoint unless one is running. One that fails keeps the journals (nothing is
   * lost) and the next trigger tries again; no append waits on the failure.
   */
  private start(): void {
    // Once closed, `close` runs the last checkpoint itself, after the appends in flight: one
    // started by such an append would run beside it, and either could empty the journal while
    // the other still synced what it holds.
    if (this.checkpointing || this.closed || this.failStop.error) return;
    this.checkpointing = this.rotatingCheckpoint()
      .catch(() => undefined)
      .finally(() => (this.checkpointing = undefined));
  }

  /**
   * A checkpoint appends go on beside: the journal is retired (see `JournalFiles.rotate`) and a
   * fresh one takes the appends, with fresh sets of unsynced files; this syncs the files written
   * before, then empties the retired journal. If any of that fails, the retired journal is kept,
   * what was to be synced goes back to the sets, and the next checkpoint holds the appends and
   * empties both journals. So does this one when the journal cannot be retired now.
   */
  private async rotatingCheckpoint(): Promise<void> {
    const journals = this.journals;
    if (!journals.canRotate) return this.hold();
    let old: CommitJournal;
    try {
      const rotation = journals.rotate(
        () => {
          this.syncing = this.unsynced;
          this.unsynced = noneUnsynced();
        },
        (error) => this.failStop.syncFailed(error),
      );
      this.rotating = rotation;
      old = await rotation;
    } catch {
      // Nothing was switched: the journal and the sets are as they were (kept for good if the directory's sync failed).
      if (this.failStop.error) return;
      return this.hold();
    } finally {
      this.rotating = undefined;
    }
    // Its last groups: a write that fails is refused, and its line taken back out of its segment.
    // Every write it acknowledged was durable when it was: a failed close loses none.
    await old.close().catch(() => undefined);
    journals.retired(old);
    await this.syncCheckpointed(CHECKPOINT_SYNCS.rotating, () => journals.emptyRetired(() => this.failStop.assertMayEmpty()));
  }

  /**
   * A checkpoint that holds the appends: waits for those in flight, syncs everything written since
   * the last checkpoint, and empties both journals (`close`'s last one, and recovery's).
   */
  async hold(): Promise<void> {
    this.holding = true;
    try {
      await Promise.allSettled(this.appending);
      this.syncing = this.unsynced;
      this.unsynced = noneUnsynced();
      await this.syncCheckpointed(CHECKPOINT_SYNCS.holding, () => this.journals.emptyAll(() => this.failStop.assertMayEmpty()));
    } finally {
      this.holding = false;
    }
  }

  /**
   * Syncs the files and directories in `syncing`, `atOnce` at a time, waits for the syncs running
   * outside the checkpoint, then runs `empty`. If any of that fails, what was to be synced goes back to the
   * unsynced sets for the next checkpoint (and the journal stays).
   */
  private async syncCheckpointed(atOnce: number, empty: () => Promise<void>): Promise<void> {
    const { files, dirs } = this.syncing as Unsynced;
    let emptying = false;
    try {
      // A few at a time: a disk serves several syncs at once.
      await eachAtMost(atOnce, files, fsyncFile);
      await eachAtMost(atOnce, dirs, (dir) => fsyncDir(dir).catch(ignoreMissing));
      const outside = await Promise.allSettled([...this.syncsOutside]);
      const failed = outside.find((result): result is PromiseRejectedResult => result.status === 'rejected');
      if (failed) throw failed.reason;
      this.failStop.assertMayEmpty();
      emptying = true;
      await empty();
    } catch (error) {
      // Anything before emptying is a sync that failed (or one outside, or the store abandoned).
      if (!emptying) this.failStop.syncFailed(error);
      for (const path of files) this.unsynced.files.add(path);
      for (const dir of dirs) this.unsynced.dirs.add(dir);
      throw error;
    } finally {
      this.syncing = undefined;
    }
  }

  /** Resolves once the checkpoint under way, if any, is over (it emptied the journal, or it failed and kept it). */
  async idle(): Promise<void> {
    while (this.checkpointing) await this.checkpointing;
  }

  /** No checkpoint starts from now on (the store is closing: see `start`). */
  close(): void {
    this.closed = true;
  }

  /** Waits for a rotation under way (the journal it opens is closed with the rest). */
  async rotated(): Promise<void> {
    await this.rotating?.catch(() => undefined);
  }

  /**
   * Syncs the doc's segments written since the last checkpoint. Before a snapshot: recovery
   * replays the journal only past the last rev on disk, which the snapshot then claims, so the
   * lines it covers must already be durable, or a power cut would leave a hole in the history
   * before it (`readLog` from an older rev would skip changes).
   *
   * @param dir the doc's directory
   */
  async syncSegmentsOf(dir: string): Promise<void> {
    const ofDoc = (path: string) => path.startsWith(join(dir, 'log-'));
    const unsynced = this.unsynced.files;
    const taken = [...unsynced].filter(ofDoc);
    // Out of the set first: a line appended during the sync puts its file back for the checkpoint.
    for (const path of taken) unsynced.delete(path);
    // Those a checkpoint under way is syncing are synced here too: it may not have reached them
    // (found in review: a snapshot during a checkpoint claimed lines no sync had made durable yet).
    const paths = new Set([...taken, ...[...(this.syncing?.files ?? [])].filter(ofDoc)]);
    try {
      await this.outsideCheckpoint(async () => {
        for (const path of paths) await fsyncFile(path);
      });
    } catch (error) {
      for (const path of taken) this.unsynced.files.add(path);
      throw this.failStop.syncFailed(error);
    }
    this.segmentSyncs += paths.size;
  }

  /**
   * Syncs the data directory if it holds a new doc's entry not synced yet: before a snapshot or a
   * tombstone is made durable outside the journal (a checkpoint would sync it, and until then
   * recovery recreates the directory from the journal).
   */
  async syncNewDocEntries(): Promise<void> {
    // A new doc's entry a checkpoint under way is syncing is synced here too: it may not have
    // reached it (found in review: a tombstone written then was lost with its directory in a power cut).
    const taken = this.unsynced.dirs.delete(this.root);
    if (taken || this.syncing?.dirs.has(this.root)) {
      try {
        await this.outsideCheckpoint(() => fsyncDir(this.root));
      } catch (error) {
        if (taken) this.unsynced.dirs.add(this.root);
        throw this.failStop.syncFailed(error);
      }
      this.rootSyncs += 1;
    }
  }

  /**
   * Runs a sync of files or directories taken out of the unsynced sets (before a snapshot or a
   * tombstone): until it is done, the journal is what makes their lines durable, so a checkpoint
   * that starts meanwhile waits for it before it empties the journal.
   */
  private async outsideCheckpoint(sync: () => Promise<void>): Promise<void> {
    const running = sync();
    this.syncsOutside.add(running);
    try {
      await running;
    } finally {
      this.syncsOutside.delete(running);
    }
  }

  /**
   * Writes every segment file not synced yet anew (a sync failed in a process before: a sync of
   * those files may report success and write nothing), for the next checkpoint to sync as always.
   *
   * @returns how many files
   */
  async rewriteUnsynced(): Promise<number> {
    await eachAtMost(CHECKPOINT_SYNCS.holding, this.unsynced.files, rewriteFile);
    return this.unsynced.files.size;
  }
}

/** Whether `error` says the disk, the file size limit or the quota has no room left. */
function isOutOfSpace(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EFBIG' || code === 'EDQUOT';
}
