import { StoreError } from '../../../src/errors.js';
import {
  activeSegment,
  checkContiguous,
  documentDirectory,
  dropRepeats,
  isDataFile,
  isTempFile,
  parseLines,
  segmentName,
  segmentsOf,
  snapshotName,
  snapshotRevsOf,
  startIndex,
  tempName,
} from '../../../src/server/stores/docFiles.js';
import type { LogEntry, OTLogEntry } from '../../../src/server/stores/ServerStore.js';

const entryOf = (...revs: number[]): OTLogEntry => ({ kind: 'ot', changes: revs.map((rev) => ({ id: `c${rev}`, baseRev: rev - 1, rev, ops: [], createdAt: 1, committedAt: 2 })) });
const entry = (rev: number): LogEntry => entryOf(rev);

describe('docFiles', () => {
  it('should give every doc id its own directory, readable and safe on any file system', () => {
    const dir = documentDirectory('/data', 'notes/../Ä 1');
    expect(dir).toMatch(/^\/data\/notes______1-[0-9a-f]{16}$/);
    // Ids that read the same once made safe, or differ only in case, still get their own directory.
    expect(documentDirectory('/data', 'a/b')).not.toBe(documentDirectory('/data', 'a_b'));
    expect(documentDirectory('/data', 'Notes')).not.toBe(documentDirectory('/data', 'notes'));
    expect(documentDirectory('/data', 'x'.repeat(500)).length).toBeLessThan(80);
  });

  it('should name segments and snapshots so their names sort as their revs, and read the revs back', () => {
    const names = [snapshotName(12), segmentName(10), segmentName(2), 'tombstone.json', snapshotName(9), segmentName(1), tempName(snapshotName(13), 'ab12')];
    expect([segmentName(9), segmentName(10)].sort()).toEqual([segmentName(9), segmentName(10)]);
    expect(segmentsOf(names)).toEqual([1, 2, 10]);
    expect(snapshotRevsOf(names)).toEqual([12, 9]);
  });

  it('should tell data files (segments, snapshots, leftovers of a write) from the rest', () => {
    expect(isDataFile(segmentName(1))).toBe(true);
    expect(isDataFile(snapshotName(1))).toBe(true);
    expect(isDataFile(tempName('tombstone.json', '00ff'))).toBe(true);
    expect(isTempFile(tempName('tombstone.json', '00ff'))).toBe(true);
    expect(isDataFile('tombstone.json')).toBe(false);
    expect(isDataFile('log-1.jsonl')).toBe(false);
    expect(isTempFile(segmentName(1))).toBe(false);
  });

  it('should append to the last segment, or start one after a snapshot that covers it', () => {
    expect(activeSegment([], 1)).toEqual({ start: 1, exists: false });
    expect(activeSegment([segmentName(1)], 6)).toEqual({ start: 1, exists: true });
    expect(activeSegment([segmentName(1), snapshotName(5)], 6)).toEqual({ start: 6, exists: false });
    // A snapshot behind the last segment does not start a new one.
    expect(activeSegment([segmentName(1), segmentName(6), snapshotName(5)], 9)).toEqual({ start: 6, exists: true });
  });

  it('should start a read at the last segment that can hold the next rev', () => {
    expect(startIndex([1, 10, 20], 0)).toBe(0);
    expect(startIndex([1, 10, 20], 9)).toBe(1);
    expect(startIndex([1, 10, 20], 15)).toBe(1);
    expect(startIndex([1, 10, 20], 19)).toBe(2);
  });

  it('should drop a torn last line and count the bytes before it, and refuse a bad line before the last', () => {
    const lines = `${JSON.stringify(entry(1))}\n${JSON.stringify(entry(2))}\n`;
    expect(parseLines('d', lines)).toEqual({ entries: [entry(1), entry(2)], validBytes: Buffer.byteLength(lines) });
    expect(parseLines('d', `${lines}{"kind":"ot","chan`)).toEqual({ entries: [entry(1), entry(2)], validBytes: Buffer.byteLength(lines) });
    // A whole last line that does not parse is torn too (its newline was written, the rest not).
    expect(parseLines('d', `${lines}{"kind\n`).validBytes).toBe(Buffer.byteLength(lines));
    expect(() => parseLines('d', `${JSON.stringify(entry(1))}\nnot json\n${JSON.stringify(entry(2))}\n`)).toThrow(StoreError);
  });

  it('should drop an entry that repeats an earlier one, and refuse one that takes its revs with other contents', () => {
    const pair = entryOf(2, 3);
    expect(dropRepeats('d', [entry(1), pair, entry(4)])).toEqual({ entries: [entry(1), pair, entry(4)], repeats: 0 });
    expect(dropRepeats('d', [entry(1), entry(2), entry(2), entry(3)])).toEqual({ entries: [entry(1), entry(2), entry(3)], repeats: 1 });
    // Two writers replaying the same records: a run repeated, an entry of several revs with it.
    expect(dropRepeats('d', [entry(1), pair, entry(4), pair, entry(4), entry(5)])).toEqual({ entries: [entry(1), pair, entry(4), entry(5)], repeats: 2 });
    expect(() => dropRepeats('d', [entry(1), entry(2), { kind: 'ot', changes: [{ ...entryOf(2).changes[0], id: 'other' }] }])).toThrow(
      'Log of document "d" holds rev 2 twice, with different contents',
    );
    // Revs an earlier entry holds, cut into other entries: not a repeat either.
    expect(() => dropRepeats('d', [entry(1), pair, entry(3)])).toThrow('Log of document "d" holds rev 3 twice');
  });

  it('should refuse a log that skips a rev after its snapshot', () => {
    expect(() => checkContiguous('d', 4, [entry(5), entry(6)])).not.toThrow();
    expect(() => checkContiguous('d', 4, [entry(4), entry(5)])).not.toThrow();
    expect(() => checkContiguous('d', 4, [entry(5), entry(7)])).toThrow('Log of document "d" jumps from rev 5 to 7');
  });
});
