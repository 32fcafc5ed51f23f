import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StoreError } from '../../../src/errors.js';
import { TOMBSTONE_FILE, segmentName, snapshotName, tempName } from '../../../src/server/stores/docFiles.js';
import { readDocFiles, readLogFiles } from '../../../src/server/stores/readDocFiles.js';
import type { DocSnapshot } from '../../../src/server/stores/ServerStore.js';
import { otEntry } from '../../helpers/serverStoreContract.js';

// Reading a document's directory as a load and a history read do: what they take from each file,
// and what they make of files a crash or a damaged disk left (a temp file, a torn last line, a
// snapshot that does not parse, a line written twice, a rev held twice, a missing segment).

const lines = (...revs: number[][]) => revs.map((entryRevs) => JSON.stringify(otEntry(...entryRevs)) + '\n').join('');
const snapshot = (rev: number): DocSnapshot => ({ kind: 'ot', rev, state: { at: rev } });

describe('readDocFiles', () => {
  let dir: string;
  let warnings: StoreError[];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'patches-rx-readdocfiles-'));
    warnings = [];
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Writes the files, then reads the doc as a load does. */
  async function load(files: Record<string, string>) {
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
    return readDocFiles('d', dir, await readdir(dir), (warning) => warnings.push(warning));
  }

  it('should read an empty directory as a new doc at rev 0', async () => {
    expect(await load({})).toEqual({ stored: { tail: [] }, headRev: 0 });
  });

  it('should read the latest snapshot and the log after it, from the segment that holds the next rev', async () => {
    const read = await load({
      [segmentName(1)]: lines([1], [2]),
      [snapshotName(2)]: JSON.stringify(snapshot(2)),
      [segmentName(3)]: lines([3], [4, 5], [6]),
      [snapshotName(5)]: JSON.stringify(snapshot(5)),
    });
    // Rev 4–5's entry is one commit the snapshot covers: only the entries after rev 5.
    expect(read).toEqual({ stored: { snapshot: snapshot(5), tail: [otEntry(6)] }, headRev: 6 });
    expect(warnings).toEqual([]);
  });

  it("should give the snapshot's rev as the head when no entry follows it", async () => {
    expect(await load({ [segmentName(1)]: lines([1], [2]), [snapshotName(2)]: JSON.stringify(snapshot(2)) })).toEqual({ stored: { snapshot: snapshot(2), tail: [] }, headRev: 2 });
  });

  it('should remove the temp files a crash left, and read past them', async () => {
    const read = await load({ [segmentName(1)]: lines([1]), [tempName(snapshotName(1), 'ab12cd34')]: '{"kind":"ot","re', [tempName(TOMBSTONE_FILE, '00ff00ff')]: '' });
    expect(read.stored).toEqual({ tail: [otEntry(1)] });
    expect(await readdir(dir)).toEqual([segmentName(1)]);
  });

  // Never acknowledged: its append was cut short by a crash.
  it('should cut a torn last line off the last segment, and only there', async () => {
    const torn = JSON.stringify(otEntry(4)).slice(0, 20);
    const read = await load({ [segmentName(1)]: lines([1], [2]), [snapshotName(2)]: JSON.stringify(snapshot(2)), [segmentName(3)]: lines([3]) + torn });
    expect(read).toEqual({ stored: { snapshot: snapshot(2), tail: [otEntry(3)] }, headRev: 3 });
    expect(await readFile(join(dir, segmentName(3)), 'utf8')).toBe(lines([3]));
    expect(await readFile(join(dir, segmentName(1)), 'utf8')).toBe(lines([1], [2]));
  });

  it('should leave a segment that ends with its newline as it is', async () => {
    await load({ [segmentName(1)]: lines([1], [2]) });
    expect(await readFile(join(dir, segmentName(1)), 'utf8')).toBe(lines([1], [2]));
  });

  it('should fall back to an older snapshot, or to the log, past snapshots it cannot read, and say so for each', async () => {
    const segments = { [segmentName(1)]: lines([1], [2]), [segmentName(3)]: lines([3], [4]) };
    const older = await load({ ...segments, [snapshotName(2)]: JSON.stringify(snapshot(2)), [snapshotName(4)]: '{"kind":"ot","rev":4,"sta' });
    expect(older).toEqual({ stored: { snapshot: snapshot(2), tail: [otEntry(3), otEntry(4)] }, headRev: 4 });
    expect(warnings.map((warning) => warning.message)).toEqual([expect.stringMatching(/^Snapshot snap-0000000000000004\.json of document "d" cannot be read \(.+\): skipped, the doc is rebuilt from an older snapshot or its log$/)]);
    expect(warnings[0]).toMatchObject({ docId: 'd' });
    warnings = [];
    await writeFile(join(dir, snapshotName(2)), '');
    const fromLog = await readDocFiles('d', dir, await readdir(dir), (warning) => warnings.push(warning));
    expect(fromLog).toEqual({ stored: { tail: [otEntry(1), otEntry(2), otEntry(3), otEntry(4)] }, headRev: 4 });
    expect(warnings).toHaveLength(2);
  });

  it('should refuse a log with a damaged line before its last', async () => {
    const read = load({ [segmentName(1)]: lines([1]) + '{"kind":"ot","chan\n' + lines([3]) });
    await expect(read).rejects.toBeInstanceOf(StoreError);
    await expect(read).rejects.toThrow('Corrupt log line in document "d"');
  });

  // A damaged middle segment is corruption too, even if its last line is the one torn.
  it('should refuse a log whose earlier segment lost its last line: a gap in the revs', async () => {
    const text = lines([1]) + JSON.stringify(otEntry(2)).slice(0, 9);
    const read = load({ [segmentName(1)]: text, [segmentName(3)]: lines([3]) });
    await expect(read).rejects.toThrow('Log of document "d" jumps from rev 1 to 3');
    // Not cut: it is not the last segment, where a crash tears a line.
    expect(await readFile(join(dir, segmentName(1)), 'utf8')).toBe(text);
  });

  it('should refuse a log a missing segment leaves a gap in', async () => {
    await expect(load({ [segmentName(1)]: lines([1], [2]), [segmentName(5)]: lines([5]) })).rejects.toThrow('Log of document "d" jumps from rev 2 to 5');
  });

  it('should skip the lines that repeat an earlier one, warning once with their count', async () => {
    const read = await load({ [segmentName(1)]: lines([1], [2], [2], [3]), [segmentName(4)]: lines([3], [4]) });
    expect(read).toEqual({ stored: { tail: [otEntry(1), otEntry(2), otEntry(3), otEntry(4)] }, headRev: 4 });
    expect(warnings.map((warning) => warning.message)).toEqual(['Log of document "d" holds 2 line(s) twice: each read skips the repeats (the files are left as they are)']);
    warnings = [];
    await rm(join(dir, segmentName(4)));
    await writeFile(join(dir, segmentName(1)), lines([1], [1], [2]));
    expect((await readDocFiles('d', dir, await readdir(dir), (warning) => warnings.push(warning))).headRev).toBe(2);
    expect(warnings.map((warning) => warning.message)).toEqual([expect.stringMatching(/^Log of document "d" holds 1 line\(s\) twice/)]);
  });

  it('should refuse a rev held twice with other contents', async () => {
    await expect(load({ [segmentName(1)]: lines([1], [2]) + JSON.stringify(otEntry(2, 3)) + '\n' })).rejects.toThrow('Log of document "d" holds rev 2 twice, with different contents');
  });
});

