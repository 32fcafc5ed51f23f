import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { CommitJournal } from './CommitJournal.js';
import type { JournalRecord } from './CommitJournal.js';
import { fsyncDir } from './fileOps.js';

/** The shared write-ahead journal, in the data directory beside the document directories. */
export const JOURNAL_FILE = 'journal.jsonl';
/**
 * The journal a checkpoint is making redundant: renamed from {@link JOURNAL_FILE} as the
 * checkpoint starts, so appends go on in a fresh journal meanwhile; emptied once the checkpoint
 * is done, kept (and replayed first after a crash) until then.
 */
export const RETIRED_JOURNAL_FILE = 'journal-checkpoint.jsonl';

/**
 * FileServerStore's two journal files: the one appends go to (`current`) and the one a checkpoint
 * retired, which holds only records older than every record of the current one. Recovery reads
 * the retired one first; a doc's records may be in both.
 */
export class JournalFiles {
  /** The journal appends and markers go to: a new one after each rotation. */
  current: CommitJournal;
  /**
   * Whether the retired file may hold a record not yet durable elsewhere: a rotation then would
   * rename the current file over it. From a rotation until the retired file is emptied. At the
   * start it is false: recovery reads the file before any checkpoint, and empties it if it holds a record.
   */
  private retiredHolds = false;
  /**
   * Whether the current journal's file is the retired one: a rotation whose new file could not be
   * made, and whose rename could not be undone either. Appends go on into it; no more rotations
   * in this process, and emptying the journals is the current journal's own reset (a second handle
   * cutting the file it writes would put its count of bytes off).
   */
  private misplaced = false;
  private retiredSyncs = 0;

  /**
   * @param root the data directory
   * @param onSyncFailed told when a sync of a journal file fails (that journal takes no more records: see `CommitJournal`)
   */
  constructor(
    private readonly root: string,
    private readonly onSyncFailed: (error: unknown) => void,
  ) {
    this.current = new CommitJournal(join(root, JOURNAL_FILE), onSyncFailed);
  }

  /** Syncs of every journal this store wrote (each covers a group of writes). */
  get syncs(): number {
    return this.retiredSyncs + this.current.syncs;
  }

  /** Whether a checkpoint may retire the current journal (see {@link rotate}). */
  get canRotate(): boolean {
    return !this.retiredHolds && !this.misplaced;
  }

  /**
   * Every complete record of both files, the retired one's first (they are older), and whether
   * the process that wrote them wrote each record before its segment line (see
   * `RECORD_FIRST_HEADER`): the current file begins with the header, or is missing or empty
   * (a crash between a rotation's rename and the new file's header) and the retired one does.
   */
  async read(): Promise<{ records: JournalRecord[]; recordFirst: boolean }> {
    const retired = await new CommitJournal(join(this.root, RETIRED_JOURNAL_FILE)).read();
    const current = await this.current.read();
    return { records: [...retired.records, ...current.records], recordFirst: current.recordFirst || (current.empty && retired.recordFirst) };
  }

  /**
   * Retires the current journal: renames it to {@link RETIRED_JOURNAL_FILE} and opens a fresh
   * {@link JOURNAL_FILE} (with the header), then syncs the directory, so a record written to the new file is never
   * durable while the rename is not. Until then writes go on into the old journal (its
   * descriptor follows the rename); `switched` runs in the same synchronous step as the switch,
   * so every record written before it is in the retired file and every later one in the new.
   *
   * @param syncFailed told when the directory's sync is the step that failed (before the undo)
   * @returns the retired journal, its writes perhaps still in flight: close it to wait for them
   * @throws the failure of a step; the current journal is then as it was (its file perhaps under
   * the retired name if the rename could not be undone: see `misplaced`)
   */
  async rotate(switched: () => void, syncFailed: (error: unknown) => void): Promise<CommitJournal> {
    const currentPath = join(this.root, JOURNAL_FILE);
    const retiredPath = join(this.root, RETIRED_JOURNAL_FILE);
    await rename(currentPath, retiredPath);
    this.retiredHolds = true;
    const next = new CommitJournal(currentPath, this.onSyncFailed);
    try {
      await next.open();
      try {
        await fsyncDir(this.root);
      } catch (error) {
        syncFailed(error);
        throw error;
      }
    } catch (error) {
      await next.close().catch(() => undefined);
      try {
        await rename(retiredPath, currentPath);
        this.retiredHolds = false;
      } catch {
        this.misplaced = true;
      }
      throw error;
    }
    const old = this.current;
    this.current = next;
    switched();
    return old;
  }

  /** Counts the syncs of a journal `rotate` retired, once it is closed. */
  retired(old: CommitJournal): void {
    this.retiredSyncs += old.syncs;
  }

  /**
   * Empties the retired file (to its header), once every record in it is durable in synced
   * segments (a rotating checkpoint's end).
   *
   * @param beforeCut run in the synchronous step of each cut: throwing keeps that file (see `CommitJournal.reset`)
   */
  async emptyRetired(beforeCut?: () => void): Promise<void> {
    if (this.misplaced) return;
    await new CommitJournal(join(this.root, RETIRED_JOURNAL_FILE), this.onSyncFailed).reset(beforeCut);
    this.retiredHolds = false;
  }

  /**
   * Empties both files, the retired one first (its records are older), once every record in
   * them is durable in synced segments (a checkpoint that held the appends).
   */
  async emptyAll(beforeCut?: () => void): Promise<void> {
    await this.emptyRetired(beforeCut);
    await this.current.reset(beforeCut);
  }

  /** Waits for the current journal's writes in flight, then closes its file. */
  close(): Promise<void> {
    return this.current.close();
  }
}
