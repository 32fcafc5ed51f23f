import fs from 'node:fs';
import fsPromises, { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RECORD_FIRST_HEADER } from '../../../src/server/stores/CommitJournal.js';
import type { CommitJournal } from '../../../src/server/stores/CommitJournal.js';
import { JOURNAL_FILE, JournalFiles, RETIRED_JOURNAL_FILE } from '../../../src/server/stores/JournalFiles.js';
import { spyOnSyncs } from '../../helpers/syncSpy.js';

// FileServerStore's two journal files: the one appends go to, and the one a checkpoint retired
// (renamed away from under the appends) and empties once what it holds is durable elsewhere.

const eio = () => Object.assign(new Error('EIO: injected'), { code: 'EIO' });
const line = (docId: string, body: unknown) => JSON.stringify({ docId, body }) + '\n';

describe('JournalFiles', () => {
  let root: string;
  let journals: JournalFiles;
  const syncFailures: unknown[] = [];
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'patches-rx-journalfiles-'));
    syncFailures.length = 0;
    journals = new JournalFiles(root, (error) => syncFailures.push(error));
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    await journals.close();
    await rm(root, { recursive: true, force: true });
  });

  const current = () => join(root, JOURNAL_FILE);
  const retired = () => join(root, RETIRED_JOURNAL_FILE);
  const names = async () => (await readdir(root)).sort();
  const bodies = async () => (await journals.read()).records.map((record) => record.body);
  /** Writes records with these bodies to the current journal, durable. */
  const write = (...values: unknown[]) => Promise.all(values.map((body) => journals.current.write({ docId: 'd', body })));
  /** The current journal with two records in it, and its file's inode. */
  const twoRecords = async () => {
    await journals.current.open();
    await write(1, 2);
    return (await stat(current())).ino;
  };

  describe('reading both', () => {
    it.each([
      [true, 'the current file begins with the header', { current: RECORD_FIRST_HEADER }],
      [true, 'the current file is missing and the retired one begins with the header', { retired: RECORD_FIRST_HEADER }],
      [true, 'the current file is empty and the retired one begins with the header', { current: '', retired: RECORD_FIRST_HEADER }],
      [false, 'the current file holds records without the header, the retired one with it', { current: '', retired: RECORD_FIRST_HEADER, currentRecord: true }],
      [false, 'neither file begins with the header', { current: '', retired: '' }],
      [false, 'neither file is there', {}],
    ])('should read recordFirst %p when %s', async (recordFirst, _, files: { current?: string; retired?: string; currentRecord?: boolean }) => {
      if (files.current !== undefined) await writeFile(current(), files.current + (files.currentRecord ? line('d', 'c') : ''));
      if (files.retired !== undefined) await writeFile(retired(), files.retired + line('d', 'r'));
      expect((await journals.read()).recordFirst).toBe(recordFirst);
    });

    it("should give the retired file's records before the current one's, a torn last line of either left out", async () => {
      await writeFile(retired(), RECORD_FIRST_HEADER + line('a', 1) + line('b', 1) + '{"docId":"a","bo');
      await writeFile(current(), RECORD_FIRST_HEADER + line('a', 2) + '{"doc');
      expect(await journals.read()).toEqual({ records: [{ docId: 'a', body: 1 }, { docId: 'b', body: 1 }, { docId: 'a', body: 2 }], recordFirst: true });
    });
  });

  describe('rotate', () => {
    it('should retire the current file, records and all, and switch the appends to a fresh one with the header', async () => {
      const inode = await twoRecords();
      const previous = journals.current;
      let switchedTo: CommitJournal | undefined;
      const old = await journals.rotate(
        () => (switchedTo = journals.current),
        (error) => syncFailures.push(error),
      );
      expect(old).toBe(previous);
      // `switched` runs once the new journal is current, in that step.
      expect(switchedTo).toBe(journals.current);
      expect(journals.current).not.toBe(previous);
      expect((await stat(retired())).ino).toBe(inode);
      expect(await readFile(current(), 'utf8')).toBe(RECORD_FIRST_HEADER);
      await write(3);
      expect(await readFile(current(), 'utf8')).toBe(RECORD_FIRST_HEADER + line('d', 3));
      expect(await bodies()).toEqual([1, 2, 3]);
      // The retired file holds records not durable elsewhere yet: no rotation over it.
      expect(journals.canRotate).toBe(false);
      await old.close();
      journals.retired(old);
      expect(journals.syncs).toBe(old.syncs + journals.current.syncs);
      expect(syncFailures).toEqual([]);
    });

    it('should let the next rotation in once the retired file is emptied, to its header', async () => {
      await twoRecords();
      const old = await journals.rotate(() => undefined, () => undefined);
      await old.close();
      await write(3);
      await journals.emptyRetired();
      expect(await readFile(retired(), 'utf8')).toBe(RECORD_FIRST_HEADER);
      expect(await bodies()).toEqual([3]);
      expect(journals.canRotate).toBe(true);
      await (await journals.rotate(() => undefined, () => undefined)).close();
      expect(await bodies()).toEqual([3]);
    });

    it('should empty both files on emptyAll, the retired first', async () => {
      await twoRecords();
      const old = await journals.rotate(() => undefined, () => undefined);
      await old.close();
      await write(3);
      const order: string[] = [];
      const cut = fs.ftruncateSync;
      jest.spyOn(fs, 'ftruncateSync').mockImplementation((fd, length) => (order.push(fs.readlinkSync(`/proc/self/fd/${fd}`)), cut(fd, length)));
      await journals.emptyAll();
      expect(order).toEqual([retired(), current()]);
      expect([await readFile(retired(), 'utf8'), await readFile(current(), 'utf8')]).toEqual([RECORD_FIRST_HEADER, RECORD_FIRST_HEADER]);
      expect(journals.canRotate).toBe(true);
    });

    /** Rotates with `switched` and `syncFailed` counted; what it rejects with. */
    const failedRotation = async () => {
      const previous = journals.current;
      let switched = 0;
      const told: unknown[] = [];
      const error = await journals.rotate(() => (switched += 1), (failure) => told.push(failure)).then(
        () => undefined,
        (failure: unknown) => failure,
      );
      expect(journals.current).toBe(previous);
      expect(switched).toBe(0);
      return { error, told };
    };

    /** A failure of every sync of the data directory (the new journal's own, which it passes over, and the rotation's). */
    const failDirectorySyncs = () => spyOnSyncs('fsync', (path, real) => (path === root ? Promise.reject(eio()) : real()));
    /** A failure of the next creation of the current journal's file. */
    const failCreation = () => {
      const open = fs.openSync;
      jest.spyOn(fs, 'openSync').mockImplementation((path, flags, ...rest) => {
        if (path === current() && typeof flags === 'number' && (flags & fs.constants.O_CREAT) !== 0) throw eio();
        return open(path, flags, ...rest);
      });
    };

    it.each([
      ['its rename', () => jest.spyOn(fsPromises, 'rename').mockRejectedValueOnce(eio()), false],
      ["the new file's creation", failCreation, false],
      // The rename is undone all the same: the journal stays current under its own name (the
      // store stops its writes, told through `syncFailed`).
      ["the directory's sync after the rename", failDirectorySyncs, true],
    ])('should leave the current journal as it was, under its name, when %s fails', async (_, fail, toldOfSync) => {
      const inode = await twoRecords();
      fail();
      const { error, told } = await failedRotation();
      expect(error).toMatchObject({ message: 'EIO: injected' });
      expect(told).toEqual(toldOfSync ? [error] : []);
      jest.restoreAllMocks();
      expect(await names()).toEqual([JOURNAL_FILE]);
      expect((await stat(current())).ino).toBe(inode);
      await write(3);
      expect(await readFile(current(), 'utf8')).toBe(RECORD_FIRST_HEADER + line('d', 1) + line('d', 2) + line('d', 3));
      expect(journals.canRotate).toBe(true);
      // The journal's own syncs went on: none failed.
      expect(syncFailures).toEqual([]);
    });

    it('should keep appending to the journal under its retired name when the rename cannot be undone, and neither rotate nor empty it apart from the current journal', async () => {
      const inode = await twoRecords();
      failDirectorySyncs();
      const rename = fsPromises.rename;
      jest.spyOn(fsPromises, 'rename').mockImplementation((from, to) => (from === retired() ? Promise.reject(eio()) : rename(from, to)));
      const { error } = await failedRotation();
      expect(error).toMatchObject({ message: 'EIO: injected' });
      jest.restoreAllMocks();
      expect((await stat(retired())).ino).toBe(inode);
      await write(3);
      expect(await readFile(retired(), 'utf8')).toBe(RECORD_FIRST_HEADER + line('d', 1) + line('d', 2) + line('d', 3));
      expect(journals.canRotate).toBe(false);
      // Emptying the retired file would cut the current journal under its count of bytes.
      await journals.emptyRetired();
      expect(await bodies()).toEqual([1, 2, 3]);
      await journals.emptyAll();
      expect(await readFile(retired(), 'utf8')).toBe(RECORD_FIRST_HEADER);
      await write(4);
      expect(await readFile(retired(), 'utf8')).toBe(RECORD_FIRST_HEADER + line('d', 4));
    });
  });
});
