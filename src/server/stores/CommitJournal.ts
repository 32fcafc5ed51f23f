import { closeSync, constants, fstatSync, ftruncateSync, openSync, readSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { tempName } from './docFiles.js';
import { datasyncFd, fsyncDir, ignoreMissing, listDir, unlinkQuiet, writeWholeSync } from './fileOps.js';
import { replaceFile } from './syncFailure.js';

/** One line of the journal: a record for one document. */
export interface JournalRecord {
  /** The document the record belongs to. */
  docId: string;
  /** The record itself (a log entry, or a marker). */
  body: unknown;
}

/**
 * The first line of every journal file this build empties or creates once it knows every segment
 * line not yet synced has its record in a journal (see `recoverJournal`): the records
 * reach the journal file before their lines reach the segments, so a start after a crash syncs
 * only the segments of the docs the journal names. An older build (segment first) never wrote
 * it, and its crash leaves lines no record names: a journal without it makes the next start sync
 * every doc's last segment. Older builds read it as a reset marker of doc `""`, an id the server
 * refuses, so a downgrade replays nothing into any doc (it syncs every last segment once).
 */
export const RECORD_FIRST_HEADER = '{"docId":"","body":{"reset":true,"recordFirst":1}}\n';
const HEADER_BYTES = Buffer.byteLength(RECORD_FIRST_HEADER);

/** What a journal file holds, read at a start (see {@link CommitJournal.read}). */
export interface JournalContents {
  /** Every complete record after the header, in order; a torn last line (never acknowledged) is left out. */
  records: JournalRecord[];
  /** Whether the file begins with {@link RECORD_FIRST_HEADER}. */
  recordFirst: boolean;
  /** Whether the file is missing or holds no byte. */
  empty: boolean;
}

/** A record written by {@link CommitJournal.add}: its durability, or its undoing. */
export interface JournalWrite {
  /** Resolves once a sync covered the record (with its group); rejects if that sync failed. */
  durable: Promise<void>;
  /**
   * Cuts the record back out of the file (its line could not be written where it goes); only in
   * the same synchronous step as `add`, before anything else is written. Its `durable` never settles.
   */
  takeBack(): void;
}

interface Waiting {
  /** Where the record starts in the file. */
  start: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * A write-ahead journal with group commit: one file that many writers share, so many commits
 * share one sync. `add` writes its record to the file at once (a synchronous write to the page
 * cache, so the caller writes the record's line to its segment only after it, in the same step)
 * and returns a promise that resolves once an `fdatasync` covered it. The records written while a
 * sync runs wait and go together in the next one (and the records of one turn of the event loop
 * form one group), so the number of syncs follows the disk's speed, not the number of commits.
 *
 * Records are written at the size the journal counts (no `O_APPEND`), so a record cut back (a
 * failed write, `takeBack`) is overwritten by the next even if the cut itself failed: what is left
 * of it past the next is a torn end (no proper suffix of a record's line parses), which reading
 * leaves out. A whole record whose cut failed is read until another is written over it: a refused
 * call replayed or not after a crash, as one in flight at a crash is, never beside a record for
 * the same rev (that one would have been written over it).
 *
 * A sync that fails stops the journal for good (`onSyncFailed`): it rejects that group's records
 * and those written since, cuts the file back to where the group began, and takes no more
 * records. A later sync could report success without the pages the failed one left (Linux marks
 * them clean: see `syncFailure.ts`), so none is tried.
 */
export class CommitJournal {
  private fd: number | undefined;
  /** Bytes in the file: where the next record goes. */
  private size = 0;
  /** Bytes of the header at the file's start (0 or the header's length). */
  private base = 0;
  /** The file was created and its directory entry not synced yet: the next sync does it first. */
  private entryUnsynced = false;
  /** Records written, waiting for the next sync. */
  private waiting: Waiting[] = [];
  private draining: Promise<void> | undefined;
  private syncCount = 0;
  /** Set once a sync failed: every later record is refused with it. */
  private failed: { error: unknown } | undefined;

  /**
   * @param path the journal file (created if missing)
   * @param onSyncFailed told once, when a sync of the file fails (after the records it covered are rejected)
   */
  constructor(
    readonly path: string,
    private readonly onSyncFailed: (error: unknown) => void = () => undefined,
  ) {}

  /** Bytes of records in the journal (the header left out): callers checkpoint and `reset` it when it grows. */
  get bytes(): number {
    return this.size - this.base;
  }

  /** How many syncs this journal has made (each one covers a whole group of records). */
  get syncs(): number {
    return this.syncCount;
  }

  /**
   * Opens the file (creating it) now instead of at the first write, and syncs its directory: a
   * journal that cannot be opened fails at once. An empty file gets the header (if it can be
   * written): only once every segment line not synced has its record in a journal (the caller's
   * word; see {@link RECORD_FIRST_HEADER}).
   */
  async open(): Promise<void> {
    this.file();
    if (this.size === 0) this.writeHeader();
    if (this.entryUnsynced) {
      this.entryUnsynced = false;
      await fsyncDir(dirname(this.path)).catch(() => undefined);
    }
  }

  /**
   * Opens a new file in place of the journal's, holding the header only: written beside it,
   * synced, renamed over it, and its directory synced (a failure of any step throws, the file
   * not opened). For a start, once the file holds nothing to keep (recovery's checkpoint emptied
   * it): its sync may have failed in a process before, and a later sync of it is not trusted (a
   * failed writeback leaves its pages clean: see `syncFailure.ts`), so one emptied and written
   * again could take this process's acknowledged records into pages no sync writes (found in
   * review: a scratch fuzz with an injected EIO on the journal's sync, then a power cut after the
   * next start's commits). What a crash left of an earlier replacement is removed first.
   */
  async openFresh(): Promise<void> {
    if (this.fd !== undefined) throw new Error('CommitJournal.openFresh: the journal is open already');
    const dir = dirname(this.path);
    const temps = tempName(basename(this.path), '');
    for (const name of listDir(dir) ?? []) if (name.startsWith(temps)) await unlinkQuiet(join(dir, name));
    await replaceFile(this.path, RECORD_FIRST_HEADER, true);
    await fsyncDir(dir);
    this.file();
    this.entryUnsynced = false;
  }

  /** Reads the file: its records, and whether it begins with the header. */
  async read(): Promise<JournalContents> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      ignoreMissing(error);
      return { records: [], recordFirst: false, empty: true };
    }
    const recordFirst = text.startsWith(RECORD_FIRST_HEADER);
    const records: JournalRecord[] = [];
    for (const line of text.slice(recordFirst ? HEADER_BYTES : 0).split('\n').slice(0, -1)) {
      try {
        records.push(JSON.parse(line) as JournalRecord);
      } catch {
        break; // a torn end: nothing after it was acknowledged
      }
    }
    return { records, recordFirst, empty: text.length === 0 };
  }

  /** Reads every complete record (the header left out); a torn last line (never acknowledged) is left out. */
  async readRecords(): Promise<JournalRecord[]> {
    return (await this.read()).records;
  }

  /**
   * Writes one record (`bodyJson`: its body already serialised) to the file now, and returns its
   * durability with its group's sync. Throws if it cannot be written (nothing of it is left in the file).
   */
  add(record: JournalRecord, bodyJson = JSON.stringify(record.body)): JournalWrite {
    if (this.failed) throw this.failed.error;
    const fd = this.file();
    // Built around the body's JSON, which the caller has usually serialised already.
    const line = `{"docId":${JSON.stringify(record.docId)},"body":${bodyJson}}\n`;
    const start = this.size;
    try {
      this.size = start + writeWholeSync(fd, line, start);
    } catch (error) {
      this.cutTo(start);
      throw error;
    }
    let waiting!: Waiting;
    const durable = new Promise<void>((resolve, reject) => (waiting = { start, resolve, reject }));
    this.waiting.push(waiting);
    this.kick();
    const takeBack = () => {
      this.waiting = this.waiting.filter((other) => other !== waiting);
      this.cutTo(start);
    };
    return { durable, takeBack };
  }

  /** Appends one record; resolves once it is durable, with its group (rejects if it cannot be written). */
  write(record: JournalRecord, bodyJson?: string): Promise<void> {
    try {
      return this.add(record, bodyJson).durable;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Empties the journal to its header (after everything it holds is durable elsewhere) and makes
   * that durable. Waits for the syncs in flight; the cut is made in one synchronous step with the
   * check that none is, so no record waiting for a sync is cut (every record written before it is:
   * a delete's marker waits for no checkpoint, and goes with the records before it).
   *
   * @param beforeCut run in that step, just before the cut: throwing keeps the journal as it is
   */
  async reset(beforeCut: () => void = () => undefined): Promise<void> {
    while (this.draining) await this.draining;
    if (this.failed) throw this.failed.error;
    let fd: number;
    try {
      fd = this.fd ?? openSync(this.path, 'r+');
    } catch (error) {
      // Nothing written by this process, nor a file before it: nothing to empty.
      ignoreMissing(error);
      return;
    }
    const opened = this.fd === undefined;
    try {
      if (opened) this.base = startsWithHeader(fd) ? HEADER_BYTES : 0;
      beforeCut();
      ftruncateSync(fd, this.base);
      this.size = this.base;
      if (this.base === 0) this.writeHeader(fd);
      if (opened) {
        await datasyncFd(fd).catch((error: unknown) => {
          this.stop(error);
          throw error;
        });
      } else {
        await this.syncAlone();
      }
    } finally {
      if (opened) closeSync(fd);
    }
  }

  /** Waits for the syncs in flight, then closes the file. */
  async close(): Promise<void> {
    while (this.draining) await this.draining;
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  /** One sync for the reset's cut (and any record written meanwhile), in the queue's order. */
  private async syncAlone(): Promise<void> {
    const done = new Promise<void>((resolve, reject) => this.waiting.push({ start: this.size, resolve, reject }));
    this.kick();
    await done;
  }

  private kick(): void {
    if (this.draining) return;
    this.draining = this.drain().finally(() => {
      this.draining = undefined;
      // A record written after the last group was taken (between drain's end and here).
      if (this.waiting.length > 0) this.kick();
    });
  }

  private async drain(): Promise<void> {
    // Let the records written in this turn of the event loop join the group before it is taken.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.waiting.length > 0) {
      const group = this.waiting;
      this.waiting = [];
      try {
        if (this.entryUnsynced) {
          this.entryUnsynced = false;
          // As `open` does: the file was created by a write before any `open`.
          await fsyncDir(dirname(this.path)).catch(() => undefined);
        }
        await datasyncFd(this.fd as number);
        this.syncCount += 1;
        for (const waiting of group) waiting.resolve();
      } catch (error) {
        const rejected = [...group, ...this.waiting];
        this.waiting = [];
        this.cutTo(group[0].start);
        this.stop(error);
        for (const waiting of rejected) waiting.reject(error);
        return;
      }
    }
  }

  /** Stops the journal after a failed sync (see the class comment), and says so once. */
  private stop(error: unknown): void {
    if (this.failed) return;
    this.failed = { error };
    this.onSyncFailed(error);
  }

  /**
   * Writes the header at the start of the empty file. If it cannot be written (a full disk), the
   * file goes on without it: the next start after a crash then syncs every doc's last segment.
   */
  private writeHeader(fd = this.fd as number): void {
    try {
      this.size = writeWholeSync(fd, RECORD_FIRST_HEADER, 0);
      this.base = HEADER_BYTES;
    } catch {
      this.cutTo(0, fd);
    }
  }

  /** Cuts the file back to `start`, best effort: the next record is written there anyway. */
  private cutTo(start: number, fd = this.fd): void {
    try {
      if (fd !== undefined) ftruncateSync(fd, start);
    } catch {
      // What is left past `start` is overwritten by the next record, or is a torn end.
    }
    this.size = start;
  }

  /** The open file, opened (and created if missing) at the first need: synchronously, so a record is written in its caller's step. */
  private file(): number {
    if (this.fd === undefined) {
      const fd = openSync(this.path, constants.O_RDWR | constants.O_CREAT);
      try {
        const { size } = fstatSync(fd);
        this.base = size > 0 && startsWithHeader(fd) ? HEADER_BYTES : 0;
        this.size = size;
        // The file may have just been created: its directory entry is synced before the first group is acknowledged.
        this.entryUnsynced = true;
      } catch (error) {
        closeSync(fd);
        throw error;
      }
      this.fd = fd;
    }
    return this.fd;
  }
}

/** Whether the file open at `fd` begins with {@link RECORD_FIRST_HEADER}. */
function startsWithHeader(fd: number): boolean {
  const head = Buffer.alloc(HEADER_BYTES);
  const read = readSync(fd, head, 0, HEADER_BYTES, 0);
  return read === HEADER_BYTES && head.toString('utf8') === RECORD_FIRST_HEADER;
}
