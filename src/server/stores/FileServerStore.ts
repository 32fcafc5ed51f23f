import { ftruncateSync, mkdirSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StoreError } from '../../errors.js';
import { RecentKeys } from '../../util/RecentKeys.js';
import { Checkpoints } from './Checkpoints.js';
import { DocRecords } from './DocRecords.js';
import type { DocRecord, OpenSegment } from './DocRecords.js';
import { lockDirectory } from './directoryLock.js';
import type { DirectoryLock } from './directoryLock.js';
import type { DocumentTombstone } from '../../types.js';
import { entryFirstRev } from './ServerStore.js';
import type { DocSnapshot, LogEntry, ServerStore, StoredDoc } from './ServerStore.js';
import { TOMBSTONE_FILE, activeSegment, documentDirectory, isDataFile, segmentName, segmentsOf, snapshotName, snapshotRevsOf } from './docFiles.js';
import { fsyncDir, listDir, unlinkQuiet, usableDirectory, writeWholeSync } from './fileOps.js';
import { JOURNAL_FILE, JournalFiles, RETIRED_JOURNAL_FILE } from './JournalFiles.js';
import { readDocFiles, readLogFiles } from './readDocFiles.js';
import { recoverJournal, RESET } from './recoverJournal.js';
import { FailStop, replaceFile } from './syncFailure.js';

export { JOURNAL_FILE, RETIRED_JOURNAL_FILE };

/** How many of the docs warned about (see `FileServerStoreOptions.onWarning`) are remembered, so not told of again at a load. */
const WARNED_DOCS = 1024;

/** Options of {@link FileServerStore}. */
export interface FileServerStoreOptions {
  /** Directory holding one sub-directory per document; created if missing. */
  directory: string;
  /** fsync every append and snapshot before acknowledging it (default `true`). Only benchmarks turn it off. */
  fsync?: boolean | undefined;
  /** Journal size that triggers a checkpoint (default 16 MB; a positive number): see {@link FileServerStore}. */
  checkpointBytes?: number | undefined;
  /**
   * How many segment files written since the last checkpoint trigger one (default 256). Appends
   * go on while a checkpoint syncs them (each file is one sync: ~1 ms on our test VM's disk) until
   * as many again were written meanwhile, so this bounds both a checkpoint's work and that wait
   * when commits are spread over many documents. A positive integer (anything else throws a `RangeError`).
   */
  checkpointFiles?: number | undefined;
  /** How many documents keep their log segment open between appends (default 256; least recently used closed first). */
  openSegments?: number | undefined;
  /**
   * How many idle documents keep their small in-memory record (where appends go; default 1024,
   * least recently used dropped first): a dropped one is read back from disk on the doc's next
   * call. Documents with a call in flight or an open segment always keep theirs.
   */
  maxDocRecords?: number | undefined;
  /**
   * Told, once per document, of damage the store works around: a snapshot it cannot read, skipped
   * for an older one or the log (a `StoreError` naming the doc and file), or a log line repeating
   * an earlier one (the last 1,024 documents warned about are remembered: one before them is told
   * again at its next load); and once, of a sync that failed, after which the store takes no more
   * writes until a restart. Default: `console.warn`.
   */
  onWarning?: ((warning: StoreError) => void) | undefined;
}

