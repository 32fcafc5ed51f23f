import { readFile, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { StoreError } from '../../errors.js';
import { TOMBSTONE_FILE, checkContiguous, dropRepeats, isTempFile, parseLines, segmentName, segmentsOf, snapshotName, snapshotRevsOf, startIndex } from './docFiles.js';
import { listDir, unlinkQuiet } from './fileOps.js';
import { entryLastRev } from './ServerStore.js';
import type { DocSnapshot, LogEntry, StoredDoc } from './ServerStore.js';

/**
 * Reads a live document from its directory (`names`, its listing): the latest snapshot it can
 * read and the log after it, finishing what a crash cut short on the way: a temp file left by a
 * snapshot or tombstone write is removed, and a torn last line (never acknowledged) is cut off
 * the last segment. A line that repeats an earlier one is skipped (see `dropRepeats`). Any other
 * unreadable line, a rev held twice with other contents, or a gap in the revs, is a `StoreError`.
 *
 * @param onWarning told of a snapshot it cannot read (skipped for an older one or the log), and of repeated lines
 * @returns what was read, and the head rev (the last entry's, or the snapshot's)
 */
export async function readDocFiles(docId: string, dir: string, names: string[], onWarning: (warning: StoreError) => void): Promise<{ stored: StoredDoc; headRev: number }> {
  // A snapshot or tombstone whose write was cut short by a crash left only its temp file.
  for (const name of names) if (isTempFile(name)) await unlinkQuiet(join(dir, name));
  const snapshot = await readLatestSnapshot(docId, dir, names, onWarning);
  const snapshotRev = snapshot?.rev ?? 0;
  const segments = segmentsOf(names);
  const read: LogEntry[] = [];
  const from = startIndex(segments, snapshotRev);
  for (let i = from; i < segments.length; i++) {
    const last = i === segments.length - 1;
    const entries = await readSegment(docId, dir, segments[i], last);
    for (const entry of entries) if (entryLastRev(entry) > snapshotRev) read.push(entry);
  }
  const { entries: tail, repeats } = dropRepeats(docId, read);
  if (repeats > 0) onWarning(new StoreError(`Log of document "${docId}" holds ${repeats} line(s) twice: each read skips the repeats (the files are left as they are)`, docId));
  checkContiguous(docId, snapshotRev, tail);
  const lastEntry = tail[tail.length - 1];
  const headRev = lastEntry ? entryLastRev(lastEntry) : snapshotRev;
  return { stored: snapshot ? { snapshot, tail } : { tail }, headRev };
}

/**
 * The log entries of a document after `afterRev`, read from its segment files (none for a
 * deleted or unknown doc). Reads only: an append may be in flight, and its unterminated last
 * line is simply not there yet.
 */
export async function readLogFiles(docId: string, dir: string, afterRev: number): Promise<LogEntry[]> {
  const names = listDir(dir);
  if (!names || names.includes(TOMBSTONE_FILE)) return [];
  const segments = segmentsOf(names);
  const out: LogEntry[] = [];
  for (let i = startIndex(segments, afterRev); i < segments.length; i++) {
    const text = await readFile(join(dir, segmentName(segments[i])), 'utf8');
    // An append may be in flight: an unterminated last line is simply not there yet.
    const { entries } = parseLines(docId, text);
    for (const entry of entries) if (entryLastRev(entry) > afterRev) out.push(entry);
  }
  // A line written twice, as loading reads it (which tells of it).
  return dropRepeats(docId, out).entries;
}

async function readLatestSnapshot(docId: string, dir: string, names: string[], onWarning: (warning: StoreError) => void): Promise<DocSnapshot | undefined> {
  for (const rev of snapshotRevsOf(names)) {
    try {
      return JSON.parse(await readFile(join(dir, snapshotName(rev)), 'utf8')) as DocSnapshot;
    } catch (error) {
      // Renames are atomic, so this only happens to a file damaged after the fact: fall back
      // to the previous snapshot (the log still holds everything after it), and say so, since
      // the damage may reach further than this file.
      onWarning(new StoreError(`Snapshot ${snapshotName(rev)} of document "${docId}" cannot be read (${(error as Error).message}): skipped, the doc is rebuilt from an older snapshot or its log`, docId, { cause: error }));
    }
  }
  return undefined;
}

async function readSegment(docId: string, dir: string, start: number, last: boolean): Promise<LogEntry[]> {
  const path = join(dir, segmentName(start));
  const text = await readFile(path, 'utf8');
  const { entries, validBytes } = parseLines(docId, text);
  if (last && validBytes < Buffer.byteLength(text)) await truncate(path, validBytes);
  return entries;
}
