import fs from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommitJournal, RECORD_FIRST_HEADER } from '../../../src/server/stores/CommitJournal.js';
import { spyOnSyncs } from '../../helpers/syncSpy.js';

const dirs: string[] = [];
async function journalPath(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'patches-rx-journal-'));
  dirs.push(dir);
  return join(dir, 'journal.jsonl');
}
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});
afterEach(() => jest.restoreAllMocks());

const line = (docId: string, body: unknown) => JSON.stringify({ docId, body }) + '\n';
const eio = () => Object.assign(new Error('EIO: injected'), { code: 'EIO' });
const bodies = async (path: string) => (await new CommitJournal(path).readRecords()).map((record) => record.body);
/** The next synchronous write writes its first 10 bytes, then the disk is full (ENOSPC on the rest). */
function diskFullAfterTenBytes(): void {
  const realWrite = fs.writeSync as (...args: unknown[]) => number;
  jest
    .spyOn(fs, 'writeSync')
    .mockImplementationOnce(((fd: number, text: string, position: number) => realWrite(fd, Buffer.from(text), 0, 10, position)) as never)
    .mockImplementationOnce(() => {
      throw Object.assign(new Error('no space left'), { code: 'ENOSPC' });
    });
}

/** Holds the next sync of the journal at `path` until `release`; `reached` resolves when it is called. */
function holdNextSync(path: string) {
  let release!: (fail?: boolean) => void;
  const gate = new Promise<boolean>((resolve) => (release = (fail = false) => resolve(fail)));
  let reached!: () => void;
  const called = new Promise<void>((resolve) => (reached = resolve));
  let held = false;
  spyOnSyncs('fdatasync', async (synced, real) => {
    if (held || synced !== path) return real();
    held = true;
    reached();
    if (await gate) throw eio();
    return real();
  });
  return { called, release };
}

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

  // Its caller writes the record's line to a segment right after: a crash of the process (the page
  // cache kept) must never find the line without the record.
  it('should write a record to the file at once, and resolve it only once a sync that began after it is done', async () => {
    const path = await journalPath();
    const journal = new CommitJournal(path);
    const { called, release } = holdNextSync(path);
    const { durable } = journal.add({ docId: 'd', body: { rev: 1 } });
    expect(fs.readFileSync(path, 'utf8')).toBe(line('d', { rev: 1 }));
    let resolved = false;
    void durable.then(() => (resolved = true));
    await called;
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(resolved).toBe(false);
    release();
    await durable;
    expect(journal.syncs).toBe(1);
    await journal.close();
  });

  it('should refuse a record it cannot write, whole: nothing of it in the file, and the next where it would have gone', async () => {
    const path = await journalPath();
    const journal = new CommitJournal(path);
    await journal.write({ docId: 'd', body: 1 });
    diskFullAfterTenBytes();
    expect(() => journal.add({ docId: 'd', body: 2 })).toThrow('no space left');
    expect(fs.readFileSync(path, 'utf8')).toBe(line('d', 1));
    jest.restoreAllMocks();
    await journal.write({ docId: 'd', body: 3 });
    expect(await bodies(path)).toEqual([1, 3]);
    await journal.close();
  });

  // A record whose cut failed stays readable until the next is written over it: a refused call
  // replayed or not after a crash, never beside another record for its rev (which would go there).
  it('should take a record back out of the file, its place taken by the next, even when the cut fails', async () => {
    const path = await journalPath();
    const journal = new CommitJournal(path);
    const first = journal.add({ docId: 'd', body: 'kept' });
    journal.add({ docId: 'd', body: 'taken back, a long record' }).takeBack();
    expect(fs.readFileSync(path, 'utf8')).toBe(line('d', 'kept'));
    await first.durable;
    // The cut fails: what is left past the count is written over, and the rest of it is a torn end.
    jest.spyOn(fs, 'ftruncateSync').mockImplementationOnce(() => {
      throw eio();
    });
    journal.add({ docId: 'd', body: 'taken back, a long record' }).takeBack();
    jest.restoreAllMocks();
    expect(journal.bytes).toBe(Buffer.byteLength(line('d', 'kept')));
    await journal.write({ docId: 'd', body: 'x' });
    expect(await bodies(path)).toEqual(['kept', 'x']);
    await journal.close();
  });

  // After a failed fdatasync Linux may mark the pages clean, and a later sync then reports
  // success without them (see syncFailure.ts): no later sync of the file is trusted.
  it('should stop for good at a failed sync: its group and the records written since refused, the file cut back, no more records', async () => {
    const path = await journalPath();
    const failures: unknown[] = [];
    const journal = new CommitJournal(path, (error) => failures.push(error));
    await journal.write({ docId: 'd', body: 'acknowledged' });
    const { called, release } = holdNextSync(path);
    const failing = journal.write({ docId: 'd', body: 'in the failing group' });
    await called;
    const next = journal.write({ docId: 'd', body: 'written during it' });
    release(true);
    await expect(failing).rejects.toThrow('EIO: injected');
    await expect(next).rejects.toThrow('EIO: injected');
    expect(failures).toEqual([expect.objectContaining({ code: 'EIO' })]);
    expect(fs.readFileSync(path, 'utf8')).toBe(line('d', 'acknowledged'));
    expect(() => journal.add({ docId: 'd', body: 'later' })).toThrow('EIO: injected');
    await expect(journal.reset()).rejects.toThrow('EIO: injected');
    expect(journal.syncs).toBe(1);
    expect(await bodies(path)).toEqual(['acknowledged']);
    await journal.close();
  });

  it('should put the header in an empty file it opens, not in one holding records nor in one a write opened', async () => {
    const [empty, holding, written] = await Promise.all([journalPath(), journalPath(), journalPath()]);
    await writeFile(empty, '');
    await writeFile(holding, line('d', 1));
    for (const path of [empty, holding]) {
      const journal = new CommitJournal(path);
      await journal.open();
      await journal.close();
    }
    const lazy = new CommitJournal(written);
    await lazy.write({ docId: 'd', body: 1 });
    await lazy.close();
    expect(await new CommitJournal(empty).read()).toEqual({ records: [], recordFirst: true, empty: false });
    expect(await new CommitJournal(holding).read()).toEqual({ records: [{ docId: 'd', body: 1 }], recordFirst: false, empty: false });
    expect(await new CommitJournal(written).read()).toEqual({ records: [{ docId: 'd', body: 1 }], recordFirst: false, empty: false });
    expect(await new CommitJournal(join(await journalPath(), '..', 'missing.jsonl')).read()).toEqual({ records: [], recordFirst: false, empty: true });
  });

  // Without it the next start after a crash syncs every doc's last segment: slower, and safe.
  it('should go on without the header when it cannot be written (a full disk), its records from the start of the file', async () => {
    const path = await journalPath();
    const journal = new CommitJournal(path);
    diskFullAfterTenBytes();
    await journal.open();
    jest.restoreAllMocks();
    await journal.write({ docId: 'd', body: 1 });
    await journal.close();
    expect(await new CommitJournal(path).read()).toEqual({ records: [{ docId: 'd', body: 1 }], recordFirst: false, empty: false });
  });

  it('should empty the file to its header on reset, whoever opened it, and keep writing after it', async () => {
    const path = await journalPath();
    const journal = new CommitJournal(path);
    await journal.write({ docId: 'd', body: 1 });
    await journal.reset();
    expect(journal.bytes).toBe(0);
    expect(await readFile(path, 'utf8')).toBe(RECORD_FIRST_HEADER);
    await journal.write({ docId: 'd', body: 2 });
    expect(journal.bytes).toBe(Buffer.byteLength(line('d', 2)));
    expect(await new CommitJournal(path).read()).toEqual({ records: [{ docId: 'd', body: 2 }], recordFirst: true, empty: false });
    await journal.close();
    // A file no journal of this process has open (a checkpoint's retired file).
    await new CommitJournal(path).reset();
    expect(await readFile(path, 'utf8')).toBe(RECORD_FIRST_HEADER);
    await expect(new CommitJournal(join(path, '..', 'missing.jsonl')).reset()).resolves.toBeUndefined();
  });

  it('should cut no record waiting for its sync on reset, and count what comes after the cut from it', async () => {
    const path = await journalPath();
    const journal = new CommitJournal(path);
    await journal.open();
    const { called, release } = holdNextSync(path);
    const before = journal.write({ docId: 'd', body: 'before' });
    await called;
    const reset = journal.reset();
    const during = journal.write({ docId: 'x', body: 'written while the reset waits' });
    release();
    await Promise.all([before, during, reset]);
    // Both were durable before the cut, and are cut with the rest.
    expect(await bodies(path)).toEqual([]);
    await journal.write({ docId: 'd', body: 'after' });
    expect(journal.bytes).toBe((await stat(path)).size - Buffer.byteLength(RECORD_FIRST_HEADER));
    expect(await bodies(path)).toEqual(['after']);
    await journal.close();
  });

  it('should keep the file as it is when the reset is told not to cut', async () => {
    const path = await journalPath();
    const journal = new CommitJournal(path);
    await journal.write({ docId: '', body: { syncFailed: 'EIO' } });
    await expect(
      journal.reset(() => {
        throw new Error('stopped');
      }),
    ).rejects.toThrow('stopped');
    expect(await bodies(path)).toEqual([{ syncFailed: 'EIO' }]);
    await journal.close();
  });

  it('should reject the writes of a journal whose file cannot be made', async () => {
    const journal = new CommitJournal(join(await journalPath(), 'missing-dir', 'journal.jsonl'));
    await expect(journal.write({ docId: 'd', body: 1 })).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