/**
 * The durable `ServerStore`: plain files, no native modules, nothing to compile.
 *
 * Each document gets a directory holding
 * - `log-<firstRev>.jsonl`: append-only segments, one JSON line per commit. An append is
 *   `datasync`ed before it resolves, so an acknowledged commit survives a crash or power cut.
 * - `snap-<rev>.json`: the latest snapshot, written to a temp file, synced, then renamed (a
 *   reader sees the old snapshot or the new one, never half of one). Every snapshot starts a new
 *   log segment, so opening a document reads one snapshot plus one short segment, never the
 *   whole history. OT segments are kept (they serve `getChangesSince` for old revs); LWW
 *   segments before the snapshot are dropped (LWW rows carry their own revs).
 * - `tombstone.json` for a deleted document.
 *
 * **Group commit.** An append writes its record to one shared write-ahead journal
 * (`journal.jsonl`, one line per commit, any document), then its line to its segment, both
 * without a sync and in one synchronous step; every commit that arrives while the journal is
 * syncing (`fdatasync`) waits for the next sync and shares it, so a busy server syncs once per
 * group instead of once per commit. The append resolves only after its journal record is
 * durable. When the journal passes `checkpointBytes` or the segments written since the
 * last checkpoint reach `checkpointFiles`, after an append that failed for
 * lack of space (the journal's space comes back) and on `close`, the segments
 * written since the last checkpoint are synced and the journal is emptied; after a crash, the
 * first call replays every journal record a document's files lack (by rev), syncs the segments of
 * the docs the journal names (no line reached a segment before its record reached the journal),
 * and empties the journal; if a replay fails, `open` and every call reject and the journal is kept
 * for a start after the repair. Snapshots, tombstones and directory entries are synced as before.
 * A journal an older build wrote (line first: no header, see `RECORD_FIRST_HEADER`) makes a start
 * after its crash sync every doc's last segment.
 *
 * **Appends go on during a checkpoint.** A checkpoint renames the journal to
 * `journal-checkpoint.jsonl` and a fresh `journal.jsonl` takes the appends (see `JournalFiles`),
 * with fresh sets of files to sync; once it has synced what was written before, it empties the
 * retired file. Appends wait for it only once as much again as its thresholds was written
 * meanwhile. Recovery replays the retired file first (a doc's records may be in both). A
 * checkpoint that fails keeps the retired file, and the next one holds the appends and empties
 * both, as every checkpoint did before; so does one that cannot rename the journal.
 *
 * **A sync that fails** (EIO) is never retried: Linux may report a later sync of that file as a
 * success with the lines still not on the disk (see `syncFailure.ts`). The store takes no more
 * writes (each rejects with a `StoreError` saying to restart), keeps the journal, and marks it;
 * the next start writes every file it would sync anew from what it reads before it empties it.
 * The journal's own sync too: its group's appends are refused, and no marker is written (see `FailStop.syncFailed`);
 * every start takes its commits into a new journal file, never the one whose sync may have failed (see `CommitJournal.openFresh`).
 *
 * A crash in the middle of an append leaves a torn last line: it was never acknowledged, so
 * `loadDoc` drops it and truncates the file. Any other unreadable line is corruption and makes
 * that one document fail loudly (`StoreError`) instead of silently losing history.
 *
 * **Memory.** The store's in-memory record of a document (its open segment, where appends go)
 * is kept for the `maxDocRecords` most recently used documents and for any with a call in
 * flight or an open segment; the others are dropped and read back from their directory on the
 * next call, as a fresh process would. A long-running server's store stays bounded however
 * many documents it has touched.
 *
 * **One process per directory.** The first call (or `open`) takes the directory's lock
 * (`patches-rx.lock`, holding the pid; `close` releases it): a second process, or a second store
 * in this one, is refused, since two would each number a doc's changes from their own head into
 * the same log. A lock left by a process that died on this host is taken over.
 *
 * Directory names are a readable prefix of the doc id plus a hash of the full id, so any
 * string is a safe doc id on case-insensitive file systems too.
 *
 * ## Example
 * ```ts
 * const store = new FileServerStore({ directory: './data' });
 * const server = await startServer({ port: 8787, store });
 * ```
 */
