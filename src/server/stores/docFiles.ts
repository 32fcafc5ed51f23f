// The layout of a document's directory in FileServerStore, as pure functions of file names and
// contents: what each file is called, which segment appends go to, which segments a read
// needs, and how a segment's lines parse. No I/O here.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { StoreError } from '../../errors.js';
import { entryFirstRev, entryLastRev } from './ServerStore.js';
import type { LogEntry } from './ServerStore.js';

const SEGMENT = /^log-(\d{16})\.jsonl$/;
const SNAPSHOT = /^snap-(\d{16})\.json$/;
const TEMP = '.tmp-';

/** The file that marks a deleted document. */
export const TOMBSTONE_FILE = 'tombstone.json';

/**
 * The directory a document's files live in (for tools and tests that inspect the data): a
 * readable prefix of the doc id plus a hash of the whole id, so any string is a safe doc id on
 * case-insensitive file systems too.
 *
 * @example
 * documentDirectory('./data', 'notes/1'); // 'data/notes_1-<16 hex digits>'
 */
export function documentDirectory(directory: string, docId: string): string {
  const readable = docId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 48);
  const hash = createHash('sha256').update(docId).digest('hex').slice(0, 16);
  return join(directory, `${readable}-${hash}`);
}

/** The log segment whose first rev is `start` (names sort as their revs do). */
export function segmentName(start: number): string {
  return `log-${String(start).padStart(16, '0')}.jsonl`;
}

/** The snapshot at `rev`. */
export function snapshotName(rev: number): string {
  return `snap-${String(rev).padStart(16, '0')}.json`;
}

/** A temporary file `name` is written to before it is renamed into place. */
export function tempName(name: string, suffix: string): string {
  return `${name}${TEMP}${suffix}`;
}

/** Whether `name` is a temporary file (left behind by a crash before its rename). */
export function isTempFile(name: string): boolean {
  return name.includes(TEMP);
}

/** Whether `name` holds document data: a segment, a snapshot, or a temporary file. */
export function isDataFile(name: string): boolean {
  return SEGMENT.test(name) || SNAPSHOT.test(name) || isTempFile(name);
}

/** The first revs of the segments among `names`, ascending. */
export function segmentsOf(names: readonly string[]): number[] {
  return revsMatching(names, SEGMENT).sort((a, b) => a - b);
}

/** The revs of the snapshots among `names`, latest first. */
export function snapshotRevsOf(names: readonly string[]): number[] {
  return revsMatching(names, SNAPSHOT).sort((a, b) => b - a);
}

function revsMatching(names: readonly string[], pattern: RegExp): number[] {
  const revs: number[] = [];
  for (const name of names) {
    const match = pattern.exec(name);
    if (match) revs.push(Number(match[1]));
  }
  return revs;
}

/**
 * Where appends go when a doc's record is (re)built: a new segment at `firstRev` when the doc
 * has none or its latest snapshot covers the last one (every snapshot starts a new segment, so
 * opening reads one snapshot and one short segment), otherwise the last segment.
 *
 * @example
 * activeSegment(['log-0000000000000001.jsonl', 'snap-0000000000000005.json'], 6); // { start: 6, exists: false }
 */
export function activeSegment(names: readonly string[], firstRev: number): { start: number; exists: boolean } {
  const segments = segmentsOf(names);
  if (segments.length === 0) return { start: firstRev, exists: false };
  const last = segments[segments.length - 1];
  const snapshotRev = snapshotRevsOf(names)[0] ?? 0;
  if (last <= snapshotRev && firstRev === snapshotRev + 1) return { start: firstRev, exists: false };
  return { start: last, exists: true };
}

/** Index of the last segment that can hold rev `afterRev + 1` (segments start sorted). */
export function startIndex(segments: readonly number[], afterRev: number): number {
  let index = 0;
  for (let i = 0; i < segments.length; i++) if (segments[i] <= afterRev + 1) index = i;
  return index;
}

/**
 * Parses JSON lines. A last line without its newline, or one that does not parse, is a torn
 * append and is left out (`validBytes` ends before it); any earlier bad line is corruption.
 */
export function parseLines(docId: string, text: string): { entries: LogEntry[]; validBytes: number } {
  const entries: LogEntry[] = [];
  let offset = 0;
  let validBytes = 0;
  while (offset < text.length) {
    const end = text.indexOf('\n', offset);
    const line = end === -1 ? text.slice(offset) : text.slice(offset, end);
    const isLast = end === -1 || end === text.length - 1;
    let entry: LogEntry | undefined;
    if (end !== -1) {
      try {
        entry = JSON.parse(line) as LogEntry;
      } catch {
        entry = undefined;
      }
    }
    if (!entry || typeof entry !== 'object') {
      if (isLast) break;
      throw new StoreError(`Corrupt log line in document "${docId}"`, docId);
    }
    entries.push(entry);
    validBytes += Buffer.byteLength(line) + 1;
    offset = end + 1;
  }
  return { entries, validBytes };
}

/**
 * Drops the log entries that repeat an earlier one line for line (the same revs, the same
 * contents), keeping the first: a line written twice (two writers replaying one journal record,
 * as `abandon` let happen before f97697c) holds no commit of its own, and applied twice it would
 * put the commit's ops twice into the doc. An entry that takes revs an earlier one holds with
 * other contents is two commits claiming one rev: a `StoreError`, since keeping either would
 * drop the other, which may have been acknowledged.
 *
 * @param entries a doc's log entries in the order its segments hold them
 * @returns the entries without the repeats, and how many were dropped
 */
export function dropRepeats(docId: string, entries: readonly LogEntry[]): { entries: LogEntry[]; repeats: number } {
  const kept: LogEntry[] = [];
  let repeats = 0;
  for (const entry of entries) {
    const last = kept[kept.length - 1];
    if (!last || entryFirstRev(entry) > entryLastRev(last)) {
      kept.push(entry);
      continue;
    }
    const earlier = withFirstRev(kept, entryFirstRev(entry));
    if (!earlier || JSON.stringify(earlier) !== JSON.stringify(entry)) {
      throw new StoreError(`Log of document "${docId}" holds rev ${entryFirstRev(entry)} twice, with different contents`, docId);
    }
    repeats += 1;
  }
  return { entries: kept, repeats };
}

/** The entry of `entries` (ascending revs) whose first rev is `rev`, by bisection. */
function withFirstRev(entries: readonly LogEntry[], rev: number): LogEntry | undefined {
  let low = 0;
  let high = entries.length - 1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const first = entryFirstRev(entries[middle]);
    if (first === rev) return entries[middle];
    if (first < rev) low = middle + 1;
    else high = middle - 1;
  }
  return undefined;
}

/** Throws a `StoreError` when the log after a snapshot at `snapshotRev` skips a rev (files lost or damaged). */
export function checkContiguous(docId: string, snapshotRev: number, tail: readonly LogEntry[]): void {
  let expected = snapshotRev + 1;
  for (const entry of tail) {
    const first = entryFirstRev(entry);
    if (first > expected) throw new StoreError(`Log of document "${docId}" jumps from rev ${expected - 1} to ${first}`, docId);
    expected = entryLastRev(entry) + 1;
  }
}
