import { constants } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ignoreMissing, writeWhole } from './fileOps.js';

/** One line of the journal: a record for one document. */
export interface JournalRecord {
  /** The document the record belongs to. */
  docId: string;
  /** The record itself (a log entry, or a marker). */
  body: unknown;
}

/**
 * The journal is opened with O_DSYNC, so a group's write is durable when it returns: one system
 * call (and one trip to the thread pool) per group instead of a write and a `datasync` (~0.17
 * against ~0.21 ms per group on ext4 on our test machine). Where the platform has no O_DSYNC
 * (Windows), each write is followed by a `datasync`.
 */
const DSYNC: number | undefined = constants.O_DSYNC;

interface Waiting {
  line: string;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * A write-ahead journal with group commit: one append-only file that many writers share, so
 * many commits share one sync (one synchronous write, see `DSYNC`). A `write` resolves only once its line is on disk. The
 * writes made in one turn of the event loop form a group, and writes that arrive while a group
 * is syncing wait and go together in the next one, so the number of syncs follows the disk's
 * speed, not the number of commits (the classic group commit).
 *
 * A failed write or sync rejects every line of its group and cuts the file back to where the
 * group started, so a later group never follows half a record.
 */
export class CommitJournal {
  private handle: FileHandle | undefined;
  private size = 0;
  private queue: Waiting[] = [];
  private draining: Promise<void> | undefined;
  private syncCount = 0;

  /** @param path the journal file (created if missing) */
  constructor(readonly path: string) {}

  /** Bytes in the journal: callers checkpoint and `reset` it when it grows. */
  get bytes(): number {
    return this.size;
  }

  /** How many syncs this journal has made (each one covers a whole group of writes). */
  get syncs(): number {
    return this.syncCount;
  }

  /** Opens the file (creating it) now instead of at the first write: a journal that cannot be written fails at once. */
  async open(): Promise<void> {
    await this.file();
  }

  /** Reads every complete record; a torn last line (never acknowledged) is left out. */
  async readRecords(): Promise<JournalRecord[]> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      ignoreMissing(error);
      return [];
    }
    const records: JournalRecord[] = [];
    for (const line of text.split('\n').slice(0, -1)) {
      try {
        records.push(JSON.parse(line) as JournalRecord);
      } catch {
        break; // a torn group: nothing after it was acknowledged
      }
    }
    return records;
  }

  /** Appends one record (`bodyJson`: its body already serialised); resolves once it is durable, with its group. */
  write(record: JournalRecord, bodyJson = JSON.stringify(record.body)): Promise<void> {
    // Built around the body's JSON, which the caller has usually serialised already.
    const line = `{"docId":${JSON.stringify(record.docId)},"body":${bodyJson}}\n`;
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ line, resolve, reject });
      this.kick();
    });
  }

  /**
   * Empties the journal (after everything it holds is durable elsewhere). Waits for writes in
   * flight, and holds those that arrive meanwhile until it is done, as a group of its own: a line
   * written while the file was cut (a delete's marker, which waits for no checkpoint) was counted
   * from the old size or cut away with the rest, and the count, then off, made a later failed
   * group cut back into acknowledged lines (found in review).
   */
  async reset(): Promise<void> {
    while (this.draining) await this.draining;
    const emptied = this.empty();
    // In `draining`'s place, so `kick` queues what comes meanwhile; a failure is the caller's alone.
    this.draining = emptied
      .catch(() => undefined)
      .finally(() => {
        this.draining = undefined;
        if (this.queue.length > 0) this.kick();
      });
    await emptied;
  }

  /** Cuts the file to nothing and makes that durable; the count follows the cut. */
  private async empty(): Promise<void> {
    if (this.handle) {
      await this.handle.truncate(0);
      // Cut, if not yet durable: the next group starts at 0 either way.
      this.size = 0;
      await this.handle.datasync();
      return;
    }
    // Not opened by this process (nothing written yet): empty what a previous one left.
    let handle: FileHandle | undefined;
    try {
      handle = await open(this.path, 'r+');
      await handle.truncate(0);
      await handle.datasync();
    } catch (error) {
      ignoreMissing(error);
    } finally {
      await handle?.close();
    }
    this.size = 0;
  }

  /** Waits for writes in flight, then closes the file. */
  async close(): Promise<void> {
    while (this.draining) await this.draining;
    await this.handle?.close();
    this.handle = undefined;
  }

  private kick(): void {
    if (this.draining) return;
    this.draining = this.drain().finally(() => {
      this.draining = undefined;
      // A write that arrived after the last group was taken (between drain's end and here).
      if (this.queue.length > 0) this.kick();
    });
  }

  private async drain(): Promise<void> {
    // Let the writes made in this turn of the event loop join the group before it is taken.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.queue.length > 0) {
      const group = this.queue;
      this.queue = [];
      const start = this.size;
      try {
        const handle = await this.file();
        const text = group.map((waiting) => waiting.line).join('');
        const bytes = await writeWhole(handle, text, start);
        if (DSYNC === undefined) await handle.datasync();
        this.syncCount += 1;
        this.size = start + bytes;
        for (const waiting of group) waiting.resolve();
      } catch (error) {
        await this.handle?.truncate(start).catch(() => undefined);
        for (const waiting of group) waiting.reject(error);
      }
    }
  }

  private async file(): Promise<FileHandle> {
    if (!this.handle) {
      this.handle = await open(this.path, constants.O_RDWR | constants.O_CREAT | constants.O_APPEND | (DSYNC ?? 0));
      this.size = (await this.handle.stat()).size;
      // The file may have just been created: make its directory entry durable too.
      const dir = await open(dirname(this.path), 'r');
      await dir.sync().catch(() => undefined).finally(() => dir.close());
    }
    return this.handle;
  }
}