export class FileServerStore implements ServerStore {
  private readonly root: string;
  private readonly sync: boolean;
  /** Per-doc records, and their open segments. */
  private readonly records: DocRecords;
  private closed = false;
  /** Present when syncing: the group-commit journal's files. */
  private readonly journals: JournalFiles | undefined;
  /** Present when syncing: what is durable in the journal only, and the checkpoints that sync it. */
  private readonly checkpoints: Checkpoints | undefined;
  private recovery: Promise<void> | undefined;
  private opened: Promise<void> | undefined;
  /** The data directory's lock (one process per directory), held from the first call or `open` until `close`. */
  private lock: DirectoryLock | undefined;
  private locked: Promise<void> | undefined;
  private readonly onWarning: (warning: StoreError) => void;
  /**
   * Docs a warning was given for already (a doc loaded again, a dropped record, would repeat it):
   * the last {@link WARNED_DOCS}, oldest first, so a server reading many damaged docs keeps a bounded set.
   */
  private readonly warned = new RecentKeys(WARNED_DOCS);
  /** Whether writes may go on, and a journal be emptied: not once a sync failed (see `syncFailure.ts`), nor once abandoned. */
  private readonly failStop: FailStop;
  /**
   * The calls in flight that may write to the files (a load cuts a torn line and removes what a
   * crash left): `close` and `abandon` wait for them before they let the directory's lock go.
   */
  private readonly calls = new Set<Promise<unknown>>();

  /**
   * Counters: `syncs` of the commit journal (each covers a group of commits), and `docRecords`,
   * the documents with a record in memory right now: at most `maxDocRecords` idle ones plus
   * those with a call in flight or an open segment, however many documents were touched; and
   * `segmentSyncs`, segments synced before a snapshot outside checkpoints; `rootSyncs`, syncs of
   * the data directory (new documents' entries) before a snapshot or tombstone outside checkpoints.
   */
  get stats(): { syncs: number; docRecords: number; segmentSyncs: number; rootSyncs: number } {
    const { segmentSyncs, rootSyncs } = this.checkpoints?.stats ?? { segmentSyncs: 0, rootSyncs: 0 };
    return { syncs: this.journals?.syncs ?? 0, docRecords: this.records.size, segmentSyncs, rootSyncs };
  }

  /** Set once a sync failed: the error every write gets until the process restarts (see `syncFailure.ts`). */
  get writesStopped(): StoreError | undefined {
    return this.failStop.error;
  }

  /**
   * @param options where to keep the data, whether to fsync, and when to checkpoint
   * @throws RangeError when `checkpointBytes` is not a positive number or `checkpointFiles` not a positive integer
   */
  constructor(options: FileServerStoreOptions) {
    this.root = options.directory;
    this.sync = options.fsync ?? true;
    const checkpointBytes = options.checkpointBytes ?? 16 * 1024 * 1024;
    const checkpointFiles = options.checkpointFiles ?? 256;
    // NaN would never checkpoint (the journal would grow for good), 0 or less would at every append.
    if (!(checkpointBytes > 0)) throw new RangeError(`FileServerStore: checkpointBytes must be a positive number, not ${checkpointBytes}`);
    if (!Number.isInteger(checkpointFiles) || checkpointFiles < 1) {
      throw new RangeError(`FileServerStore: checkpointFiles must be a positive integer, not ${checkpointFiles}`);
    }
    this.records = new DocRecords(this.root, options.openSegments ?? 256, options.maxDocRecords ?? 1024);
    this.onWarning = options.onWarning ?? ((warning) => console.warn('[patches-rx FileServerStore]', warning.message));
    this.failStop = new FailStop(this.onWarning, (marker) => this.journals?.current.write({ docId: '', body: marker }));
    this.journals = this.sync ? new JournalFiles(this.root, (error) => this.failStop.syncFailed(error, true)) : undefined;
    this.checkpoints = this.journals && new Checkpoints(this.root, this.journals, this.failStop, checkpointBytes, checkpointFiles);
  }

