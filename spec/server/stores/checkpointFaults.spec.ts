import fs, { readlinkSync } from 'node:fs';
import fsPromises, { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileServerStore, JOURNAL_FILE, RETIRED_JOURNAL_FILE } from '../../../src/server/stores/FileServerStore.js';
import { powerCut, watchSyncs } from '../../helpers/powerCut.js';
import { spyOnSyncs } from '../../helpers/syncSpy.js';
import { committed } from '../../helpers/serverStoreContract.js';

// One step of a checkpoint fails (a rename, a file's creation, a sync, emptying a journal, a
// journal write), once, while commits, deletes and undeletes go on over several docs with a
// checkpoint every two segments written; then the process dies and the power is cut (each
// segment keeps only what a sync covered). Every acknowledged commit and delete is there after,
// once and in order, and the calls refused by the failure are there or not, whole.

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

type Handle = { fd: number };
type HandleMethods = Record<'sync' | 'truncate' | 'write', (this: Handle, ...args: unknown[]) => Promise<unknown>>;

/** A doc as the spec's calls left it: deleted, or its changes' ids; `doubt` once a call on it was refused. */
interface Model {
  deleted: boolean;
  ids: string[];
  doubt?: { deleted: boolean; ids: string[] };
}

/**
 * Waves of calls, one per doc at a time (as the server makes them): appends to three new docs
 * and three of the docs before (so a segment is not always written again after a checkpoint),
 * and now and then a delete, an undelete or a snapshot.
 */
async function workload(store: FileServerStore, model: Map<string, Model>): Promise<void> {
  for (let wave = 0; wave < 14; wave++) {
    const older = [...model.keys()].filter((_, i) => i % 4 === wave % 4).slice(-3);
    const docs = [...older, ...[0, 1, 2].map((k) => `w${wave}-${k}`)];
    for (const docId of docs) if (!model.has(docId)) model.set(docId, { deleted: false, ids: [] });
    await Promise.all(
      docs.map(async (docId, k) => {
        const doc = model.get(docId)!;
        if (doc.doubt) return; // what a refused call left is settled by the restart
        const before = { deleted: doc.deleted, ids: [...doc.ids] };
        let after: { deleted: boolean; ids: string[] } | undefined;
        let call: () => Promise<unknown>;
        if (doc.deleted) {
          if ((wave + k) % 3 !== 0) return;
          after = { deleted: false, ids: [] };
          call = () => store.removeTombstone(docId);
        } else if (wave % 5 === 4 && k % 3 === 0 && doc.ids.length > 0) {
          after = { deleted: true, ids: [] };
          call = () => store.deleteDoc(docId, { docId, deletedAt: 1, lastRev: doc.ids.length });
        } else if (wave % 4 === 3 && k % 2 === 1 && doc.ids.length > 0) {
          after = before;
          call = () => store.saveSnapshot(docId, { kind: 'ot', rev: doc.ids.length, state: {} });
        } else {
          const id = `w${wave}-${docId}-${doc.ids.length + 1}`;
          after = { deleted: false, ids: [...doc.ids, id] };
          call = () => store.append(docId, { kind: 'ot', changes: [committed(doc.ids.length + 1, { id })] });
        }
        try {
          await call();
          Object.assign(doc, after);
        } catch {
          doc.doubt = after;
        }
      }),
    );
  }
}

/** Makes the `nth` call that `matches` fail with `code`; counts the failures made. */
function failNth<T extends object>(target: T, method: keyof T & string, matches: (self: unknown, args: unknown[]) => boolean, nth: number, code = 'EIO') {
  const real = target[method] as (...args: unknown[]) => Promise<unknown>;
  let seen = 0;
  let fired = 0;
  const spy = jest.spyOn(target, method as never).mockImplementation(function (this: unknown, ...args: unknown[]) {
    if (matches(this, args) && ++seen === nth) {
      fired += 1;
      return Promise.reject(Object.assign(new Error(`${code}: injected`), { code }));
    }
    return real.apply(this, args);
  } as never);
  return { fired: () => fired, restore: () => spy.mockRestore() };
}

/**
 * Makes the `nth` call of the synchronous `fs[method]` that `matches` throw `code`; counts the
 * failures made. On top of a spy already there (the power-cut model's on `ftruncateSync`), which
 * it calls through and puts back.
 */
function failNthSync(method: 'openSync' | 'writeSync' | 'ftruncateSync', matches: (args: unknown[]) => boolean, nth: number, code = 'EIO') {
  const current = fs[method];
  const previous = jest.isMockFunction(current) ? current.getMockImplementation() : undefined;
  const real = (previous ?? current) as (...args: unknown[]) => unknown;
  let seen = 0;
  let fired = 0;
  const spy = jest.spyOn(fs, method).mockImplementation(((...args: unknown[]) => {
    if (matches(args) && ++seen === nth) {
      fired += 1;
      throw Object.assign(new Error(`${code}: injected`), { code });
    }
    return real(...args);
  }) as never);
  return { fired: () => fired, restore: () => (previous ? spy.mockImplementation(previous as never) : spy.mockRestore()) };
}