describe('readLogFiles', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'patches-rx-readlogfiles-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('should read nothing for a doc with no directory, or a deleted one', async () => {
    expect(await readLogFiles('d', join(dir, 'missing'), 0)).toEqual([]);
    await writeFile(join(dir, segmentName(1)), lines([1]));
    await writeFile(join(dir, TOMBSTONE_FILE), '{}');
    expect(await readLogFiles('d', dir, 0)).toEqual([]);
  });

  it('should read the entries after a rev, from the segment that holds the next, whatever snapshots there are', async () => {
    await writeFile(join(dir, segmentName(1)), lines([1], [2]));
    await writeFile(join(dir, snapshotName(2)), 'not read');
    await writeFile(join(dir, segmentName(3)), lines([3], [4, 5], [6]));
    expect(await readLogFiles('d', dir, 0)).toEqual([otEntry(1), otEntry(2), otEntry(3), otEntry(4, 5), otEntry(6)]);
    expect(await readLogFiles('d', dir, 2)).toEqual([otEntry(3), otEntry(4, 5), otEntry(6)]);
    // An entry that straddles the rev is one commit: read whole.
    expect(await readLogFiles('d', dir, 4)).toEqual([otEntry(4, 5), otEntry(6)]);
    expect(await readLogFiles('d', dir, 6)).toEqual([]);
  });

  // An append may be in flight: its line is not there yet, and nothing is cut.
  it('should leave out an unterminated last line, and leave the file as it is', async () => {
    const text = lines([1]) + JSON.stringify(otEntry(2));
    await writeFile(join(dir, segmentName(1)), text);
    expect(await readLogFiles('d', dir, 0)).toEqual([otEntry(1)]);
    expect(await readFile(join(dir, segmentName(1)), 'utf8')).toBe(text);
  });

  it('should skip the lines that repeat an earlier one', async () => {
    await writeFile(join(dir, segmentName(1)), lines([1], [1], [2]));
    expect(await readLogFiles('d', dir, 0)).toEqual([otEntry(1), otEntry(2)]);
  });
});
