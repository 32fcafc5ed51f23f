import fsPromises, { mkdtemp, readFile, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileServerStore } from '../../../src/server/stores/FileServerStore.js';
import { LOCK_FILE } from '../../../src/server/stores/directoryLock.js';
import { documentDirectory, segmentName } from '../../../src/server/stores/docFiles.js';
import { entryFirstRev } from '../../../src/server/stores/ServerStore.js';
import { otEntry } from '../../helpers/serverStoreContract.js';

// Crash recovery runs in `open()` (src/server/stores/recoverJournal.ts); most of it is proven
// through FileServerStore.spec, fsyncFailure.spec and storeCrash.spec. Here: `abandon()` while it
// runs. Found in review (splitting FileServerStore): `abandon()` resolved and let the directory's
// lock go while the recovery went on replaying, so a store opened next replayed the same records
// and the first one wrote them again: a rev stored twice.

const dirs: string[] = [];
const stores: FileServerStore[] = [];
afterEach(async () => {
  jest.restoreAllMocks();
  await Promise.all(stores.splice(0).map((store) => store.close()));
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A directory as a crash left it: doc `a` at revs 1–3, whose rev 3 line a power cut took (its record is in the journal only). */
async function crashedDirectory(): Promise<{ directory: string; segment: string }> {
  const directory = await mkdtemp(join(tmpdir(), 'patches-rx-recovery-'));
  dirs.push(directory);
  const crashed = new FileServerStore({ directory });
  for (let rev = 1; rev <= 3; rev++) await crashed.append('a', otEntry(rev));
  await crashed.abandon();
  const segment = join(documentDirectory(directory, 'a'), segmentName(1));
  const text = await readFile(segment, 'utf8');
  await truncate(segment, text.indexOf('\n', text.indexOf('\n') + 1) + 1);
  return { directory, segment };
}

/** A call of fs/promises' `name` held once it is made with `path` first (until `release`), while `armed`; `reached` once held. */
function holdOnce(name: 'readFile' | 'link', path: string): { reached: Promise<void>; release: () => void; disarm: () => void } {
  const real = fsPromises[name] as (...args: unknown[]) => Promise<unknown>;
  let reach!: () => void;
  const reached = new Promise<void>((resolve) => (reach = resolve));
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let armed = true;
  jest.spyOn(fsPromises, name).mockImplementation((async (...args: unknown[]) => {
    const result = await real(...args);
    if (armed && args[name === 'link' ? 1 : 0] === path) {
      armed = false;
      reach();
      await released;
    }
    return result;
  }) as never);
  return { reached, release, disarm: () => (armed = false) };
}

/** {@link crashedDirectory}, and a store recovering it, its read of `a`'s segment held once made (`release` lets it go on). */
async function recoveryHeld(): Promise<{ directory: string; segment: string; recovering: FileServerStore; recovery: Promise<unknown>; release: () => void }> {
  const { directory, segment } = await crashedDirectory();
  const { reached, release } = holdOnce('readFile', segment);
  const recovering = new FileServerStore({ directory, onWarning: () => undefined });
  const recovery = recovering.open().catch(() => undefined);
  await reached;
  return { directory, segment, recovering, recovery, release };
}

describe('recoverJournal, when the store is abandoned during it', () => {
  it('should write nothing more, so the next start replays the lost line once', async () => {
    const { directory, segment, recovering, recovery, release } = await recoveryHeld();
    const before = await readFile(segment, 'utf8');
    const abandoned = recovering.abandon();
    release();
    await abandoned;
    await recovery;
    // As a crash would: the held replay wrote nothing once abandoned.
    expect(await readFile(segment, 'utf8')).toBe(before);
    const next = new FileServerStore({ directory });
    stores.push(next);
    await next.open();
    expect((await next.loadDoc('a')).tail.map(entryFirstRev)).toEqual([1, 2, 3]);
  });

  it('should keep the directory until the recovery under way is over', async () => {
    const { directory, recovering, recovery, release } = await recoveryHeld();
    let over = false;
    const abandoned = recovering.abandon().then(() => (over = true));
    // Turns of the event loop, I/O included: abandon() had let the lock go in ~180 of them.
    for (let turn = 0; turn < 5000 && !over; turn++) await new Promise((resolve) => setImmediate(resolve));
    expect(over).toBe(false);
    release();
    await abandoned;
    await recovery;
    const next = new FileServerStore({ directory });
    stores.push(next);
    await next.open();
    expect((await next.loadDoc('a')).tail.map(entryFirstRev)).toEqual([1, 2, 3]);
  });
});

// Found in a second reading: `close()` while the first call took the directory's lock found no
// recovery to wait for and let the lock go; the recovery started once the lock was taken, and
// replayed the journal after that, as a store opened next did too: a rev stored twice.
describe('recoverJournal, when the store is closed while it takes the lock', () => {
  it('should not start, so the next start replays the lost line once', async () => {
    const { directory, segment } = await crashedDirectory();
    // The lock's link, and the closing store's read of `a`'s segment (if it makes one), held.
    const lock = holdOnce('link', join(directory, LOCK_FILE));
    const read = holdOnce('readFile', segment);
    const closing = new FileServerStore({ directory, onWarning: () => undefined });
    const opening = closing.open().then(() => 'opened', () => 'refused');
    await lock.reached;
    const closed = closing.close();
    lock.release();
    await closed;
    // Closed, the lock let go: the closed store reads and writes nothing more.
    const after = await Promise.race([read.reached.then(() => 'read the segment'), opening]);
    read.disarm();
    const next = new FileServerStore({ directory });
    stores.push(next);
    await next.open();
    read.release();
    await opening;
    expect((await next.loadDoc('a')).tail.map(entryFirstRev)).toEqual([1, 2, 3]);
    expect(after).toBe('refused');
  });
});
