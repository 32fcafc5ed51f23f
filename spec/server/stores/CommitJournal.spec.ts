import { constants } from 'node:fs';
import { mkdtemp, open, readFile, readdir, readlink, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommitJournal } from '../../../src/server/stores/CommitJournal.js';

const dirs: string[] = [];
async function journalPath(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'patches-rx-journal-'));
  dirs.push(dir);
  return join(dir, 'journal.jsonl');
}
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('CommitJournal', () => {
  it('should share one sync among the writes made in one turn of the event loop', async () => {
    const journal = new CommitJournal(await journalPath());
    await Promise.all(Array.from({ length: 100 }, (_, i) => journal.write({ docId: `d${i}`, body: i })));
    expect(journal.syncs).toBe(1);
    expect((await journal.readRecords()).map((record) => record.body)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    await journal.close();
  });

  it('should gather the writes that arrive while a sync runs into the next group', async () => {
    const journal = new CommitJournal(await journalPath());
    const first = journal.write({ docId: 'd', body: 'first' });
    // Queued once the first group is taken: after the turn it was written in.
    await new Promise<void>((resolve) => setImmediate(resolve));
    await Promise.all([first, ...Array.from({ length: 50 }, (_, i) => journal.write({ docId: `d${i}`, body: i }))]);
    expect(journal.syncs).toBe(2);
    expect(await journal.readRecords()).toHaveLength(51);
    await journal.close();
  });

  it('should resolve a write only once its line is in the file', async () => {
    const path = await journalPath();
    const journal = new CommitJournal(path);
    await journal.write({ docId: 'd', body: { rev: 1 } });
    expect(await readFile(path, 'utf8')).toBe('{"docId":"d","body":{"rev":1}}\n');
    await journal.close();
  });

  // Durability itself needs a power cut to observe; what makes it is visible in the open file's flags.
  (process.platform === 'linux' ? it : it.skip)('should keep its file open for writes that are durable when they return (O_DSYNC)', async () => {
    const path = await journalPath();
    const journal = new CommitJournal(path);
    await journal.write({ docId: 'd', body: 1 });
    const fds = await readdir('/proc/self/fd');
    const links = await Promise.all(fds.map((fd) => readlink(`/proc/self/fd/${fd}`).then((target) => ({ fd, target }), () => undefined)));
    const opened = links.filter((link) => link?.target === path);
    expect(opened).toHaveLength(1);
    const info = await readFile(`/proc/self/fdinfo/${opened[0]!.fd}`, 'utf8');
    const flags = parseInt(/^flags:\s*([0-7]+)/m.exec(info)![1]!, 8);
    expect(flags & constants.O_DSYNC).toBe(constants.O_DSYNC);
    expect(flags & constants.O_APPEND).toBe(constants.O_APPEND);
    await journal.close();
  });

  it('should empty the file on reset and keep appending after it', async () => {
    const path = await journalPath();
    const journal = new CommitJournal(path);
    await journal.write({ docId: 'd', body: 1 });
    await journal.reset();
    expect(journal.bytes).toBe(0);
    await journal.write({ docId: 'd', body: 2 });
    expect(await new CommitJournal(path).readRecords()).toEqual([{ docId: 'd', body: 2 }]);
    await journal.close();
  });

  // Found in review, fixed: a write made while a reset cut the file (a delete's marker, which
  // waits for no checkpoint) was counted from the old size, then the reset's count of 0 replaced
  // it, with the line in the file; a later group whose write failed was cut back to where the count
  // said it began, into the acknowledged lines before it, which recovery then never read.
  it('should hold a write made while a reset empties the file until it is done, so a failed group later cuts into no acknowledged line', async () => {
    const path = await journalPath();
    const journal = new CommitJournal(path);
    await journal.write({ docId: 'old', body: 'checkpointed' });
    // Its group's drain ends after the write resolves: a reset now finds none in flight and cuts the
    // file at once, and the marker is written meanwhile (one written before the cut is cut with it).
    await new Promise<void>((resolve) => setImmediate(resolve));
    await Promise.all([journal.reset(), journal.write({ docId: 'x', body: 'marker' })]);
    expect(journal.bytes).toBe((await stat(path)).size);
    await journal.write({ docId: 'd', body: 'acknowledged' });
    const probe = await open(path, 'r');
    const handles = Object.getPrototypeOf(probe) as { write: (...args: unknown[]) => Promise<{ bytesWritten: number }> };
    await probe.close();
    const spy = jest.spyOn(handles, 'write').mockRejectedValueOnce(Object.assign(new Error('no space left'), { code: 'ENOSPC' }));
    try {
      await expect(journal.write({ docId: 'd', body: 'refused' })).rejects.toMatchObject({ code: 'ENOSPC' });
    } finally {
      spy.mockRestore();
    }
    await journal.write({ docId: 'd', body: 'after' });
    expect((await new CommitJournal(path).readRecords()).map((record) => record.body)).toEqual(['marker', 'acknowledged', 'after']);
    await journal.close();
  });

  it('should reject the writes of a group whose write fails', async () => {
    const journal = new CommitJournal(join(await journalPath(), 'missing-dir', 'journal.jsonl'));
    await expect(journal.write({ docId: 'd', body: 1 })).rejects.toMatchObject({ code: 'ENOENT' });
  });
  // A write may take fewer bytes than it is given (a file size limit, a disk filling up): the
  // system call's answer is made short here, the bytes it reports are really written.
  it('should acknowledge a group only once all of it is written, and leave no part of a group that failed', async () => {
    const path = await journalPath();
    const journal = new CommitJournal(path);
    await journal.write({ docId: 'd', body: 1 });
    const probe = await open(path, 'r');
    const handles = Object.getPrototypeOf(probe) as { write: (...args: unknown[]) => Promise<{ bytesWritten: number }> };
    await probe.close();
    const realWrite = handles.write;
    const short = function (this: unknown, ...[data, position]: unknown[]) {
      return realWrite.call(this, Buffer.from(data as string).subarray(0, 10), 0, 10, position);
    };
    const spy = jest.spyOn(handles, 'write').mockImplementationOnce(short);
    try {
      await journal.write({ docId: 'd', body: 2 });
      expect((await journal.readRecords()).map((record) => record.body)).toEqual([1, 2]);
      spy.mockImplementationOnce(short).mockRejectedValueOnce(Object.assign(new Error('file too large'), { code: 'EFBIG' }));
      await expect(journal.write({ docId: 'd', body: 3 })).rejects.toMatchObject({ code: 'EFBIG' });
    } finally {
      spy.mockRestore();
    }
    await journal.write({ docId: 'd', body: 4 });
    expect((await new CommitJournal(path).readRecords()).map((record) => record.body)).toEqual([1, 2, 4]);
    await journal.close();
  });
});