  /**
   * Gets the store ready before the first call: creates the data directory, takes its lock (one
   * process per directory: see `lockDirectory`), replays what a crash left in the journal and
   * opens the journal. `startServer` awaits it before listening, so a
   * data directory the process cannot use stops the start instead of failing every commit later.
   * Optional otherwise (the first call does the same work); calling it again returns the same promise.
   *
   * @throws StoreError `data directory <path>: <cause>` (ENOTDIR, EACCES…, `in use by process
   * <pid> on <host> (lock file …)` while another live process holds it, or `cannot replay the
   * journal into "<doc>": <cause>…` after a crash, the journal kept), the cause attached
   */
  open(): Promise<void> {
    if (this.closed) return Promise.reject(new StoreError('FileServerStore is closed'));
    this.opened ??= this.openNow().catch((error: unknown) => {
      throw new StoreError(`data directory ${this.root}: ${(error as Error).message}`, undefined, { cause: error });
    });
    return this.opened;
  }

  private async openNow(): Promise<void> {
    await usableDirectory(this.root);
    // Recovery opens the journal at its end.
    await this.ready();
  }

  /** @inheritDoc */
  loadDoc(docId: string): Promise<StoredDoc> {
    return this.inFlight(async () => {
      // A load writes too (it cuts a torn line, removes what a crash left): never without the lock.
      this.assertOpen();
      await this.ready();
      return this.records.use(docId, (doc) => this.load(docId, doc));
    });
  }

  private async load(docId: string, doc: DocRecord): Promise<StoredDoc> {
    // Opening may truncate a torn line: appends reopen the file and read its size afresh.
    this.records.closeSegment(docId, doc);
    doc.segmentStart = undefined;
    const names = listDir(doc.dir);
    if (!names) {
      // A new doc: its first append starts segment 1, as in an empty directory (no second look for files that are not there).
      ({ start: doc.segmentStart, exists: doc.segmentExists } = activeSegment([], 1));
      return { tail: [] };
    }
    doc.dirReady = true;
    if (names.includes(TOMBSTONE_FILE)) {
      const tombstone = JSON.parse(await readFile(join(doc.dir, TOMBSTONE_FILE), 'utf8')) as DocumentTombstone;
      // A crash between writing the tombstone and erasing the data leaves files behind: finish.
      await this.removeDataFiles(docId, doc, names);
      return { tail: [], tombstone };
    }
    const { stored, headRev } = await readDocFiles(docId, doc.dir, names, (warning) => this.warnOnce(docId, warning));
    // The next append continues the head, as `writeSegment` would work out for a dropped record.
    ({ start: doc.segmentStart, exists: doc.segmentExists } = activeSegment(names, headRev + 1));
    return stored;
  }

  /** @inheritDoc */
  async readLog(docId: string, afterRev: number): Promise<LogEntry[]> {
    await this.ready();
    // Reads the files only: no record needed.
    return readLogFiles(docId, documentDirectory(this.root, docId), afterRev);
  }

  /** @inheritDoc */
  append(docId: string, entry: LogEntry): Promise<void> {
    return this.inFlight(async () => {
      this.assertOpen();
      await this.ready();
      const append = () => this.records.use(docId, (doc) => this.appendNow(docId, doc, entry));
      if (this.checkpoints) {
        await this.checkpoints.runAppend(append);
      } else {
        this.failStop.assertWritable();
        await append();
      }
    });
  }

  /** Resolves once the checkpoint under way, if any, is over (it emptied the journal, or it failed and kept it): for tools and tests. */
  async checkpointed(): Promise<void> {
    await this.checkpoints?.idle();
  }

