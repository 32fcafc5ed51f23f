import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { StoreError } from '../../errors.js';
import type { Checkpoints } from './Checkpoints.js';
import type { DocRecord, DocRecords } from './DocRecords.js';
import { segmentName, segmentsOf, startIndex } from './docFiles.js';
import { listDir } from './fileOps.js';
import type { JournalFiles } from './JournalFiles.js';
import { entryFirstRev, entryLastRev } from './ServerStore.js';
import type { LogEntry, StoredDoc } from './ServerStore.js';
import { isSyncFailedMarker } from './syncFailure.js';

/** A journal record saying "forget this doc's earlier records" (written when it is deleted). */
export const RESET = { reset: true } as const;

/** What recovery works with: FileServerStore's journals, checkpoints and doc records, and how it reads and writes a doc. */
export interface Recovering {
  /** The data directory. */
  root: string;
  /** The journal files to replay, then empty. */
  journals: JournalFiles;
  /** Where the segments to sync before the journal is emptied go, and the checkpoint that empties it. */
  checkpoints: Checkpoints;
  records: DocRecords;
  /** Whether the directory's lock was taken over from a process that died on this host (a crash, even with an empty journal). */
  tookOver: boolean;
  /** Reads the doc from its files (a torn last line cut off), setting where its next append goes. */
  load(docId: string, doc: DocRecord): Promise<StoredDoc>;
  /** Appends one line to the doc's active segment. */
  writeSegment(docId: string, doc: DocRecord, entry: LogEntry): void;
  /** Whether the store was abandoned: recovery writes nothing more (a crash, for the files), the next start replays. */
  abandoned(): boolean;
  onWarning(warning: StoreError): void;
}

/**
 * Replays the journal: each document gets the records after its last reset marker that its
 * files lack (rev order, contiguous), then the journal is emptied. If any document's replay
 * fails (a full disk, a corrupt segment), recovery rejects naming them, so `open` and every
 * call reject and `close` does not checkpoint: serving the segments without those records would
 * reuse acknowledged revs, and the next checkpoint would empty the journal, their only copy.
 */
export async function recoverJournal(store: Recovering): Promise<void> {
  const { journals, checkpoints } = store;
  const byDoc = new Map<string, LogEntry[]>();
  // A checkpoint's retired journal first (its records are older): a doc's records may be in both.
  const { records, recordFirst } = await journals.read();
  let distrusted = false;
  for (const { docId, body } of records) {
    if (isSyncFailedMarker(body)) distrusted = true;
    else if (isReset(body)) byDoc.set(docId, []);
    else byDoc.set(docId, [...(byDoc.get(docId) ?? []), body as LogEntry]);
  }
  const failed: { docId: string; error: unknown }[] = [];
  for (const [docId, entries] of byDoc) {
    if (store.abandoned()) throw new StoreError('FileServerStore is closed');
    try {
      await replay(store, docId, entries);
    } catch (error) {
      failed.push({ docId, error });
    }
  }
  if (failed.length > 0) throw replayFailed(failed);
  // After a crash, a line not synced yet has its record in the journal (written before it, in
  // the same step): the replay marked those docs' segments to sync. A process of an older build
  // wrote the line first, and a crash of it can leave a line whose append was in flight with no
  // record: this start would serve it, and a commit built on it could not be replayed after a
  // power cut that took it (found by the crash test: a kill, a restart that served such a line,
  // a commit after it, a power cut). A journal without the header this build writes says so:
  // every doc's last segment is synced first then. So it is after a failed sync (the marker):
  // the records kept name every segment whose sync failed (no journal is emptied after it), not
  // every directory (a snapshot's or a tombstone's, in a doc with no record), synced again so.
  const crashed = records.length > 0 || store.tookOver;
  if (crashed && (!recordFirst || distrusted)) unsyncedLastSegments(store.root, checkpoints);
  // A sync failed in a process before: what it would sync is written anew instead (a sync of
  // those files may report success and write nothing), then synced as always with the directories.
  if (distrusted) {
    store.records.closeSegments();
    const rewritten = await checkpoints.rewriteUnsynced();
    store.onWarning(new StoreError(`a sync failed in an earlier run: the log segments this start syncs (${rewritten}) were written anew first`));
  }
  // Empties the journal too (a torn end of a crash with it: records must not follow one).
  if (crashed) await checkpoints.hold();
  // Every line not synced has its record in the journal now: a new journal file with the header
  // takes this process's records, never the emptied one (its sync may have failed before: see `openFresh`).
  await journals.current.openFresh();
}

async function replay(store: Recovering, docId: string, entries: LogEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await store.records.use(docId, async (doc) => {
    const stored = await store.load(docId, doc);
    if (stored.tombstone || store.abandoned()) return;
    // The lines the crashed process wrote may be in its segments with no sync yet (a kill leaves
    // them to the page cache): those segments are synced before the journal is emptied, with
    // the lines replayed now (found by the crash test: a kill, a restart that replayed nothing
    // into a doc and emptied the journal, then a power cut lost an acknowledged commit).
    unsyncedFrom(store.root, doc.dir, entryFirstRev(entries[0]), store.checkpoints);
    const lastStored = stored.tail[stored.tail.length - 1];
    let last = lastStored ? entryLastRev(lastStored) : (stored.snapshot?.rev ?? 0);
    for (const entry of entries) {
      if (entryFirstRev(entry) !== last + 1) continue;
      store.writeSegment(docId, doc, entry);
      last = entryLastRev(entry);
    }
  });
}

/** Puts every doc's last segment and directory, and the data directory, in the unsynced sets (a start after a crash). */
function unsyncedLastSegments(root: string, checkpoints: Checkpoints): void {
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const dir = join(root, entry.name);
    const segments = segmentsOf(listDir(dir) ?? []);
    if (segments.length === 0) continue;
    checkpoints.fileWritten(join(dir, segmentName(segments[segments.length - 1])));
    checkpoints.dirWritten(dir);
  }
  checkpoints.dirWritten(root);
}

/** Puts the doc's segments that may hold rev `rev` and after, and its directory's entries, in the unsynced sets. */
function unsyncedFrom(root: string, dir: string, rev: number, checkpoints: Checkpoints): void {
  const segments = segmentsOf(listDir(dir) ?? []);
  for (let i = startIndex(segments, rev - 1); i < segments.length; i++) checkpoints.fileWritten(join(dir, segmentName(segments[i])));
  checkpoints.dirWritten(dir);
  checkpoints.dirWritten(root);
}

/** The error of a recovery whose replay failed: the first few docs and their causes, and what to do. */
function replayFailed(failed: readonly { docId: string; error: unknown }[]): StoreError {
  const named = failed.slice(0, 3).map(({ docId, error }) => `${JSON.stringify(docId)}: ${(error as Error).message}`);
  const more = failed.length > 3 ? ` and ${failed.length - 3} more` : '';
  const message = `cannot replay the journal into ${named.join('; ')}${more}; free space or repair, then start again`;
  return new StoreError(message, failed.length === 1 ? failed[0].docId : undefined, { cause: failed[0].error });
}

function isReset(body: unknown): boolean {
  return typeof body === 'object' && body !== null && (body as { reset?: unknown }).reset === true;
}