const pathOf = (self: unknown) => readlinkSync(`/proc/self/fd/${(self as Handle).fd}`);
const fdPath = (fd: unknown) => readlinkSync(`/proc/self/fd/${fd as number}`);
/** An open of the journal that creates it if missing (a new journal's, not a reset's). */
const creatingJournal = (directory: string) => ([path, flags]: unknown[]) => path === join(directory, JOURNAL_FILE) && typeof flags === 'number' && (flags & fs.constants.O_CREAT) !== 0;

async function handleMethods(directory: string): Promise<HandleMethods> {
  const probe = await open(join(directory, 'probe'), 'w');
  const methods = Object.getPrototypeOf(probe) as HandleMethods;
  await probe.close();
  return methods;
}

type Injected = { fired: () => number; restore: () => void };
type Fault = (directory: string, nth: number) => Promise<Injected[]>;
const segment = (path: string) => path.includes('/log-');

const faults: [string, Fault][] = [
  ['the rename that retires the journal', async (directory, nth) => [failNth(fsPromises, 'rename', (_, [from]) => from === join(directory, JOURNAL_FILE), nth)]],
  ["the new journal's creation", async (directory, nth) => [failNthSync('openSync', creatingJournal(directory), nth)]],
  ["the new journal's creation, and the rename's undo", async (directory, nth) => [
    failNthSync('openSync', creatingJournal(directory), nth),
    failNth(fsPromises, 'rename', (_, [from]) => from === join(directory, RETIRED_JOURNAL_FILE), 1),
  ]],
  ["the data directory's sync after the rename", async (directory, nth) => syncAfterRename(directory, nth, false)],
  ["the data directory's sync after the rename, and the rename's undo", async (directory, nth) => syncAfterRename(directory, nth, true)],
  ['a sync of the data directory', async (directory, nth) => [await failNthDirSync(directory, (path) => path === directory, nth)]],
  ["a sync of a doc's directory", async (directory, nth) => [await failNthDirSync(directory, (path) => path.startsWith(directory + '/'), nth)]],
  ['emptying the retired journal', async (_directory, nth) => [failNthSync('ftruncateSync', ([fd]) => fdPath(fd).endsWith(RETIRED_JOURNAL_FILE), nth)]],
  ['a journal write (a full disk)', async (directory, nth) => [failNthSync('writeSync', ([fd]) => fdPath(fd).startsWith(join(directory, 'journal')), 3 * nth, 'ENOSPC')]],
];

/**
 * Fails the syncs of the data directory that follow the `nth` rename of the journal (the new
 * journal's own, whose failure it ignores, and the rotation's), and the rename back if `undoFails`.
 */
async function syncAfterRename(directory: string, nth: number, undoFails: boolean): Promise<Injected[]> {
  const realRename = fsPromises.rename;
  let renames = 0;
  let armed = 0;
  const renamed = jest.spyOn(fsPromises, 'rename').mockImplementation(async (from, to) => {
    if (from === join(directory, JOURNAL_FILE) && ++renames === nth) armed = 2;
    if (undoFails && from === join(directory, RETIRED_JOURNAL_FILE)) throw Object.assign(new Error('EIO: injected'), { code: 'EIO' });
    return realRename(from, to);
  });
  let fired = 0;
  const restoreSyncs = await failDirSyncs(directory, (path) => {
    if (armed === 0 || path !== directory) return false;
    armed -= 1;
    fired += 1;
    return true;
  });
  return [{ fired: () => Number(fired === 2), restore: () => (restoreSyncs(), renamed.mockRestore()) }];
}

/**
 * Fails with EIO every sync of a directory that `fails` picks (called once per sync, in order),
 * whichever call makes it: a new journal's `FileHandle.sync` of its directory, or fileOps'
 * `fs.fsync` (the rotation's, the checkpoint's). Returns what restores them.
 */
async function failDirSyncs(directory: string, fails: (path: string) => boolean): Promise<() => void> {
  const eio = () => Promise.reject(Object.assign(new Error('EIO: injected'), { code: 'EIO' }));
  const handles = await handleMethods(directory);
  const realSync = handles.sync;
  const viaHandle = jest.spyOn(handles, 'sync').mockImplementation(function (this: Handle, ...args: unknown[]) {
    return fails(pathOf(this)) ? eio() : realSync.apply(this, args);
  });
  const viaFs = spyOnSyncs('fsync', (path, real) => (fails(path) ? eio() : real()));
  return () => (viaHandle.mockRestore(), viaFs.mockRestore());
}

/** Makes the `nth` sync of a directory that `matches` fail (see {@link failDirSyncs}). */
async function failNthDirSync(directory: string, matches: (path: string) => boolean, nth: number): Promise<Injected> {
  let seen = 0;
  let fired = 0;
  const restore = await failDirSyncs(directory, (path) => matches(path) && ++seen === nth && ++fired > 0);
  return { fired: () => fired, restore };
}