  private async appendNow(docId: string, doc: DocRecord, entry: LogEntry): Promise<void> {
    const json = JSON.stringify(entry);
    if (!this.journals) {
      this.writeSegment(docId, doc, entry, json);
      return;
    }
    // The journal's record first, then the segment's line, in one synchronous step: a crash of
    // the process (the page cache kept) never leaves a line without its record, so a start after
    // one syncs only the segments of the docs the journal names (see `recoverJournal`). And the journal
    // it goes to is the one whose checkpoint syncs that segment (see `Checkpoints.rotatingCheckpoint`).
    const record = this.journals.current.add({ docId, body: entry }, json);
    let segment: OpenSegment;
    try {
      segment = this.writeSegment(docId, doc, entry, json);
    } catch (error) {
      // No line (a full disk, a file that cannot be opened): no record either, or a replay would
      // put it at a rev another commit takes next.
      record.takeBack();
      throw error;
    }
    const start = segment.size - Buffer.byteLength(json) - 1;
    try {
      await record.durable;
    } catch (error) {
      // Its group's sync failed (the store stops): take it back out of the segment too (the
      // record, and so its segment, stays while this call is in flight).
      cutBack(segment, start);
      throw this.failStop.error ?? error;
    }
  }

  /** Appends one line to the doc's active segment (synced at the next checkpoint, or before the doc's next snapshot). */
  private writeSegment(docId: string, doc: DocRecord, entry: LogEntry, json = JSON.stringify(entry)): OpenSegment {
    if (doc.segmentStart === undefined) {
      const names = listDir(doc.dir);
      if (names) doc.dirReady = true;
      ({ start: doc.segmentStart, exists: doc.segmentExists } = activeSegment(names ?? [], entryFirstRev(entry)));
    }
    this.ensureDir(doc);
    const created = !doc.segmentExists;
    const path = join(doc.dir, segmentName(doc.segmentStart));
    const segment = this.records.openSegment(docId, doc, path);
    const line = json + '\n';
    const start = segment.size;
    try {
      // A synchronous write (to the page cache; the journal makes it durable), as the journal's
      // record before it: every append of this turn of the event loop joins the same group commit.
      // At the segment's counted size: over what a failed write left if its cut-back failed too.
      segment.size = start + writeWholeSync(segment.fd, line, start);
    } catch (error) {
      // Never leave half a record for the next append to follow: cut back to where it started.
      cutBack(segment, start);
      throw error;
    }
    if (created) {
      doc.segmentExists = true;
      this.checkpoints?.dirWritten(doc.dir);
    }
    this.checkpoints?.fileWritten(path);
    return segment;
  }

  /** Takes the data directory's lock, then runs crash recovery: once, before the first call that reads or writes. */
  private async ready(): Promise<void> {
    await (this.locked ??= this.takeLock());
    await this.recovered();
  }

  private async takeLock(): Promise<void> {
    await mkdir(this.root, { recursive: true });
    // Closed while the directory was made: a lock taken now would never be released.
    this.assertOpen();
    this.lock = await lockDirectory(this.root);
  }

  /** Runs crash recovery once, before the first call that reads or writes (see `recoverJournal`). */
  private recovered(): Promise<void> {
    const { journals, checkpoints } = this;
    if (!journals || !checkpoints) return Promise.resolve();
    // Closed (or abandoned) while the lock was taken: that found no recovery to wait for and lets
    // the lock go, so one started now would replay after the next process did (a rev stored twice).
    if (!this.recovery && this.closed) return Promise.reject(new StoreError('FileServerStore is closed'));
    return (this.recovery ??= recoverJournal({
      root: this.root,
      journals,
      checkpoints,
      records: this.records,
      tookOver: this.lock?.tookOver === true,
      load: (docId, doc) => this.load(docId, doc),
      writeSegment: (docId, doc, entry) => this.writeSegment(docId, doc, entry),
      abandoned: () => this.failStop.isAbandoned,
      onWarning: this.onWarning,
    }));
  }

  /** @inheritDoc */
  saveSnapshot(docId: string, snapshot: DocSnapshot): Promise<void> {
    return this.inFlight(async () => {
      this.assertOpen();
      await this.ready();
      this.failStop.assertWritable();
      await this.records.use(docId, (doc) => this.snapshotNow(docId, doc, snapshot));
    });
  }

