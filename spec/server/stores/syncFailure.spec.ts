import fsPromises, { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StoreError } from '../../../src/errors.js';
import { CommitJournal } from '../../../src/server/stores/CommitJournal.js';
import { FailStop, isSyncFailedMarker, replaceFile, rewriteFile, syncFailedError } from '../../../src/server/stores/syncFailure.js';
import type { SyncFailedMarker } from '../../../src/server/stores/syncFailure.js';
import { spyOnSyncs } from '../../helpers/syncSpy.js';

// What FileServerStore does once a sync failed: the files it puts in place whole (a new file,
// synced, renamed over the old), and FailStop, which stops the writes, marks the journal for the
// next start and keeps every journal from being emptied.

const eio = () => Object.assign(new Error('EIO: injected'), { code: 'EIO' });

describe('syncFailure', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'patches-rx-syncfailure-'));
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    await rm(dir, { recursive: true, force: true });
  });

  /**
   * Writes `text` at `path`, then runs `write`: the paths `fdatasync` was called on since (the
   * spy stays on), and what is at `path` after it (whether a new file).
   */
  async function written(path: string, text: string, write: () => Promise<void>) {
    await writeFile(path, text);
    const before = (await stat(path)).ino;
    const synced: string[] = [];
    spyOnSyncs('fdatasync', (synchronised, real) => (synced.push(synchronised), real()));
    await write();
    return { synced, replaced: { text: await readFile(path, 'utf8'), newFile: (await stat(path)).ino !== before } };
  }

  it('should tell a marker from any other journal body', () => {
    expect(isSyncFailedMarker({ syncFailed: 'EIO' })).toBe(true);
    for (const body of [null, undefined, 'EIO', { syncFailed: 1 }, { reset: true }, { kind: 'ot', changes: [] }]) expect(isSyncFailedMarker(body)).toBe(false);
  });

  it("should say what the next start does: write the files anew, or replay the journal after the journal's own sync failed", () => {
    const cause = eio();
    const ofFiles = syncFailedError(cause);
    expect(ofFiles).toBeInstanceOf(StoreError);
    expect(ofFiles.cause).toBe(cause);
    expect(ofFiles.message).toBe(
      'a sync of the data failed (EIO: injected): this FileServerStore takes no more writes; every acknowledged commit is in its journal; restart the process (the next start writes the files the journal covers anew)',
    );
    expect(syncFailedError(cause, true).message).toMatch(/\(the next start replays the journal\)$/);
  });

  describe('replaceFile', () => {
    it('should put the data in place through a new file, synced when asked, and leave no temp file', async () => {
      const path = join(dir, 'snap.json');
      const { synced, replaced } = await written(path, 'old', () => replaceFile(path, 'new', true));
      expect(replaced).toEqual({ text: 'new', newFile: true });
      expect(synced).toEqual([expect.stringMatching(/\/snap\.json\.tmp-[0-9a-f]{8}$/)]);
      await replaceFile(path, Buffer.from('unsynced'), false);
      expect(await readFile(path, 'utf8')).toBe('unsynced');
      expect(synced).toHaveLength(1);
      expect(await readdir(dir)).toEqual(['snap.json']);
    });

    it.each([
      ['its sync', () => spyOnSyncs('fdatasync', () => Promise.reject(eio()))],
      ['its rename', () => jest.spyOn(fsPromises, 'rename').mockRejectedValueOnce(eio())],
    ])('should keep the old file and remove the new one when %s fails', async (_, fail) => {
      const path = join(dir, 'snap.json');
      await writeFile(path, 'old');
      fail();
      await expect(replaceFile(path, 'new', true)).rejects.toThrow('EIO: injected');
      expect(await readFile(path, 'utf8')).toBe('old');
      expect(await readdir(dir)).toEqual(['snap.json']);
    });
  });

  describe('rewriteFile', () => {
    // The page cache's lines, which a failed writeback marked clean, go to a new file a sync covers.
    it('should write the file anew with what reading it gives, synced; a file gone is skipped, any other failure thrown', async () => {
      const path = join(dir, 'log-0000000000000001.jsonl');
      const { synced, replaced } = await written(path, '{"rev":1}\n', () => rewriteFile(path));
      expect(replaced).toEqual({ text: '{"rev":1}\n', newFile: true });
      expect(synced).toEqual([expect.stringContaining('/log-0000000000000001.jsonl.tmp-')]);
      await expect(rewriteFile(join(dir, 'gone.jsonl'))).resolves.toBeUndefined();
      expect(await readdir(dir)).toEqual(['log-0000000000000001.jsonl']);
      // Any other failure to read it is not passed over.
      await expect(rewriteFile(dir)).rejects.toMatchObject({ code: 'EISDIR' });
    });
  });

  describe('FailStop', () => {
    /** A FailStop whose marker goes to a real journal in the temp directory. */
    const failStop = (mark?: (marker: SyncFailedMarker) => Promise<void> | undefined) => {
      const journal = new CommitJournal(join(dir, 'journal.jsonl'));
      const warnings: string[] = [];
      const stop = new FailStop((warning) => warnings.push(warning.message), mark ?? ((marker) => journal.write({ docId: '', body: marker })));
      return { stop, journal, warnings };
    };

    it('should let every write through and a journal be emptied until a sync fails', () => {
      const { stop } = failStop();
      expect(stop.error).toBeUndefined();
      expect(stop.isAbandoned).toBe(false);
      expect(() => stop.assertWritable()).not.toThrow();
      expect(() => stop.assertMayEmpty()).not.toThrow();
    });

    it("should stop for good at a segment's failed sync: every write and every emptying refused with one error, told once, the journal marked once", async () => {
      const { stop, journal, warnings } = failStop();
      const stopped = stop.syncFailed(eio());
      expect(stopped).toBeInstanceOf(StoreError);
      expect(stop.error).toBe(stopped);
      expect(() => stop.assertWritable()).toThrow(stopped as StoreError);
      expect(() => stop.assertMayEmpty()).toThrow(stopped as StoreError);
      // A second failure changes nothing: the first error stands.
      expect(stop.syncFailed(Object.assign(new Error('EIO: again'), { code: 'EIO' }))).toBe(stopped);
      await journal.close(); // waits for the marker's sync
      const records = await journal.readRecords();
      expect(records).toEqual([{ docId: '', body: { syncFailed: 'EIO: injected' } }]);
      expect(isSyncFailedMarker(records[0].body)).toBe(true);
      expect(warnings).toEqual([(stopped as Error).message]);
    });

    // Its later syncs are not trusted, so the journal takes no record, the marker neither.
    it("should stop at the journal's own failed sync without marking it", async () => {
      const { stop, journal, warnings } = failStop();
      const stopped = stop.syncFailed(eio(), true);
      expect((stopped as Error).message).toMatch(/the next start replays the journal/);
      expect(stop.error).toBe(stopped);
      await journal.close();
      expect(await journal.read()).toEqual({ records: [], recordFirst: false, empty: true });
      expect(warnings).toHaveLength(1);
    });

    // No sync ran, so the kernel kept any error for the next one: the checkpoint tries again.
    it('should not stop when the file could not even be opened for its sync, and give back that error', () => {
      const mark = jest.fn(() => undefined);
      const { stop, warnings } = failStop(mark);
      const error = Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE', syscall: 'open' });
      expect(stop.syncFailed(error)).toBe(error);
      expect(stop.error).toBeUndefined();
      expect(() => stop.assertWritable()).not.toThrow();
      expect(mark).not.toHaveBeenCalled();
      expect(warnings).toEqual([]);
    });

    it('should, once abandoned, refuse to empty a journal, and neither stop nor mark at a failed sync', () => {
      const mark = jest.fn(() => undefined);
      const { stop, warnings } = failStop(mark);
      stop.abandon();
      expect(stop.isAbandoned).toBe(true);
      expect(() => stop.assertMayEmpty()).toThrow(new StoreError('FileServerStore is closed'));
      const error = eio();
      expect(stop.syncFailed(error)).toBe(error);
      expect(stop.error).toBeUndefined();
      expect(mark).not.toHaveBeenCalled();
      expect(warnings).toEqual([]);
    });

    it('should say so when the marker cannot be written, and stop all the same', async () => {
      let markFailed!: () => void;
      const told = new Promise<void>((resolve) => (markFailed = resolve));
      const warnings: string[] = [];
      const stop = new FailStop(
        (warning) => {
          warnings.push(warning.message);
          if (warnings.length === 2) markFailed();
        },
        () => Promise.reject(Object.assign(new Error('ENOSPC: no space left'), { code: 'ENOSPC' })),
      );
      const stopped = stop.syncFailed(eio()) as Error;
      await told;
      expect(warnings).toEqual([stopped.message, expect.stringMatching(/^cannot mark the journal after a failed sync \(ENOSPC: no space left\): the next start may trust files it should write anew$/)]);
      expect(stop.error).toBe(stopped);
    });

    it('should stop, unmarked, when the store keeps no journal', () => {
      const { stop, warnings } = failStop(() => undefined);
      expect(stop.syncFailed(eio())).toBe(stop.error);
      expect(stop.error).toBeDefined();
      expect(warnings).toHaveLength(1);
    });
  });
});