describe('FileServerStore: a checkpoint step that fails, then a crash and a power cut', () => {
  const cases = faults.flatMap(([name, fault]) => [1, 2, 3].map((nth) => [name, nth, fault] as const));
  it.each(cases)('should keep every acknowledged call when %s fails (the #%i)', async (_name, nth, fault) => {
    await runWithFaults((directory) => fault(directory, nth));
  });

  // A checkpoint's or a snapshot's: the next checkpoint holds the appends, and empties both journals.
  it.each([1, 2, 3, 5, 8])('should keep every acknowledged call when a segment sync fails (the #%i)', async (nth) => {
    let seen = 0;
    const eio = () => Promise.reject(Object.assign(new Error('EIO: injected'), { code: 'EIO' }));
    await runWithFaults(async () => [{ fired: () => Number(seen >= nth), restore: () => undefined }], (path) => (segment(path) && ++seen === nth ? eio() : undefined));
  });

  it('should keep every acknowledged call when the last checkpoint, at close, cannot empty the journal', async () => {
    await runWithFaults(async () => [failNthSync('ftruncateSync', ([fd]) => fdPath(fd).endsWith(`/${JOURNAL_FILE}`), 1)], undefined, 'close');
  });
});

/**
 * Runs the workload with the faults `inject` makes (and the segment syncs `syncFails` fails or holds), then
 * the process dies (or closes the store, whose last checkpoint may fail) and the power is cut, and
 * checks what a restart finds.
 */
async function runWithFaults(inject: (directory: string) => Promise<Injected[]>, syncFails?: (path: string) => Promise<void> | undefined, end: 'crash' | 'close' = 'crash'): Promise<void> {
  const directory = await mkdtemp(join(tmpdir(), 'patches-rx-faults-'));
  dirs.push(directory);
  const model = new Map<string, Model>();
  const store = new FileServerStore({ directory, checkpointFiles: 2, openSegments: 3, maxDocRecords: 2, onWarning: () => undefined });
  await store.open();
  const syncs = await watchSyncs(directory, syncFails);
  const injected = await inject(directory);
  try {
    await workload(store, model);
    if (end === 'close') await store.close().catch(() => undefined);
    await store.abandon(); // the process dies
  } finally {
    for (const fault of injected) fault.restore();
    syncs.restore();
  }
  // What was synced when it died (a checkpoint still running goes on, in this process).
  const synced = new Map(syncs.synced);
  await store.checkpointed();
  // Each fault was met (the undo of a rename only when the creation before it failed).
  expect(injected[0].fired()).toBe(1);
  powerCut(directory, synced);
  const reopened = new FileServerStore({ directory, onWarning: () => undefined });
  for (const [docId, doc] of model) {
    const stored = await reopened.loadDoc(docId);
    const found = { deleted: stored.tombstone !== undefined, ids: (await reopened.readLog(docId, 0)).flatMap((entry) => (entry.kind === 'ot' ? entry.changes.map((change) => change.id) : [])) };
    const expected = [{ deleted: doc.deleted, ids: doc.ids }, ...(doc.doubt ? [doc.doubt] : [])];
    expect(expected).toContainEqual(found);
  }
  await reopened.close();
}

describe('FileServerStore: a rotation whose new journal cannot be made, nor its rename undone', () => {
  it('should keep appending to the journal under its retired name, and never rotate it away, until the next start', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'patches-rx-faults-'));
    dirs.push(directory);
    const store = new FileServerStore({ directory, checkpointFiles: 1 });
    await store.open();
    // The new journal cannot be created (a failed directory sync there stops the writes instead).
    const fault = failNthSync('openSync', creatingJournal(directory), 1);
    const undo = failNth(fsPromises, 'rename', (_, [from]) => from === join(directory, RETIRED_JOURNAL_FILE), 1);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let reached!: () => void;
    const reachedB = new Promise<void>((resolve) => (reached = resolve));
    const syncs = await watchSyncs(directory, (path) => (path.startsWith(join(directory, 'b-')) ? (reached(), held) : undefined));
    try {
      await store.append('a', { kind: 'ot', changes: [committed(1)] }); // its checkpoint's rotation fails half-way
      await store.checkpointed();
      expect(fault.fired()).toBe(1);
      await store.append('b', { kind: 'ot', changes: [committed(1)] }); // its checkpoint holds on b's sync
      await reachedB;
      await store.abandon(); // the process dies while it is held
    } finally {
      fault.restore();
      undo.restore();
      syncs.restore();
    }
    expect(undo.fired()).toBe(1);
    const synced = new Map(syncs.synced);
    release();
    await store.checkpointed();
    powerCut(directory, synced);
    const reopened = new FileServerStore({ directory });
    expect((await reopened.loadDoc('a')).tail).toHaveLength(1);
    expect((await reopened.loadDoc('b')).tail).toHaveLength(1);
    await reopened.close();
  });
});