  private async snapshotNow(docId: string, doc: DocRecord, snapshot: DocSnapshot): Promise<void> {
    this.ensureDir(doc);
    await this.checkpoints?.syncSegmentsOf(doc.dir);
    await this.writeAtomic(doc.dir, snapshotName(snapshot.rev), JSON.stringify(snapshot));
    // Appends after the snapshot go to a fresh segment, so the next open reads only that one.
    this.records.closeSegment(docId, doc);
    doc.segmentStart = snapshot.rev + 1;
    doc.segmentExists = false;
    const names = listDir(doc.dir) ?? [];
    for (const rev of snapshotRevsOf(names)) if (rev < snapshot.rev) await unlinkQuiet(join(doc.dir, snapshotName(rev)));
    if (snapshot.kind === 'lww') {
      const segments = segmentsOf(names);
      for (let i = 0; i < segments.length; i++) {
        const nextStart = i + 1 < segments.length ? segments[i + 1] : doc.segmentStart;
        if (segments[i] <= snapshot.rev && nextStart <= snapshot.rev + 1) {
          await unlinkQuiet(join(doc.dir, segmentName(segments[i])));
        }
      }
    }
  }

  /** @inheritDoc */
  deleteDoc(docId: string, tombstone: DocumentTombstone): Promise<void> {
    return this.inFlight(() => this.deleteNow(docId, tombstone));
  }

  private async deleteNow(docId: string, tombstone: DocumentTombstone): Promise<void> {
    this.assertOpen();
    await this.ready();
    this.failStop.assertWritable();
    await this.records.use(docId, async (doc) => {
      this.ensureDir(doc);
      await this.writeAtomic(doc.dir, TOMBSTONE_FILE, JSON.stringify(tombstone));
      await this.removeDataFiles(docId, doc, listDir(doc.dir) ?? []);
    });
    // The journal's earlier records of this doc must never be replayed into a later life of it
    // (if this write fails, `removeTombstone` writes the marker before the next life starts).
    await this.journals?.current.write({ docId, body: RESET });
  }

  /** @inheritDoc */
  removeTombstone(docId: string): Promise<boolean> {
    return this.inFlight(() => this.undeleteNow(docId));
  }

  private async undeleteNow(docId: string): Promise<boolean> {
    this.assertOpen();
    await this.ready();
    this.failStop.assertWritable();
    // Touches the tombstone only: no record needed (the data files went with the delete).
    const dir = documentDirectory(this.root, docId);
    // The delete's own marker may have failed after its tombstone landed: the next life starts
    // with one, or recovery would replay the old life's records (matched by rev) into it.
    if (this.journals && listDir(dir)?.includes(TOMBSTONE_FILE)) await this.journals.current.write({ docId, body: RESET });
    const existed = await unlinkQuiet(join(dir, TOMBSTONE_FILE));
    if (existed && this.sync) await this.fsyncDirOrStop(dir);
    return existed;
  }

  /** @inheritDoc */
  async close(): Promise<void> {
    this.closed = true;
    this.checkpoints?.close();
    // A checkpoint that fails leaves the journal to the next start's recovery; the files close anyway.
    try {
      // Every call made before it is over before the last checkpoint, and the lock's release.
      await this.settled();
      if (this.journals && this.checkpoints) {
        // Until recovery has replayed it, the journal holds the only durable copy of what a crashed
        // process acknowledged: a store closed before its first call (a server that could not
        // listen) or whose recovery failed leaves it for the next start. Every write recovers first.
        const recovered = await this.recovery?.then(
          () => true,
          () => false,
        );
        await this.checkpoints.idle();
        try {
          // After a failed sync the journal stays for the next start, which writes the files anew.
          if (recovered && !this.failStop.error) await this.checkpoints.hold();
        } finally {
          await this.journals.close();
        }
      }
    } finally {
      this.records.closeAll();
      await this.releaseLock();
    }
  }

  /** Runs a call, tracked in {@link calls} until it settles. */
  private inFlight<T>(call: () => Promise<T>): Promise<T> {
    const running = call();
    this.calls.add(running);
    const done = () => this.calls.delete(running);
    running.then(done, done);
    return running;
  }

  /** Resolves once the calls in flight (see {@link calls}) are over, whatever their outcome. */
  private async settled(): Promise<void> {
    await Promise.allSettled(this.calls);
  }

  /** Lets go of the directory's lock, once whatever took it is done. */
  private async releaseLock(): Promise<void> {
    await this.locked?.catch(() => undefined);
    await this.lock?.release();
  }

  /**
   * Lets go of every open file without syncing or checkpointing anything, as a crash would:
   * a store opened afterwards on the directory finds the files exactly as a restart after a
   * crash finds them (crash-recovery tests; a process that must stop at once). The calls in
   * flight finish first (a snapshot, a delete, a load that cuts a torn line: none writes once the
   * lock is gone), so no file is closed under a write. The store is closed afterwards, and the
   * directory's lock released (as the death of a crashed process lets a new one take it).
   */
  async abandon(): Promise<void> {
    this.closed = true;
    this.checkpoints?.close();
    this.failStop.abandon();
    // A recovery under way stops before its next write, and is waited for: a line it wrote after
    // the lock's release would follow the next process's replay of the same record (found in review:
    // a rev stored twice).
    await this.recovery?.catch(() => undefined);
    // The calls in flight finish first (found in review: a snapshot that went on after the lock's
    // release unlinked a segment the next store had appended to). A rotation under way opens a
    // journal: closed with the rest once it is in place.
    await this.settled();
    await this.checkpoints?.rotated();
    await this.journals?.close();
    this.records.closeAll();
    await this.releaseLock();
  }

  /**
   * Creates the doc's directory (and the data directory) if missing. Its entry in the data
   * directory is synced at the next checkpoint, as a new segment's entry is: until then, recovery
   * recreates the directory from the journal, which holds every commit since. What is made durable
   * outside the journal (a snapshot, a tombstone) syncs it first (`writeAtomic`).
   */
  private ensureDir(doc: DocRecord): void {
    if (doc.dirReady) return;
    const created = mkdirSync(doc.dir, { recursive: true });
    if (created !== undefined) this.checkpoints?.dirWritten(this.root);
    doc.dirReady = true;
  }

  private warnOnce(docId: string, warning: StoreError): void {
    if (this.warned.add(docId)) this.onWarning(warning);
  }

  private async removeDataFiles(docId: string, doc: DocRecord, names: string[]): Promise<void> {
    this.records.closeSegment(docId, doc);
    for (const name of names) {
      if (isDataFile(name)) await unlinkQuiet(join(doc.dir, name));
    }
    doc.segmentStart = undefined;
    doc.segmentExists = false;
  }

  private async writeAtomic(dir: string, name: string, text: string): Promise<void> {
    await this.checkpoints?.syncNewDocEntries();
    // A failed sync of the new file stops nothing: that file is removed, and nothing trusts it.
    await replaceFile(join(dir, name), text, this.sync);
    if (this.sync) await this.fsyncDirOrStop(dir);
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreError('FileServerStore is closed');
  }

  /** Syncs a directory; a failure stops the writes (see `FailStop.syncFailed`). */
  private async fsyncDirOrStop(dir: string): Promise<void> {
    try {
      await fsyncDir(dir);
    } catch (error) {
      throw this.failStop.syncFailed(error);
    }
  }
}

/** Truncates a segment back to `start` (an append that failed or was not acknowledged); best effort. */
function cutBack(segment: OpenSegment, start: number): void {
  try {
    ftruncateSync(segment.fd, start);
  } catch {
    // Best effort: the next line is written at `start` (over half a line, which then no proper
    // part of parses), and opening the segment again, or loading the doc, cuts what follows the last whole line.
  }
  segment.size = start;
}
