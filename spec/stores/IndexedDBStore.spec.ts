import 'fake-indexeddb/auto';
import { filter, firstValueFrom } from 'rxjs';
import { IDBFactory, IDBObjectStore, forceCloseDatabase } from 'fake-indexeddb';
import { Patches } from '../../src/client/Patches.js';
import type { PatchesDoc } from '../../src/client/PatchesDoc.js';
import { StoreError, StoreLostError, type StoreOutdatedError } from '../../src/errors.js';
import { IndexedDBStore } from '../../src/stores/IndexedDBStore.js';
import { IDB_MIGRATIONS, IDB_SCHEMA_VERSION, type IDBStoreMigration } from '../../src/stores/idbSchema.js';
import type { PatchesStore, ServerChangesUpdate } from '../../src/stores/PatchesStore.js';
import type { Change, JSONPatchOp } from '../../src/types.js';
import { describeStoreContract } from './storeContract.js';
import { deleteDatabase, holdDatabase, rawOpen, storeErrorOf, writeBegun, type HeldDatabase } from '../helpers/rawIndexedDB.js';
import { HeldChannelHub, type HeldChannel } from '../helpers/heldChannels.js';
import { FakePage } from '../helpers/fakePage.js';

describeStoreContract(
  'IndexedDBStore',
  () => new IndexedDBStore('contract', { indexedDB: new IDBFactory() }),
  (store) => store.close(),
);

/** A simulated schema version 2: a new index and a new object store; no row may be lost. */
const addVersion2: IDBStoreMigration = (db, tx) => {
  tx.objectStore('docs').createIndex('algorithm', 'algorithm');
  db.createObjectStore('quarantinedChanges', { keyPath: ['docId', 'changeId'] });
};

/** The same store code, opened at the simulated version 2. */
class Version2Store extends IndexedDBStore {
  protected override readonly migrations = [...IDB_MIGRATIONS, addVersion2];
}

/** A version-2 store whose upgrade fails half-way. */
class BrokenUpgradeStore extends IndexedDBStore {
  protected override readonly migrations: readonly IDBStoreMigration[] = [
    ...IDB_MIGRATIONS,
    (db) => {
      db.createObjectStore('extra');
      throw new Error('migration bug');
    },
  ];
}

describe('IndexedDBStore', () => {
  let factory: IDBFactory;
  const opened: PatchesStore[] = [];

  function open<S extends IndexedDBStore>(make: (f: IDBFactory) => S): S {
    const store = make(factory);
    opened.push(store);
    return store;
  }
  const v1 = (options: { compactEvery?: number } = {}) =>
    open((indexedDB) => new IndexedDBStore('app', { indexedDB, ...options }));
  const v2 = () => open((indexedDB) => new Version2Store('app', { indexedDB }));

  beforeEach(() => {
    factory = new IDBFactory();
  });

  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
  });

  /** Fill a store with one of everything. */
  async function seed(store: PatchesStore): Promise<void> {
    await store.trackDocs(['ot', 'gone'], 'ot');
    await store.trackDocs(['lww'], 'lww');
    await store.applyServerChanges('ot', { state: { n: 2 }, rev: 2, changes: [committed('c1', 1), committed('c2', 2)] });
    await store.savePendingChanges('ot', [change('p1'), change('p2')]);
    await store.saveDoc('lww', { state: { a: 1 }, rev: 5 });
    await store.savePendingOps('lww', [op('/a', 1)]);
    await store.saveSendingChange('lww', change('s1'));
    await store.savePendingOps('lww', [op('/b', 2)]);
    await store.deleteDoc('gone');
  }

  /** Everything the store API can see. */
  async function dump(store: PatchesStore) {
    return {
      docs: await store.listDocs(true),
      ot: await store.getDoc('ot'),
      lww: await store.getDoc('lww'),
      history: await store.listChanges('ot'),
    };
  }

  it('should open at the exported schema version', async () => {
    await v1().listDocs();
    const raw = await rawOpen(factory, 'app');
    expect(raw.version).toBe(IDB_SCHEMA_VERSION);
    expect(Array.from(raw.objectStoreNames).sort()).toEqual(['committedChanges', 'docs', 'pendingChanges', 'pendingOps', 'sending', 'states']);
    raw.close();
  });

  it('should keep everything across a close and a reopen', async () => {
    const first = v1();
    await seed(first);
    const before = await dump(first);
    await first.close();
    expect(await dump(v1())).toEqual(before);
    expect(before.ot?.pending.map((c) => c.rev)).toEqual([3, 4]);
  });

  it('should close a connection that was still opening when close() was called', async () => {
    const store = v1();
    const call = store.listDocs();
    await store.close();
    await storeErrorOf(call);
    expect(await deleteDatabase(factory, 'app')).toEqual({ blocked: false });
  });

  describe('schema upgrades', () => {
    it('should upgrade a database written at version 1 to a version 2 without losing anything', async () => {
      const old = v1();
      await seed(old);
      const before = await dump(old);
      await old.close();

      const upgraded = v2();
      expect(await dump(upgraded)).toEqual(before);
      const raw = await rawOpen(factory, 'app');
      expect(raw.version).toBe(IDB_SCHEMA_VERSION + 1);
      expect(Array.from(raw.objectStoreNames)).toContain('quarantinedChanges');
      expect(Array.from(raw.transaction('docs').objectStore('docs').indexNames)).toEqual(['algorithm']);
      raw.close();
      // The upgraded store keeps working.
      await upgraded.savePendingChanges('ot', [change('p3')]);
      expect((await upgraded.getPendingChanges('ot')).map((c) => c.rev)).toEqual([3, 4, 5]);
    });

    it('should reject with a StoreError and keep the version-1 data when an upgrade step fails', async () => {
      const old = v1();
      await seed(old);
      const before = await dump(old);
      await old.close();

      const broken = open((indexedDB) => new BrokenUpgradeStore('app', { indexedDB }));
      const error = await storeErrorOf(broken.listDocs());
      expect((error.cause as Error).message).toBe('migration bug');
      expect(await dump(v1())).toEqual(before);
      const raw = await rawOpen(factory, 'app');
      expect(raw.version).toBe(IDB_SCHEMA_VERSION);
      expect(Array.from(raw.objectStoreNames)).not.toContain('extra');
      raw.close();
    });

    /** A store of the app's: the library's steps (as of some release), then the app's own step. */
    function appStore(library: readonly IDBStoreMigration[], own: IDBStoreMigration): IndexedDBStore {
      class AppStore extends IndexedDBStore {
        protected override readonly migrations = [...library, own];
      }
      return open((indexedDB) => new AppStore('app', { indexedDB }));
    }
    /** A step the next release of the library adds (it appends, never edits). */
    const nextLibraryStep: IDBStoreMigration = () => {};

    // Found in review: an app step appended after the library's ran again, one version later, once a
    // release added a library step, and a database it had already upgraded never opened again. The
    // docs now ask for idempotent steps: this one is written as `IndexedDBStore.migrations` shows.
    it("should keep opening a database after the library adds a step before an app's own idempotent one", async () => {
      const addDrafts: IDBStoreMigration = (db, tx) => {
        if (!db.objectStoreNames.contains('drafts')) db.createObjectStore('drafts', { keyPath: 'id' });
        const docs = tx.objectStore('docs');
        if (!docs.indexNames.contains('byAlgorithm')) docs.createIndex('byAlgorithm', 'algorithm');
      };
      const before = appStore(IDB_MIGRATIONS, addDrafts);
      await seed(before);
      const seeded = await dump(before);
      await before.close();

      const after = appStore([...IDB_MIGRATIONS, nextLibraryStep], addDrafts);
      expect(await dump(after)).toEqual(seeded);
      const raw = await rawOpen(factory, 'app');
      expect(raw.version).toBe(IDB_SCHEMA_VERSION + 2);
      expect(Array.from(raw.objectStoreNames)).toContain('drafts');
      expect(Array.from(raw.transaction('docs').objectStore('docs').indexNames)).toEqual(['byAlgorithm']);
      raw.close();
    });

    it("should fail to open, keeping the data, when an app's step that creates without checking runs again after a library step", async () => {
      const addDrafts: IDBStoreMigration = (db) => void db.createObjectStore('drafts', { keyPath: 'id' });
      const before = appStore(IDB_MIGRATIONS, addDrafts);
      await seed(before);
      const seeded = await dump(before);
      await before.close();

      const after = appStore([...IDB_MIGRATIONS, nextLibraryStep], addDrafts);
      expect((await storeErrorOf(after.listDocs())).cause).toMatchObject({ name: 'ConstraintError' });
      await after.close();
      expect(await dump(appStore(IDB_MIGRATIONS, addDrafts))).toEqual(seeded);
    });

    it('should reject with a StoreError, not downgrade, when the database is newer than the store', async () => {
      const newer = v2();
      await seed(newer);
      await newer.close();
      const error = await storeErrorOf(v1().listDocs());
      expect((error.cause as DOMException).name).toBe('VersionError');
      expect((await v2().getDoc('ot'))?.pending.map((c) => c.id)).toEqual(['p1', 'p2']);
    });
  });

  describe('the guard on an OT queue or on LWW pending ops (which grow with offline edits)', () => {
    /** Counts the reads of a whole OT queue (or, with `of`, of other rows) while `work` runs. */
    async function queueReads(work: () => Promise<unknown>, of = 'pendingChanges'): Promise<number> {
      const getAll = jest.spyOn(IDBObjectStore.prototype, 'getAll');
      try {
        await work();
        return getAll.mock.contexts.filter((store) => (store as IDBObjectStore).name === of).length;
      } finally {
        getAll.mockRestore();
      }
    }
    const ids = async (store: PatchesStore) => (await store.getPendingChanges('d')).map((c) => c.id);

    it('should check an append against the queue it wrote last without reading it, and read it once another instance wrote', async () => {
      const a = v1();
      const b = v1();
      await a.trackDocs(['d'], 'ot');
      expect(await queueReads(() => a.savePendingChanges('d', [change('p1')], { committedRev: 0, pendingIds: [] }))).toBe(1);
      expect(await queueReads(() => a.savePendingChanges('d', [change('p2')], { committedRev: 0, pendingIds: ['p1'] }))).toBe(0);
      // Another instance appends: its guard reads the queue, and the first one's next append must see it.
      expect(await queueReads(() => b.savePendingChanges('d', [change('q1')], { committedRev: 0, pendingIds: ['p1', 'p2'] }))).toBe(1);
      const stale = a.savePendingChanges('d', [change('p3')], { committedRev: 0, pendingIds: ['p1', 'p2'] });
      await expect(stale).rejects.toMatchObject({ name: 'StoreConflictError', docId: 'd' });
      await a.savePendingChanges('d', [change('p3')], { committedRev: 0, pendingIds: ['p1', 'p2', 'q1'] });
      expect(await queueReads(() => a.savePendingChanges('d', [change('p4')], { committedRev: 0, pendingIds: ['p1', 'p2', 'q1', 'p3'] }))).toBe(0);
      expect(await ids(b)).toEqual(['p1', 'p2', 'q1', 'p3', 'p4']);
    });

    /** Counts the reads of an OT queue's last row (where an append goes) while `work` runs. */
    async function lastRowReads(work: () => Promise<unknown>): Promise<number> {
      const openCursor = jest.spyOn(IDBObjectStore.prototype, 'openCursor');
      try {
        await work();
        return openCursor.mock.contexts.filter((store) => (store as IDBObjectStore).name === 'pendingChanges').length;
      } finally {
        openCursor.mockRestore();
      }
    }

    it('should append after the queue it wrote last without reading where it ends, and read that once another instance wrote', async () => {
      const a = v1();
      const b = v1();
      await a.trackDocs(['d'], 'ot');
      expect(await lastRowReads(() => a.savePendingChanges('d', [change('p1')], { committedRev: 0, pendingIds: [] }))).toBe(1);
      expect(await lastRowReads(() => a.savePendingChanges('d', [change('p2'), change('p3')], { committedRev: 0, pendingIds: ['p1'] }))).toBe(0);
      // After its own server batch (the queue written whole) it knows the end too.
      await a.applyServerChanges('d', { state: { n: 1 }, rev: 4, changes: [committed('s4', 4)], pending: [change('p2', 5), change('p3', 6)], expect: { committedRev: 0, pendingIds: ['p1', 'p2', 'p3'] } });
      expect(await lastRowReads(() => a.savePendingChanges('d', [change('p4')], { committedRev: 4, pendingIds: ['p2', 'p3'] }))).toBe(0);
      expect(await lastRowReads(() => b.savePendingChanges('d', [change('q1')], { committedRev: 4, pendingIds: ['p2', 'p3', 'p4'] }))).toBe(1);
      expect(await lastRowReads(() => a.savePendingChanges('d', [change('p5')], { committedRev: 4, pendingIds: ['p2', 'p3', 'p4', 'q1'] }))).toBe(1);
      expect((await b.getPendingChanges('d')).map((c) => [c.id, c.rev])).toEqual([['p2', 5], ['p3', 6], ['p4', 7], ['q1', 8], ['p5', 9]]);
    });

    it('should never write over a change that a writer leaving the tag as it was appended: the append is refused and checked again on a read', async () => {
      const a = v1();
      await a.trackDocs(['d'], 'ot');
      await a.savePendingChanges('d', [change('p1')], { committedRev: 0, pendingIds: [] });
      // A row appended behind the store's back (as a build that did not retag the queue would): seq 2, the row untouched.
      const raw = await rawOpen(factory, 'app');
      await new Promise<void>((resolve, reject) => {
        const tx = raw.transaction('pendingChanges', 'readwrite');
        tx.objectStore('pendingChanges').put({ docId: 'd', seq: 2, change: { ...change('x1'), rev: 2 } });
        tx.oncomplete = () => resolve();
        tx.onerror = () => reject(tx.error);
      });
      raw.close();
      // The append at the end it knew is refused (the key is taken); read again, the queue is not what the guard says.
      const p2 = change('p2');
      await expect(a.savePendingChanges('d', [p2], { committedRev: 0, pendingIds: ['p1'] })).rejects.toMatchObject({ name: 'StoreConflictError', docId: 'd' });
      expect(p2.rev).toBe(0);
      expect((await a.getPendingChanges('d')).map((c) => [c.id, c.rev])).toEqual([['p1', 1], ['x1', 2]]);
      await a.savePendingChanges('d', [p2], { committedRev: 0, pendingIds: ['p1', 'x1'] });
      expect((await a.getPendingChanges('d')).map((c) => [c.id, c.rev])).toEqual([['p1', 1], ['x1', 2], ['p2', 3]]);
    });

    it("should know the queue after its own server batch and its own read, and read it again after another instance's batch or split", async () => {
      const a = v1();
      const b = v1();
      await a.trackDocs(['d'], 'ot');
      await a.savePendingChanges('d', [change('p1'), change('p2')], { committedRev: 0, pendingIds: [] });
      // A server batch of this instance replaces the queue: what it wrote is known.
      await a.applyServerChanges('d', { state: { n: 1 }, rev: 1, changes: [committed('s1', 1)], pending: [change('p1', 2), change('p2', 3)], expect: { committedRev: 0, pendingIds: ['p1', 'p2'] } });
      expect(await queueReads(() => a.savePendingChanges('d', [change('p3')], { committedRev: 1, pendingIds: ['p1', 'p2'] }))).toBe(0);
      // Another instance's batch drops a change (the server resolved it): the same guard no longer holds.
      await b.applyServerChanges('d', { state: { n: 1 }, rev: 1, changes: [], pending: [change('p2', 2), change('p3', 3)] });
      await expect(a.savePendingChanges('d', [change('p4')], { committedRev: 1, pendingIds: ['p1', 'p2', 'p3'] })).rejects.toMatchObject({ name: 'StoreConflictError' });
      // A read of the queue is knowledge too: the next append needs no read.
      await a.getDoc('d');
      expect(await queueReads(() => a.savePendingChanges('d', [change('p4')], { committedRev: 1, pendingIds: ['p2', 'p3'] }))).toBe(0);
      // Another instance splits the first change.
      await b.replacePendingChanges('d', [change('p2a', 2), change('p2b', 2)], ['p2']);
      await expect(a.savePendingChanges('d', [change('p5')], { committedRev: 1, pendingIds: ['p2', 'p3', 'p4'] })).rejects.toMatchObject({ name: 'StoreConflictError' });
      expect(await ids(b)).toEqual(['p2a', 'p2b', 'p3', 'p4']);
    });

    it('should check LWW pending ops it wrote last without reading them, and read them once another instance wrote', async () => {
      const a = v1();
      const b = v1();
      await a.trackDocs(['l'], 'lww');
      const reads = (work: () => Promise<unknown>) => queueReads(work, 'pendingOps');
      expect(await reads(() => a.savePendingOps('l', [op('/b', 1)], [], { pendingOps: [] }))).toBe(1);
      // Deletes first, then upserts, in path order: what the guard of the next write names.
      expect(await reads(() => a.savePendingOps('l', [op('/c', 3), op('/a', 2)], ['/b'], { pendingOps: [op('/b', 1)] }))).toBe(0);
      expect(await reads(() => a.savePendingOps('l', [op('/a', 4)], [], { pendingOps: [op('/a', 2), op('/c', 3)] }))).toBe(0);
      expect(await reads(() => b.savePendingOps('l', [op('/d', 5)], [], { pendingOps: [op('/a', 4), op('/c', 3)] }))).toBe(1);
      await expect(a.savePendingOps('l', [op('/e', 6)], [], { pendingOps: [op('/a', 4), op('/c', 3)] })).rejects.toMatchObject({ name: 'StoreConflictError' });
      // Sending moves every pending op into the in-flight change: none left, and that is known.
      await a.saveSendingChange('l', change('s1'), { sendingId: null, pendingOps: [op('/a', 4), op('/c', 3), op('/d', 5)] });
      expect(await reads(() => a.savePendingOps('l', [op('/f', 7)], [], { pendingOps: [] }))).toBe(0);
      // Another instance sends them: the first one's guard on them no longer holds.
      await b.applyServerChanges('l', { state: {}, rev: 1, changes: [committed('s1', 1)], clearSending: true });
      await b.saveSendingChange('l', change('s2'), { sendingId: null, pendingOps: [op('/f', 7)] });
      await expect(a.savePendingOps('l', [op('/g', 8)], [], { pendingOps: [op('/f', 7)] })).rejects.toMatchObject({ name: 'StoreConflictError' });
      expect(await b.getPendingOps('l')).toEqual([]);
    });

    it("should read only the paths another instance's writes logged since it last knew LWW pending ops, and all of them after anything else", async () => {
      const a = v1();
      const b = v1();
      await a.trackDocs(['l'], 'lww');
      const reads = (work: () => Promise<unknown>) => queueReads(work, 'pendingOps');
      const ops = async () => (await b.getQueue('l'))!.pendingOps;
      await a.savePendingOps('l', [op('/a', 1), op('/b', 2)], [], { pendingOps: [] });
      expect(await reads(ops)).toBe(1);
      // Three writes of the other instance: a new field, a field overwritten, a parent written over its child.
      await a.savePendingOps('l', [op('/c', 3)], [], { pendingOps: [op('/a', 1), op('/b', 2)] });
      await a.savePendingOps('l', [op('/a', 4)], [], { pendingOps: [op('/a', 1), op('/b', 2), op('/c', 3)] });
      await a.savePendingOps('l', [op('/c', { d: 5 })], ['/c/d'], { pendingOps: [op('/a', 4), op('/b', 2), op('/c', 3)] });
      const expected = [op('/a', 4), op('/b', 2), op('/c', { d: 5 })];
      expect(await reads(async () => expect(await ops()).toEqual(expected))).toBe(0);
      // Its own guarded write on them reads nothing either, and the other instance catches up on it.
      expect(await reads(() => b.savePendingOps('l', [op('/e', 6)], ['/b'], { pendingOps: expected }))).toBe(0);
      expect(await a.getPendingOps('l')).toEqual([op('/a', 4), op('/c', { d: 5 }), op('/e', 6)]);
      const caughtUp = () => a.savePendingOps('l', [op('/f', 7)], [], { pendingOps: [op('/a', 4), op('/c', { d: 5 }), op('/e', 6)] });
      expect(await reads(caughtUp)).toBe(0);
      // What a read hands out is a new array (of the ops the store knows: immutable, like states).
      (await b.getQueue('l'))!.pendingOps.pop();
      expect(await ops()).toEqual([op('/a', 4), op('/c', { d: 5 }), op('/e', 6), op('/f', 7)]);
      // A send is not logged: the ops are read whole (none left); so is a write too big for the log.
      await a.saveSendingChange('l', change('s1'), { sendingId: null, pendingOps: [op('/a', 4), op('/c', { d: 5 }), op('/e', 6), op('/f', 7)] });
      expect(await reads(async () => expect(await ops()).toEqual([]))).toBe(1);
      const many = Array.from({ length: 100 }, (_, i) => op(`/m${String(i).padStart(3, '0')}`, i));
      await a.savePendingOps('l', many, [], { pendingOps: [] });
      expect(await reads(async () => expect(await ops()).toEqual(many))).toBe(1);
      await a.savePendingOps('l', [op('/m000', 'x')], [], { pendingOps: many });
      expect(await reads(async () => expect(await ops()).toEqual([op('/m000', 'x'), ...many.slice(1)]))).toBe(0);
    });

    it("should read only the changes appended since its last read of another instance's queue, and all of it after anything else", async () => {
      const a = v1();
      const b = v1();
      await a.trackDocs(['d'], 'ot');
      await a.savePendingChanges('d', [change('p1'), change('p2')], { committedRev: 0, pendingIds: [] });
      /** The pending rows one read of `b` fetched (a read extends what it read before, or reads everything). */
      const fetched = async (read: () => Promise<unknown>): Promise<number> => {
        const getAll = jest.spyOn(IDBObjectStore.prototype, 'getAll');
        try {
          await read();
          const results = getAll.mock.contexts.flatMap((store, i) => ((store as IDBObjectStore).name === 'pendingChanges' ? [getAll.mock.results[i].value as IDBRequest] : []));
          return results.reduce((rows, request) => rows + (request.result as unknown[]).length, 0);
        } finally {
          getAll.mockRestore();
        }
      };
      const readB = async () => (await b.getDoc('d'))!.pending.map((c) => [c.id, c.rev]);
      expect(await fetched(readB)).toBe(2);
      await a.savePendingChanges('d', [change('p3')], { committedRev: 0, pendingIds: ['p1', 'p2'] });
      await a.savePendingChanges('d', [change('p4')], { committedRev: 0, pendingIds: ['p1', 'p2', 'p3'] });
      expect(await fetched(readB)).toBe(2);
      expect(await readB()).toEqual([['p1', 1], ['p2', 2], ['p3', 3], ['p4', 4]]);
      expect(await fetched(readB)).toBe(0);
      // Two reads at once, after one more append: neither takes the new change twice.
      await a.savePendingChanges('d', [change('p5')], { committedRev: 0, pendingIds: ['p1', 'p2', 'p3', 'p4'] });
      const both = await Promise.all([readB(), readB()]);
      expect([...both, await readB()]).toEqual(Array(3).fill([['p1', 1], ['p2', 2], ['p3', 3], ['p4', 4], ['p5', 5]]));
      // A server batch rewrites the queue (rebased, the first change acknowledged): read whole again.
      await a.applyServerChanges('d', { state: { n: 1 }, rev: 1, changes: [committed('p1', 1)], pending: [change('p2', 2), change('p3', 3), change('p4', 4), change('p5', 5)], expect: { committedRev: 0, pendingIds: ['p1', 'p2', 'p3', 'p4', 'p5'] } });
      expect(await fetched(readB)).toBe(4);
      expect(await readB()).toEqual([['p2', 2], ['p3', 3], ['p4', 4], ['p5', 5]]);
      // A split, then an append.
      await a.replacePendingChanges('d', [change('p2a', 2), change('p2b', 2)], ['p2']);
      await a.savePendingChanges('d', [change('p6')], { committedRev: 1, pendingIds: ['p2a', 'p2b', 'p3', 'p4', 'p5'] });
      expect(await readB()).toEqual([['p2a', 2], ['p2b', 2], ['p3', 3], ['p4', 4], ['p5', 5], ['p6', 6]]);
      // Appends by b itself.
      await b.savePendingChanges('d', [change('q1')]);
      expect(await readB()).toEqual([['p2a', 2], ['p2b', 2], ['p3', 3], ['p4', 4], ['p5', 5], ['p6', 6], ['q1', 7]]);
      // Untracked and tracked again: a new queue, read whole.
      await a.untrackDocs(['d']);
      await a.trackDocs(['d'], 'ot');
      await a.savePendingChanges('d', [change('x1')]);
      expect(await readB()).toEqual([['x1', 1]]);
      // What a read hands out is a copy: changing it changes neither the store nor the next read.
      const read = await b.getDoc('d');
      read!.pending[0].ops.length = 0;
      read!.pending.push(change('junk'));
      expect((await b.getDoc('d'))!.pending.map((c) => [c.id, c.ops.length])).toEqual([['x1', 1]]);
    });

    it("should refuse to remove a doc whose queue another instance appended to since this one wrote it", async () => {
      const a = v1();
      const b = v1();
      await a.trackDocs(['d'], 'ot');
      await a.savePendingChanges('d', [change('p1')], { committedRev: 0, pendingIds: [] });
      await b.savePendingChanges('d', [change('q1')], { committedRev: 0, pendingIds: ['p1'] });
      await expect(a.confirmDeleteDoc('d', { pendingIds: ['p1'] })).rejects.toMatchObject({ name: 'StoreConflictError', docId: 'd' });
      expect(await ids(b)).toEqual(['p1', 'q1']);
      await a.confirmDeleteDoc('d', { pendingIds: ['p1', 'q1'] });
      expect(await b.listDocs(true)).toEqual([]);
    });

    it('should refuse an append on a queue another instance emptied by untracking and tracking the doc again', async () => {
      const a = v1();
      const b = v1();
      await a.trackDocs(['d'], 'ot');
      await a.savePendingChanges('d', [change('p1')], { committedRev: 0, pendingIds: [] });
      await b.untrackDocs(['d']);
      await b.trackDocs(['d'], 'ot');
      await expect(a.savePendingChanges('d', [change('p2')], { committedRev: 0, pendingIds: ['p1'] })).rejects.toMatchObject({ name: 'StoreConflictError' });
      // Again, after the other instance also appended as many changes as there were.
      await a.savePendingChanges('d', [change('p2')], { committedRev: 0, pendingIds: [] });
      await b.untrackDocs(['d']);
      await b.trackDocs(['d'], 'ot');
      await b.savePendingChanges('d', [change('x1')], { committedRev: 0, pendingIds: [] });
      await expect(a.savePendingChanges('d', [change('p3')], { committedRev: 0, pendingIds: ['p2'] })).rejects.toMatchObject({ name: 'StoreConflictError' });
      expect(await ids(a)).toEqual(['x1']);
    });
  });

  describe('other connections', () => {
    it('should see what another instance on the same database committed', async () => {
      const a = v1();
      const b = v1();
      await a.trackDocs(['doc'], 'ot');
      expect((await b.listDocs()).map((d) => d.docId)).toEqual(['doc']);
      await b.applyServerChanges('doc', { state: { from: 'b' }, rev: 1, changes: [committed('c1', 1)] });
      await a.savePendingChanges('doc', [change('p1')]);
      expect((await a.getDoc('doc'))?.state).toEqual({ from: 'b' });
      expect(await b.getPendingChanges('doc')).toEqual([{ ...change('p1'), rev: 2 }]);
    });

    it('should read a doc whole after another instance re-tracked it under the other algorithm', async () => {
      // A read leaves out the stores of the algorithm it last saw; the row tells it when that changed.
      const a = v1();
      const b = v1();
      await a.trackDocs(['doc'], 'ot');
      expect(await a.getQueue('doc')).toMatchObject({ algorithm: 'ot', pending: [] });
      await b.untrackDocs(['doc']);
      await b.trackDocs(['doc'], 'lww');
      const op: JSONPatchOp = { op: 'replace', path: '/title', value: 'b', ts: 1 };
      await b.savePendingOps('doc', [op]);
      await b.saveSendingChange('doc', { ...change('s1'), ops: [op] });
      await b.savePendingOps('doc', [{ ...op, value: 'c', ts: 2 }]);
      expect(await a.getQueue('doc')).toMatchObject({ algorithm: 'lww', pendingOps: [{ ...op, value: 'c', ts: 2 }], sending: { id: 's1' } });
      expect(await a.getDoc('doc')).toMatchObject({ algorithm: 'lww', pendingOps: [{ value: 'c' }], sending: { id: 's1' } });
      // And back: an LWW reader of an OT doc reads its pending changes.
      await b.untrackDocs(['doc']);
      await b.trackDocs(['doc'], 'ot');
      await b.savePendingChanges('doc', [change('p1')]);
      expect(await a.getQueue('doc')).toMatchObject({ algorithm: 'ot', pending: [{ id: 'p1' }], pendingOps: [], sending: null });
    });

    it('should close cleanly for a later-version open, finish its write, and reopen on the next call', async () => {
      const store = v1();
      await store.trackDocs(['doc'], 'ot');
      const write = store.saveDoc('doc', { state: { kept: true }, rev: 3 });
      // Another tab opens version 2 but its upgrade fails, so the database stays at version 1.
      let blocked = false;
      const upgradeSeen = new Promise<number>((resolve, reject) => {
        const request = factory.open('app', IDB_SCHEMA_VERSION + 1);
        request.onblocked = () => (blocked = true);
        request.onupgradeneeded = (event) => {
          resolve(event.oldVersion);
          request.transaction!.abort();
        };
        request.onsuccess = () => reject(new Error('the upgrade should have been aborted'));
      });
      await write;
      expect(await upgradeSeen).toBe(IDB_SCHEMA_VERSION);
      expect(blocked).toBe(false);
      // Our next call opens a new connection and sees the write.
      expect(await store.getDoc('doc')).toMatchObject({ state: { kept: true }, committedRev: 3 });
    });

    it('should step aside for a newer version of the app and then reject instead of downgrading', async () => {
      const store = v1();
      await seed(store);
      const before = await dump(store);
      const newer = v2();
      expect(await dump(newer)).toEqual(before);
      const error = await storeErrorOf(store.getDoc('ot'));
      expect((error.cause as DOMException).name).toBe('VersionError');
    });

    it('should reject a blocked open and succeed on a later call once the blocker closes', async () => {
      const store = v1();
      await seed(store);
      const before = await dump(store);
      const stubborn = await rawOpen(factory, 'app'); // never closes on versionchange
      const newer = v2();
      const error = await storeErrorOf(newer.listDocs());
      expect(error.message).toMatch(/blocked/);
      // While the blocker stays, every call is refused at once (it waited for good: found in review).
      expect(await storeErrorOf(newer.getDoc('ot'))).toBe(error);
      stubborn.close();
      (await rawOpen(factory, 'app')).close(); // queued after the blocked open: that one has succeeded
      expect(await dump(newer)).toEqual(before);
    });

    it('should be lost once its connection is closed abnormally (the site\'s storage cleared), never reopen, and say so once', async () => {
      const connections: IDBDatabase[] = [];
      const realOpen = factory.open.bind(factory);
      jest.spyOn(factory, 'open').mockImplementation((name: string, version?: number) => {
        const request = realOpen(name, version);
        request.addEventListener('success', () => connections.push(request.result));
        return request;
      });
      const store = v1();
      await seed(store);
      expect(connections).toHaveLength(1);
      const said: StoreOutdatedError[] = [];
      store.outdated$.subscribe((error) => said.push(error));
      forceCloseDatabase(connections[0] as unknown as Parameters<typeof forceCloseDatabase>[0]);
      expect(said).toEqual([expect.any(StoreLostError)]);
      expect(await storeErrorOf(store.listDocs(true))).toBe(said[0]);
      expect(await storeErrorOf(store.savePendingChanges('ot', [change('p3')]))).toBe(said[0]);
      expect(said).toHaveLength(1);
      expect(connections).toHaveLength(1);
    });

    it('should be lost when the database is deleted under it: every call rejects with a StoreLostError and no new database is made', async () => {
      // Found in review: the next call made a new, empty database; the app's pending edits were
      // gone, every write failed as "not tracked", and a doc opened again showed empty as synced.
      const store = v1();
      await seed(store);
      expect(await deleteDatabase(factory, 'app')).toEqual({ blocked: false });
      const lost = await firstValueFrom(store.outdated$);
      expect(lost).toBeInstanceOf(StoreLostError);
      expect(await storeErrorOf(store.listDocs(true))).toBe(lost);
      expect(await storeErrorOf(store.trackDocs(['fresh'], 'lww'))).toBe(lost);
      expect(await storeErrorOf(store.getDoc('ot'))).toBe(lost);
      expect(await factory.databases()).toEqual([]);
    });

    it('should stay lost when another tab makes the deleted database again', async () => {
      const store = v1();
      await seed(store);
      await deleteDatabase(factory, 'app');
      const other = v1();
      await other.trackDocs(['fresh'], 'ot');
      expect(await storeErrorOf(store.listDocs(true))).toBeInstanceOf(StoreLostError);
      expect((await other.listDocs()).map((d) => d.docId)).toEqual(['fresh']);
    });
  });

  describe('failed transactions', () => {
    let putSpy: jest.SpyInstance | undefined;
    const realPut = IDBObjectStore.prototype.put;

    afterEach(() => {
      putSpy?.mockRestore();
      putSpy = undefined;
    });

    /** Make the put of the committed row at `rev` misbehave. */
    function failPut(rev: number, how: (store: IDBObjectStore, value: unknown) => IDBRequest) {
      putSpy = jest.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(function (this: IDBObjectStore, value: unknown, key?: IDBValidKey) {
        if (this.name === 'committedChanges' && (value as { rev: number }).rev === rev) return how(this, value);
        return realPut.call(this, value, key);
      });
    }

    async function seeded() {
      const store = v1();
      await store.trackDocs(['doc'], 'ot');
      await store.applyServerChanges('doc', { state: { n: 1 }, rev: 1, changes: [committed('c1', 1)] });
      await store.savePendingChanges('doc', [change('p1')]);
      return { store, before: await dump(store), docBefore: await store.getDoc('doc') };
    }

    const update = () => ({ state: { n: 3 }, rev: 3, changes: [committed('c2', 2), committed('c3', 3)], pending: [] });

    it('should roll back a QuotaExceededError thrown mid-transaction', async () => {
      const { store, docBefore } = await seeded();
      failPut(3, () => {
        throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      });
      const error = await storeErrorOf(store.applyServerChanges('doc', update()));
      expect(error.docId).toBe('doc');
      expect((error.cause as DOMException).name).toBe('QuotaExceededError');
      expect(error.message).toMatch(/quota/);
      putSpy!.mockRestore();
      expect(await store.getDoc('doc')).toEqual(docBefore);
      expect((await store.listChanges('doc')).map((c) => c.id)).toEqual(['c1']);
    });

    it('should roll back a transaction aborted under it', async () => {
      const { store, docBefore } = await seeded();
      // Aborted by the browser once the row was written, while the rest of the write is in flight.
      failPut(2, (objectStore, value) => {
        const request = realPut.call(objectStore, value);
        request.addEventListener('success', () => objectStore.transaction.abort());
        return request;
      });
      const error = await storeErrorOf(store.applyServerChanges('doc', update()));
      expect(error.docId).toBe('doc');
      expect((error.cause as DOMException).name).toBe('AbortError');
      putSpy!.mockRestore();
      expect(await store.getDoc('doc')).toEqual(docBefore);
      expect((await store.listChanges('doc')).map((c) => c.id)).toEqual(['c1']);
      // The store is still usable afterwards.
      await store.applyServerChanges('doc', update());
      expect((await store.listChanges('doc')).map((c) => c.id)).toEqual(['c1', 'c2', 'c3']);
    });

    it('should give the passed changes their old revs back when savePendingChanges fails', async () => {
      const { store, docBefore } = await seeded();
      const changes = [change('p2', 40), { ...change('p3', 41), hook: () => 0 }];
      const error = await storeErrorOf(store.savePendingChanges('doc', changes));
      expect(error.docId).toBe('doc');
      expect(changes.map((c) => c.rev)).toEqual([40, 41]);
      expect(await store.getDoc('doc')).toEqual(docBefore);
    });
  });

  describe('compaction', () => {
    async function applyRevs(store: PatchesStore, docId: string, from: number, to: number) {
      for (let rev = from; rev <= to; rev++) {
        await store.applyServerChanges(docId, { state: { rev }, rev, changes: [committed(`${docId}${rev}`, rev)] });
      }
    }

    it('should keep only the newest compactEvery history rows of each doc', async () => {
      const store = v1({ compactEvery: 3 });
      await store.trackDocs(['a', 'b'], 'ot');
      await applyRevs(store, 'a', 1, 7);
      await applyRevs(store, 'b', 1, 2);
      expect((await store.listChanges('a')).map((c) => c.rev)).toEqual([5, 6, 7]);
      expect((await store.listChanges('a', 5)).map((c) => c.rev)).toEqual([6, 7]);
      expect((await store.listChanges('b')).map((c) => c.rev)).toEqual([1, 2]);
      expect(await store.getDoc('a')).toMatchObject({ state: { rev: 7 }, committedRev: 7 });
    });

    it('should compact once per eighth of compactEvery revisions, not with every write', async () => {
      const store = v1({ compactEvery: 16 });
      await store.trackDocs(['a'], 'ot');
      const deletes = jest.spyOn(IDBObjectStore.prototype, 'delete');
      try {
        await applyRevs(store, 'a', 1, 40);
        // A step of 2 revisions: 20 compactions in 40 writes.
        expect(deletes.mock.contexts.filter((s) => (s as IDBObjectStore).name === 'committedChanges')).toHaveLength(20);
      } finally {
        deletes.mockRestore();
      }
      expect((await store.listChanges('a')).map((c) => c.rev)).toEqual(Array.from({ length: 16 }, (_, i) => 25 + i));
      await applyRevs(store, 'a', 41, 41);
      expect((await store.listChanges('a')).map((c) => c.rev)).toEqual(Array.from({ length: 17 }, (_, i) => 25 + i));
      expect(await store.getDoc('a')).toMatchObject({ state: { rev: 41 }, committedRev: 41 });
    });

    it('should compact a large batch in one write', async () => {
      const store = v1({ compactEvery: 2 });
      await store.trackDocs(['a'], 'ot');
      const changes = [1, 2, 3, 4, 5].map((rev) => committed(`c${rev}`, rev));
      await store.applyServerChanges('a', { state: { rev: 5 }, rev: 5, changes });
      expect((await store.listChanges('a')).map((c) => c.rev)).toEqual([4, 5]);
    });

    it('should default to 200 rows', async () => {
      const store = v1();
      await store.trackDocs(['a'], 'ot');
      const changes = Array.from({ length: 205 }, (_, i) => committed(`c${i + 1}`, i + 1));
      await store.applyServerChanges('a', { state: {}, rev: 205, changes });
      const history = await store.listChanges('a');
      expect(history).toHaveLength(200);
      expect(history[0].rev).toBe(6);
    });

    it('should reject a negative compactEvery', () => {
      expect(() => new IndexedDBStore('x', { indexedDB: factory, compactEvery: -1 })).toThrow(RangeError);
    });
  });
});

describe('IndexedDBStore received changes kept as history rows', () => {
  let factory: IDBFactory;
  const opened: IndexedDBStore[] = [];
  let statePuts: number;

  function open(options: { compactEvery?: number; snapshotEvery?: number } = {}): IndexedDBStore {
    const store = new IndexedDBStore('app', { indexedDB: factory, channel: null, ...options });
    opened.push(store);
    return store;
  }

  beforeEach(() => {
    factory = new IDBFactory();
    statePuts = 0;
    const realPut = IDBObjectStore.prototype.put;
    jest.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(function (this: IDBObjectStore, value: unknown, key?: IDBValidKey) {
      if (this.name === 'states') statePuts++;
      return realPut.call(this, value, key);
    });
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    for (const store of opened.splice(0)) await store.close();
  });

  /** A doc at rev 0 with `{ n: 0 }`; each received rev replaces `/n` with the rev (`committed`). */
  async function started(store: IndexedDBStore): Promise<void> {
    await store.trackDocs(['a'], 'ot');
    await store.saveDoc('a', { state: { n: 0 }, rev: 0 });
  }

  async function receive(store: PatchesStore, from: number, to: number, extra: Partial<ServerChangesUpdate> = {}): Promise<void> {
    for (let rev = from; rev <= to; rev++) {
      await store.applyServerChanges('a', { state: { n: rev }, rev, changes: [committed(`a${rev}`, rev)], replayable: true, ...extra });
    }
  }

  async function rawState(): Promise<unknown> {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const request = factory.open('app');
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    const row = await new Promise<{ state: unknown } | undefined>((resolve, reject) => {
      const request = db.transaction('states').objectStore('states').get('a');
      request.onsuccess = () => resolve(request.result as { state: unknown } | undefined);
      request.onerror = () => reject(request.error);
    });
    db.close();
    return row?.state;
  }

  it('should write the whole state only every snapshotEvery revisions and read the current one in between', async () => {
    const store = open({ snapshotEvery: 3 });
    await started(store);
    statePuts = 0;
    await receive(store, 1, 7);
    expect(statePuts).toBe(2); // at revs 3 and 6
    expect(await rawState()).toEqual({ n: 6 });
    expect(await store.getDoc('a')).toMatchObject({ committedRev: 7, state: { n: 7 } });
    // Another instance (a tab) reads the same.
    expect(await open({ snapshotEvery: 3 }).getDoc('a')).toMatchObject({ committedRev: 7, state: { n: 7 } });
    expect((await store.listChanges('a')).map((c) => c.rev)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('should keep the history rows the state needs even when compactEvery is smaller than snapshotEvery', async () => {
    const store = open({ compactEvery: 2, snapshotEvery: 50 });
    await started(store);
    await receive(store, 1, 9);
    expect((await store.listChanges('a')).map((c) => c.rev)).toEqual([8, 9]);
    expect(await open({ compactEvery: 2 }).getDoc('a')).toMatchObject({ committedRev: 9, state: { n: 9 } });
  });

  it('should write the whole state when the writer does not vouch for the replay, the revs skip or come out of order, or the server went back', async () => {
    const store = open();
    await started(store);
    statePuts = 0;
    await receive(store, 1, 2, { replayable: undefined });
    expect(statePuts).toBe(2);
    // A catch-up that skips revs 3 and 4.
    await store.applyServerChanges('a', { state: { n: 5 }, rev: 5, changes: [committed('a5', 5)], replayable: true });
    expect(statePuts).toBe(3);
    // Not in rev order: the rows would replay in another order than the state was built in.
    await store.applyServerChanges('a', { state: { n: 6 }, rev: 7, changes: [committed('a7', 7), committed('a6', 6)], replayable: true });
    expect(statePuts).toBe(4);
    await store.applyServerChanges('a', { state: { n: 1 }, rev: 1, changes: [], replayable: true, regressed: true });
    expect(statePuts).toBe(5);
    expect(await rawState()).toEqual({ n: 1 });
    expect(await store.getDoc('a')).toMatchObject({ committedRev: 1, state: { n: 1 } });
  });

  it('should not write the state when only the pending queue changes', async () => {
    const store = open();
    await started(store);
    await store.savePendingChanges('a', [change('p1')]);
    statePuts = 0;
    await store.applyServerChanges('a', { state: { n: 0 }, rev: 0, changes: [], pending: [], replayable: true });
    expect(statePuts).toBe(0);
    expect(await store.getDoc('a')).toMatchObject({ committedRev: 0, pending: [], state: { n: 0 } });
  });

  it('should start again from a snapshot installed over a tail', async () => {
    const store = open();
    await started(store);
    await receive(store, 1, 3);
    await store.saveDoc('a', { state: { n: 10, whole: true }, rev: 10 });
    expect(await store.getDoc('a')).toMatchObject({ committedRev: 10, state: { n: 10, whole: true } });
    await receive(store, 11, 12);
    expect(await store.getDoc('a')).toMatchObject({ committedRev: 12, state: { n: 12, whole: true } });
  });

  it('should reject a read with a StoreError when a row of the tail is gone, rather than show an old state', async () => {
    const store = open();
    await started(store);
    await receive(store, 1, 3);
    const db = await new Promise<IDBDatabase>((resolve) => {
      const request = factory.open('app');
      request.onsuccess = () => resolve(request.result);
    });
    await new Promise<void>((resolve) => {
      const tx = db.transaction('committedChanges', 'readwrite');
      tx.objectStore('committedChanges').delete(['a', 2]);
      tx.oncomplete = () => resolve();
    });
    db.close();
    const error = await store.getDoc('a').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).message).toMatch(/history of "a" after rev 0 is incomplete/);
    expect(await store.getQueue('a')).toMatchObject({ committedRev: 3 });
  });

  /** A store of an earlier schema version (the code is today's: only its version is old) on the spec's database. */
  function olderStore(version: number): IndexedDBStore {
    class OlderStore extends IndexedDBStore {
      protected override readonly migrations = IDB_MIGRATIONS.slice(0, version);
    }
    const old = new OlderStore('app', { indexedDB: factory, channel: null });
    opened.push(old);
    return old;
  }

  /** The name of the DOMException a store call rejected with (as the cause of its StoreError). */
  async function causeOf(promise: Promise<unknown>): Promise<string | undefined> {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    return ((error as StoreError | undefined)?.cause as DOMException | undefined)?.name;
  }

  it('should close the database to a store of schema version 1, which would read a lagging state as current', async () => {
    const old = olderStore(1);
    await old.trackDocs(['a'], 'ot');
    await old.saveDoc('a', { state: { n: 0 }, rev: 0 });
    const store = open();
    await receive(store, 1, 2);
    expect(await store.getDoc('a')).toMatchObject({ committedRev: 2, state: { n: 2 } });
    expect(await causeOf(old.getDoc('a'))).toBe('VersionError');
  });

  it('should close the database to a store of schema version 2, which would change a queue under its old tag', async () => {
    const old = olderStore(2);
    await old.trackDocs(['a'], 'ot');
    await old.savePendingChanges('a', [change('p1')]);
    const store = open();
    await store.savePendingChanges('a', [change('p2')], { committedRev: 0, pendingIds: ['p1'] });
    expect(await causeOf(old.savePendingChanges('a', [change('p3')]))).toBe('VersionError');
    expect((await store.getPendingChanges('a')).map((c) => c.id)).toEqual(['p1', 'p2']);
  });

  /**
   * What a tab of a version-3 build writes, raw (its code is gone): on a connection at version 3,
   * `write` runs in one transaction over `names`. Resolves to 'written', or the name of the error
   * opening it failed with.
   */
  async function version3Writes(names: string[], write: (tx: IDBTransaction) => void): Promise<string> {
    const db = await rawOpen(factory, 'app', 3).catch((error: DOMException) => error.name);
    if (typeof db === 'string') return db;
    await new Promise<void>((resolve, reject) => {
      const tx = db.transaction(names, 'readwrite');
      write(tx);
      tx.oncomplete = () => resolve();
      tx.onabort = () => reject(tx.error);
    });
    db.close();
    return 'written';
  }

  it("should close the database to a tab of schema version 3, whose LWW op kept the row's tag and was deleted by the next send (found in review)", async () => {
    const store = open();
    await store.trackDocs(['l'], 'lww');
    // As an open doc writes them: guarded, so the store knows the ops under the row's tag.
    const ops = [op('/a', 1)];
    await store.savePendingOps('l', ops, [], { pendingOps: [], committedRev: 0 });
    // Builds 73d669f and ee22fc2 saved an LWW edit's op without giving the row a new tag.
    const old = await version3Writes(['pendingOps'], (tx) => tx.objectStore('pendingOps').put({ docId: 'l', path: '/b', op: op('/b', 2) }));
    await store.saveSendingChange('l', { ...change('s1'), ops }, { sendingId: null, pendingOps: ops, committedRev: 0 });
    const kept = [...((await store.getSendingChange('l'))?.ops ?? []), ...(await store.getPendingOps('l'))].map((o) => o.path);
    expect({ old, kept }).toEqual({ old: 'VersionError', kept: ['/a'] });
  });

  it('should close the database to a tab of schema version 3, whose acknowledgement kept the queue base and made a view read only the rows after it (found in review)', async () => {
    const store = open();
    await store.trackDocs(['a'], 'ot');
    await store.savePendingChanges('a', [change('p1'), change('p2')]);
    expect((await store.getQueue('a'))?.pending.map((c) => c.id)).toEqual(['p1', 'p2']);
    // Builds before 18163d6 wrote the row as `{ ...row, queueTag }`: p1 and p2 acknowledged, p3
    // appended, and the base of the queue read whole above kept.
    const old = await version3Writes(['docs', 'pendingChanges'], (tx) => {
      const pending = tx.objectStore('pendingChanges');
      pending.delete(IDBKeyRange.bound(['a', 1], ['a', 2]));
      pending.put({ docId: 'a', seq: 3, change: change('p3', 1) });
      const docs = tx.objectStore('docs');
      docs.get('a').onsuccess = (event) => docs.put({ ...(event.target as IDBRequest).result, committedRev: 2, queueTag: 'version3' });
    });
    const queue = (await store.getQueue('a'))?.pending.map((c) => c.id);
    expect({ old, queue }).toEqual({ old: 'VersionError', queue: ['p1', 'p2'] });
  });

  it("should keep an OT doc's received changes as rows and give a new tab the same document", async () => {
    const patches = new Patches({ store: open({ snapshotEvery: 4 }), clock: () => 1 });
    const doc = await patches.openDoc<{ list?: string[]; title?: string }>('d');
    const receive = (id: string, rev: number, ops: JSONPatchOp[]) =>
      patches.runExclusive('d', () => patches.algorithms.ot.applyServerChanges('d', [{ id, ops, baseRev: rev - 1, rev, createdAt: 1, committedAt: 2 }]));
    await receive('s1', 1, [{ op: 'replace', path: '', value: { list: ['x'] } }]);
    doc.change((draft) => {
      draft.title = 'mine';
    });
    await doc.flush();
    statePuts = 0;
    for (let rev = 2; rev <= 6; rev++) await receive(`s${rev}`, rev, [{ op: 'add', path: '/list/0', value: `v${rev}` }]);
    expect(statePuts).toBe(1); // at rev 5, four after the state written at rev 1
    const tab = new Patches({ store: open({ snapshotEvery: 4 }) });
    const other = await tab.openDoc<{ list?: string[]; title?: string }>('d');
    expect(other.committedRev).toBe(6);
    expect(other.state).toEqual({ list: ['v6', 'v5', 'v4', 'v3', 'v2', 'x'], title: 'mine' });
    expect(doc.state).toEqual(other.state);
    await tab.close();
    await patches.close();
  });

  describe('getDocSince', () => {
    let stateGets: number;
    beforeEach(() => {
      stateGets = 0;
      const realGet = IDBObjectStore.prototype.get;
      jest.spyOn(IDBObjectStore.prototype, 'get').mockImplementation(function (this: IDBObjectStore, query: IDBValidKey | IDBKeyRange) {
        if (this.name === 'states') stateGets++;
        return realGet.call(this, query);
      });
    });

    it('should give the changes since a rev and the queue without reading the state while the rows lead there', async () => {
      const store = open({ snapshotEvery: 3 });
      await started(store);
      await receive(store, 1, 5);
      await store.savePendingChanges('a', [change('p1')]);
      stateGets = 0;
      const read = await store.getDocSince('a', 2);
      expect(stateGets).toBe(0);
      expect(read?.state).toBeUndefined();
      expect(read?.since.map((c) => c.rev)).toEqual([3, 4, 5]);
      expect(read).toMatchObject({ committedRev: 5, pending: [{ id: 'p1', rev: 6 }] });
      expect((await store.getDocSince('a', 5))?.since).toEqual([]);
      expect(stateGets).toBe(0);
    });

    it('should add the state when the rows since the rev were compacted', async () => {
      const store = open({ compactEvery: 2 });
      await started(store);
      await receive(store, 1, 6);
      const read = await store.getDocSince('a', 1);
      expect(read?.since.map((c) => c.rev)).toEqual([5, 6]);
      expect(read?.state).toEqual({ n: 6 });
    });

    it('should add the state, and leave out rows of the abandoned timeline, when the doc went below the rev', async () => {
      const store = open();
      await started(store);
      await receive(store, 1, 4);
      await store.applyServerChanges('a', { state: { n: 2, back: true }, rev: 2, changes: [], regressed: true });
      const read = await store.getDocSince('a', 3);
      expect(read).toMatchObject({ committedRev: 2, state: { n: 2, back: true }, since: [] });
      expect((await store.getDocSince('a', 1))?.since.map((c) => c.rev)).toEqual([2]);
    });

    describe('after the doc went back', () => {
      /** Rows 1–4 of one history, back to rev 2, then revs 3–5 of another (`/n` = 100 + rev). */
      async function rewoundStore(goBack: (store: IndexedDBStore) => Promise<void>): Promise<IndexedDBStore> {
        const store = open();
        await started(store);
        await receive(store, 1, 4);
        await goBack(store);
        for (let rev = 3; rev <= 5; rev++) {
          const other: Change = { ...committed(`b${rev}`, rev), ops: [op('/n', 100 + rev)] };
          await store.applyServerChanges('a', { state: { n: 100 + rev }, rev, changes: [other], replayable: true });
        }
        return store;
      }

      it.each([
        ['a server that lost revisions', (store: IndexedDBStore) => store.applyServerChanges('a', { state: { n: 2 }, rev: 2, changes: [], regressed: true })],
        ['an older snapshot', (store: IndexedDBStore) => store.saveDoc('a', { state: { n: 2 }, rev: 2 })],
      ])('should give the state to a view at a rev of the abandoned history (%s)', async (_, goBack) => {
        const store = await rewoundStore(goBack);
        // A view at rev 3 or 4 may hold the old history: the rows of the new one cannot bring it forward.
        for (const rev of [3, 4]) expect(await store.getDocSince('a', rev)).toMatchObject({ committedRev: 5, state: { n: 105 } });
        // Revs both histories share, and revs only the new one reached, still read rows only.
        expect(await store.getDocSince('a', 2)).not.toHaveProperty('state');
        expect((await store.getDocSince('a', 2))?.since.map((c) => c.id)).toEqual(['b3', 'b4', 'b5']);
        expect(await store.getDocSince('a', 5)).not.toHaveProperty('state');
        expect((await store.listChanges('a')).map((c) => c.id)).toEqual(['a1', 'a2', 'b3', 'b4', 'b5']);
      });

      it('should drop the rows of the abandoned history, so a catch-up that skips revs is not read as leading there', async () => {
        const store = open();
        await started(store);
        await receive(store, 1, 4);
        await store.applyServerChanges('a', { state: { n: 2 }, rev: 2, changes: [], regressed: true });
        const catchUp: Change = { ...committed('c5', 5), ops: [{ op: 'replace', path: '', value: { n: 5 } }] };
        await store.applyServerChanges('a', { state: { n: 5 }, rev: 5, changes: [catchUp], replayable: true });
        expect((await store.listChanges('a')).map((c) => c.id)).toEqual(['a1', 'a2', 'c5']);
        expect(await store.getDocSince('a', 2)).toMatchObject({ state: { n: 5 }, since: [{ id: 'c5' }] });
      });

      it('should give the state to a view of a doc that was deleted and started again', async () => {
        const store = open();
        await started(store);
        await receive(store, 1, 3);
        await store.deleteDoc('a');
        await store.trackDocs(['a'], 'ot');
        await store.saveDoc('a', { state: { n: 0 }, rev: 0 });
        await receive(store, 1, 4);
        expect(await store.getDocSince('a', 3)).toMatchObject({ committedRev: 4, state: { n: 4 } });
        expect(await store.getDocSince('a', 4)).not.toHaveProperty('state');
      });

      it("should bring another tab's view of the abandoned history to the store's state", async () => {
        const writer = new Patches({ store: open(), clock: () => 1 });
        const reader = new Patches({ store: open(), clock: () => 1 });
        const receiveIn = (id: string, rev: number, ops: JSONPatchOp[]) =>
          writer.runExclusive('d', () => writer.algorithms.ot.applyServerChanges('d', [{ id, ops, baseRev: rev - 1, rev, createdAt: 1, committedAt: 2 }]));
        await writer.openDoc('d');
        await receiveIn('s1', 1, [{ op: 'replace', path: '', value: { list: [] } }]);
        await receiveIn('s2', 2, [{ op: 'add', path: '/list/-', value: 'old' }]);
        const view = await reader.openDoc<{ list: string[] }>('d');
        expect(view.state).toEqual({ list: ['old'] });
        // The server lost rev 2 and moved on without it; the writer follows before the reader looks.
        await writer.store.applyServerChanges('d', { state: { list: [] }, rev: 1, changes: [], regressed: true });
        await writer.close();
        const follower = new Patches({ store: open(), clock: () => 1 });
        await follower.openDoc('d');
        const receiveNew = (id: string, rev: number, ops: JSONPatchOp[]) =>
          follower.runExclusive('d', () => follower.algorithms.ot.applyServerChanges('d', [{ id, ops, baseRev: rev - 1, rev, createdAt: 1, committedAt: 2 }]));
        await receiveNew('n2', 2, [{ op: 'add', path: '/list/-', value: 'new' }]);
        await receiveNew('n3', 3, [{ op: 'add', path: '/list/-', value: 'newer' }]);
        await reader.runExclusive('d', () => reader.algorithms.ot.refresh('d'));
        expect(view.committedRev).toBe(3);
        expect(view.state).toEqual({ list: ['new', 'newer'] });
        await follower.close();
        await reader.close();
      });

      it("should bring another tab's view to a new history that came back to the view's rev, OT and LWW alike", async () => {
        for (const algorithm of ['ot', 'lww'] as const) {
          const writer = new Patches({ store: open(), clock: () => 1 });
          const reader = new Patches({ store: open(), clock: () => 1 });
          const receive = (patches: Patches, id: string, rev: number, ops: JSONPatchOp[]) =>
            patches.runExclusive('d', () => patches.algorithms[algorithm].applyServerChanges('d', [{ id, ops, baseRev: rev - 1, rev, createdAt: 1, committedAt: 2 }]));
          await writer.openDoc('d', { algorithm });
          await receive(writer, 's1', 1, [{ op: 'replace', path: '/v', value: 'one' }]);
          await receive(writer, 's2', 2, [{ op: 'replace', path: '/v', value: 'old' }]);
          const view = await reader.openDoc<{ v: string }>('d', { algorithm });
          expect(view.state).toEqual({ v: 'old' });
          // The server lost rev 2, then another change became rev 2: the same rev, another state, nothing pending.
          await writer.store.applyServerChanges('d', { state: { v: 'one' }, rev: 1, changes: [], regressed: true });
          await writer.close();
          const follower = new Patches({ store: open(), clock: () => 1 });
          await follower.openDoc('d', { algorithm });
          await receive(follower, 'n2', 2, [{ op: 'replace', path: '/v', value: 'new' }]);
          await reader.runExclusive('d', () => reader.algorithms[algorithm].refresh('d'));
          expect([algorithm, view.committedRev, view.state]).toEqual([algorithm, 2, { v: 'new' }]);
          await follower.store.untrackDocs(['d']);
          await follower.close();
          await reader.close();
        }
      });

      it('should record an LWW edit again on the new history when its view was of the one the doc went back from, at the same rev', async () => {
        const receive = (patches: Patches, id: string, rev: number, ops: JSONPatchOp[]) =>
          patches.runExclusive('d', () => patches.algorithms.lww.applyServerChanges('d', [{ id, ops, baseRev: rev - 1, rev, createdAt: 1, committedAt: 2 }]));
        const first = new Patches({ store: open(), clock: () => 10 });
        await first.openDoc('d', { algorithm: 'lww' });
        await receive(first, 's1', 1, [{ op: 'replace', path: '/a', value: { x: 1 }, ts: 1 }]);
        await receive(first, 's2', 2, [{ op: 'replace', path: '/b', value: 'old', ts: 2 }]);
        await first.close();
        const reader = new Patches({ store: open(), clock: () => 10 });
        const view = await reader.openDoc<{ a: Record<string, number>; b?: string }>('d', { algorithm: 'lww' });
        // Another tab: the server lost rev 2, and another change became rev 2, writing /a whole.
        const other = new Patches({ store: open(), clock: () => 10 });
        await other.store.applyServerChanges('d', { state: { a: { x: 1 } }, rev: 1, changes: [], regressed: true });
        await other.openDoc('d', { algorithm: 'lww' });
        await receive(other, 'n2', 2, [{ op: 'replace', path: '/a', value: { y: 2 }, ts: 3 }]);
        await other.close();
        // The reader, not yet told, writes /a whole from what it shows.
        view.change(draft => {
          draft.a = { ...draft.a, z: 3 };
        });
        await view.flush();
        expect(await open().getPendingOps('d')).toEqual([expect.objectContaining({ op: 'replace', path: '/a', value: { y: 2, z: 3 } })]);
        expect(view.state).toEqual({ a: { y: 2, z: 3 } });
        await reader.store.untrackDocs(['d']);
        await reader.close();
      });

      it('should not apply server changes on a view of a history the doc went back from, though it reached the same rev, OT and LWW alike', async () => {
        // `wroteLast`: the reader applied rev 2 itself (it computes on what it wrote, reading
        // nothing); else it only opened the doc (it reads the queue and trusts its view's rev).
        for (const algorithm of ['ot', 'lww'] as const) {
          for (const wroteLast of [true, false]) {
            const receive = (patches: Patches, id: string, rev: number, ops: JSONPatchOp[]) =>
              patches.runExclusive('d', () => patches.algorithms[algorithm].applyServerChanges('d', [{ id, ops, baseRev: rev - 1, rev, createdAt: 1, committedAt: 2 }]));
            const first = new Patches({ store: open(), clock: () => 1 });
            await first.openDoc('d', { algorithm });
            await receive(first, 's1', 1, [{ op: 'replace', path: '/v', value: 'one' }]);
            const reader = new Patches({ store: open(), clock: () => 1 });
            const view = await reader.openDoc<{ v: string; w?: string }>('d', { algorithm });
            await receive(wroteLast ? reader : first, 's2', 2, [{ op: 'replace', path: '/v', value: 'old' }]);
            await first.close();
            if (!wroteLast) await reader.runExclusive('d', () => reader.algorithms[algorithm].refresh('d'));
            expect(view.state).toEqual({ v: 'old' });
            // Another tab: the server lost rev 2, then another change became rev 2. The reader has not heard yet.
            const other = new Patches({ store: open(), clock: () => 1 });
            await other.store.applyServerChanges('d', { state: { v: 'one' }, rev: 1, changes: [], regressed: true });
            await other.openDoc('d', { algorithm });
            await receive(other, 'n2', 2, [{ op: 'replace', path: '/v', value: 'new' }]);
            await other.close();
            // Rev 3 reaches the reader (its tab leads the connection now).
            await receive(reader, 's3', 3, [{ op: 'replace', path: '/w', value: 'three' }]);
            const stored = await open().getDoc('d');
            expect([algorithm, wroteLast, stored?.committedRev, stored?.state]).toEqual([algorithm, wroteLast, 3, { v: 'new', w: 'three' }]);
            expect(view.state).toEqual({ v: 'new', w: 'three' });
            await reader.store.untrackDocs(['d']);
            await reader.close();
          }
        }
      });
    });

    it("should let another tab's open LWW doc follow received changes by rows, and read it whole once a late reply broke the log", async () => {
      const writer = open();
      await writer.trackDocs(['l'], 'lww');
      const reader = new Patches({ store: open(), clock: () => 1 });
      const view = await reader.openDoc<Record<string, number>>('l', { algorithm: 'lww' });
      const refresh = () => reader.runExclusive('l', () => reader.algorithms.lww.refresh('l'));
      const lwwChange = (id: string, rev: number, path: string, value: number): Change => ({ ...committed(id, rev), ops: [op(path, value)] });
      await writer.applyServerChanges('l', { state: { a: 1 }, rev: 1, changes: [lwwChange('c1', 1, '/a', 1)], replayable: true });
      stateGets = 0;
      await refresh();
      expect(stateGets).toBe(0);
      expect(view.state).toEqual({ a: 1 });
      // Rev 2, then the late reply to a send, stored at its old rev 1 over c1's row: rows 1–2 no longer tell the story.
      await writer.applyServerChanges('l', { state: { a: 1, b: 2 }, rev: 2, changes: [lwwChange('c2', 2, '/b', 2)], replayable: true });
      await writer.applyServerChanges('l', { state: { a: 1, b: 2, c: 3 }, rev: 2, changes: [lwwChange('late', 1, '/c', 3)], replayable: true });
      await refresh();
      expect(stateGets).toBeGreaterThan(0);
      expect(view.committedRev).toBe(2);
      expect(view.state).toEqual({ a: 1, b: 2, c: 3 });
      await reader.close();
    });

    /** Another instance drops `docId` and gives it another history: each change (revs 1, 2, …) with the state after it. */
    async function anotherHistory(docId: string, algorithm: 'ot' | 'lww', steps: Array<[Change, unknown]>): Promise<void> {
      const other = open();
      await other.untrackDocs([docId]);
      await other.trackDocs([docId], algorithm);
      for (const [change, state] of steps) await other.applyServerChanges(docId, { state, rev: change.rev, changes: [change], replayable: true });
    }

    describe('a closed OT doc', () => {
      const receiveIn = (patches: Patches, id: string, rev: number, ops: JSONPatchOp[]) =>
        patches.runExclusive('c', () => patches.algorithms.ot.applyServerChanges('c', [{ id, ops, baseRev: rev - 1, rev, createdAt: 1, committedAt: 2 }]));

      it('should take server changes on the state it kept from the last ones, without reading the document', async () => {
        const patches = new Patches({ store: open(), clock: () => 1 });
        await patches.trackDocs(['c']);
        await receiveIn(patches, 's1', 1, [{ op: 'replace', path: '', value: { list: ['a'] } }]);
        stateGets = 0;
        await receiveIn(patches, 's2', 2, [{ op: 'add', path: '/list/-', value: 'b' }]);
        await receiveIn(patches, 's3', 3, [{ op: 'add', path: '/list/-', value: 'c' }]);
        expect(stateGets).toBe(0);
        expect(await open().getDoc('c')).toMatchObject({ committedRev: 3, state: { list: ['a', 'b', 'c'] } });
        await patches.close();
      });

      /** A Patches that applied revs 1–2 (`{ list: ['a', 'b'] }`) to closed doc `c`, writing the state it computes every time (a wrong base would show). */
      async function closedAtRev2(): Promise<Patches> {
        const patches = new Patches({ store: open({ snapshotEvery: 1 }), clock: () => 1 });
        await patches.trackDocs(['c']);
        await receiveIn(patches, 's1', 1, [{ op: 'replace', path: '', value: { list: ['a'] } }]);
        await receiveIn(patches, 's2', 2, [{ op: 'add', path: '/list/-', value: 'b' }]);
        return patches;
      }

      it('should bring the kept state forward by the rows another instance wrote since', async () => {
        const patches = await closedAtRev2();
        // Another tab (leading the connection for a while) received rev 3.
        const s3: Change = { ...committed('s3', 3), ops: [{ op: 'add', path: '/list/-', value: 'c' }] };
        await open().applyServerChanges('c', { state: { list: ['a', 'b', 'c'] }, rev: 3, changes: [s3], replayable: true });
        stateGets = 0;
        await receiveIn(patches, 's4', 4, [{ op: 'add', path: '/list/-', value: 'd' }]);
        expect(stateGets).toBe(0);
        expect(await open().getDoc('c')).toMatchObject({ committedRev: 4, state: { list: ['a', 'b', 'c', 'd'] } });
        await patches.close();
      });

      it('should read the document when the history at the kept rev holds another change', async () => {
        const patches = await closedAtRev2();
        await anotherHistory('c', 'ot', [
          [{ ...committed('n1', 1), ops: [{ op: 'replace', path: '', value: { list: ['other'] } }] }, { list: ['other'] }],
          [{ ...committed('n2', 2), ops: [{ op: 'add', path: '/list/-', value: 'x' }] }, { list: ['other', 'x'] }],
        ]);
        await receiveIn(patches, 's3', 3, [{ op: 'add', path: '/list/-', value: 'y' }]);
        expect(await open().getDoc('c')).toMatchObject({ committedRev: 3, state: { list: ['other', 'x', 'y'] } });
        await patches.close();
      });
    });

    describe('a closed LWW doc', () => {
      const receiveIn = (patches: Patches, id: string, rev: number, ops: JSONPatchOp[]) =>
        patches.runExclusive('l', () => patches.algorithms.lww.applyServerChanges('l', [{ id, ops, baseRev: rev - 1, rev, createdAt: 1, committedAt: 2 }]));
      const set = (path: string, value: unknown, ts = 1): JSONPatchOp => ({ op: 'replace', path, value, ts });

      /** A Patches that applied revs 1–2 (`{ a: 1, b: 2 }`) to closed LWW doc `l`, writing the state it computes every time (a wrong base would show). */
      async function closedAtRev2(): Promise<Patches> {
        const patches = new Patches({ store: open({ snapshotEvery: 1 }), clock: () => 1 });
        await patches.trackDocs(['l'], 'lww');
        await receiveIn(patches, 's1', 1, [set('/a', 1)]);
        await receiveIn(patches, 's2', 2, [set('/b', 2)]);
        return patches;
      }

      it('should take server changes on the state it kept from the last ones, without reading the document', async () => {
        const patches = await closedAtRev2();
        stateGets = 0;
        await receiveIn(patches, 's3', 3, [set('/c', 3)]);
        await receiveIn(patches, 's4', 4, [set('/a', 4, 2)]);
        expect(stateGets).toBe(0);
        expect(await open().getDoc('l')).toMatchObject({ committedRev: 4, state: { a: 4, b: 2, c: 3 } });
        await patches.close();
      });

      it('should bring the kept state forward by the rows another instance wrote since', async () => {
        const patches = await closedAtRev2();
        const s3: Change = { ...committed('s3', 3), ops: [set('/c', 3)] };
        await open().applyServerChanges('l', { state: { a: 1, b: 2, c: 3 }, rev: 3, changes: [s3], replayable: true });
        stateGets = 0;
        await receiveIn(patches, 's4', 4, [set('/d', 4)]);
        expect(stateGets).toBe(0);
        expect(await open().getDoc('l')).toMatchObject({ committedRev: 4, state: { a: 1, b: 2, c: 3, d: 4 } });
        await patches.close();
      });

      it('should read the document when the history at the kept rev holds another change', async () => {
        const patches = await closedAtRev2();
        await anotherHistory('l', 'lww', [
          [{ ...committed('n1', 1), ops: [set('/x', 1)] }, { x: 1 }],
          [{ ...committed('n2', 2), ops: [set('/y', 2)] }, { x: 1, y: 2 }],
        ]);
        await receiveIn(patches, 's3', 3, [set('/z', 3)]);
        expect(await open().getDoc('l')).toMatchObject({ committedRev: 3, state: { x: 1, y: 2, z: 3 } });
        await patches.close();
      });

      it('should not keep a state an op failed on, and read the document for the next change', async () => {
        const patches = await closedAtRev2();
        // A failed test voids the rest of its change (applied leniently): the rows no longer replay to the state.
        await receiveIn(patches, 's3', 3, [{ op: 'test', path: '/a', value: 99 }, set('/c', 3)]);
        stateGets = 0;
        await receiveIn(patches, 's4', 4, [set('/d', 4)]);
        expect(stateGets).toBeGreaterThan(0);
        expect(await open().getDoc('l')).toMatchObject({ committedRev: 4, state: { a: 1, b: 2, d: 4 } });
        await patches.close();
      });
    });

    it('should be undefined for a doc that is not tracked or deleted', async () => {
      const store = open();
      await started(store);
      await store.deleteDoc('a');
      expect(await store.getDocSince('a', 0)).toBeUndefined();
      expect(await store.getDocSince('nope', 0)).toBeUndefined();
    });

    it("should let another tab's open OT doc follow a received change without reading the document", async () => {
      const writer = new Patches({ store: open(), clock: () => 1 });
      const reader = new Patches({ store: open(), clock: () => 1 });
      const receiveIn = (patches: Patches, id: string, rev: number, ops: JSONPatchOp[]) =>
        patches.runExclusive('d', () => patches.algorithms.ot.applyServerChanges('d', [{ id, ops, baseRev: rev - 1, rev, createdAt: 1, committedAt: 2 }]));
      await writer.openDoc('d');
      await receiveIn(writer, 's1', 1, [{ op: 'replace', path: '', value: { list: ['x'] } }]);
      const view = await reader.openDoc<{ list: string[]; title?: string }>('d');
      view.change((draft) => {
        draft.title = 'mine';
      });
      await view.flush();
      await receiveIn(writer, 's2', 2, [{ op: 'add', path: '/list/-', value: 'y' }]);
      stateGets = 0;
      await reader.runExclusive('d', () => reader.algorithms.ot.refresh('d'));
      expect(stateGets).toBe(0);
      expect(view.committedRev).toBe(2);
      expect(view.state).toEqual({ list: ['x', 'y'], title: 'mine' });
      expect(await reader.store.getDoc('d')).toMatchObject({ committedRev: 2, state: { list: ['x', 'y'] } });
      await writer.close();
      await reader.close();
    });
  });

  it("should keep an LWW doc's received changes as rows too, unless one of their ops failed", async () => {
    const patches = new Patches({ store: open({ snapshotEvery: 4 }), clock: () => 1 });
    const doc = await patches.openDoc<{ a?: number; b?: number }>('l', { algorithm: 'lww' });
    const receive = (id: string, rev: number, ops: JSONPatchOp[]) =>
      patches.runExclusive('l', () => patches.algorithms.lww.applyServerChanges('l', [{ id, ops, baseRev: rev - 1, rev, createdAt: 1, committedAt: 2 }]));
    statePuts = 0;
    await receive('s1', 1, [op('/a', 1)]);
    // A failed test voids its change when LWW applies it (leniently): the state is written whole,
    // since the rows replayed together would not void the same ops.
    await receive('s2', 2, [{ op: 'test', path: '/a', value: 5 }, op('/a', 9)]);
    expect(statePuts).toBe(1);
    await receive('s3', 3, [op('/b', 2)]);
    expect(statePuts).toBe(1);
    expect(doc.state).toEqual({ a: 1, b: 2 });
    const tab = new Patches({ store: open({ snapshotEvery: 4 }) });
    const other = await tab.openDoc<{ a?: number; b?: number }>('l');
    expect(other.committedRev).toBe(3);
    expect(other.state).toEqual({ a: 1, b: 2 });
    // The rows cannot bring a view from before the write whose op failed: it gets the state; from there on, rows.
    expect(await tab.store.getDocSince!('l', 1)).toMatchObject({ state: { a: 1, b: 2 } });
    expect(await tab.store.getDocSince!('l', 2)).not.toHaveProperty('state');
    expect((await tab.store.getDocSince!('l', 2))?.since.map((c) => c.id)).toEqual(['s3']);
    // LWW applies a new doc's first change to {}: so does the replay.
    await patches.openDoc('m', { algorithm: 'lww' });
    await patches.runExclusive('m', () => patches.algorithms.lww.applyServerChanges('m', [{ id: 'm1', ops: [{ op: 'remove', path: '/x', ts: 1 }], baseRev: 0, rev: 1, createdAt: 1, committedAt: 2 }]));
    const m = await tab.store.getDoc('m');
    expect(m?.committedRev).toBe(1);
    expect(m?.state).toEqual({});
    await tab.close();
    await patches.close();
  });

  it('should reject a snapshotEvery below 1', () => {
    expect(() => new IndexedDBStore('x', { indexedDB: factory, snapshotEvery: 0 })).toThrow(RangeError);
  });
});

describe('IndexedDBStore announcements to other instances', () => {
  /** One key per edit, so concurrent edits of two instances never overwrite each other. */
  type Notes = Record<string, true>;
  let factory: IDBFactory;
  let hub: HeldChannelHub;
  const running: Array<{ close(): Promise<void> }> = [];
  /** Databases a case holds: let go first, also when the case failed, so no close waits on them. */
  const holds: HeldDatabase[] = [];

  beforeEach(() => {
    factory = new IDBFactory();
    hub = new HeldChannelHub();
  });
  afterEach(async () => {
    for (const held of holds.splice(0)) await held.release();
    for (const instance of running.splice(0)) await instance.close();
  });

  /** Holds the database's doc rows with a transaction of the test's own (`holdDatabase`). */
  async function hold(): Promise<HeldDatabase> {
    const held = await holdDatabase(factory, 'app', ['docs']);
    holds.push(held);
    return held;
  }

  /** One instance (a tab): its own store object on the shared database, talking on the held hub. */
  function instance(): { patches: Patches; channel: HeldChannel } {
    const channel = hub.channel();
    const patches = new Patches({ store: new IndexedDBStore('app', { indexedDB: factory, channel }) });
    running.push(patches);
    return { patches, channel };
  }

  /** Makes an edit and waits until it is stored (and announced, if it is). */
  async function add(doc: PatchesDoc<Notes>, item: string): Promise<void> {
    doc.change(draft => {
      draft[item] = true;
    });
    await doc.flush();
  }

  /** Resolves once the open doc shows every one of `items`. */
  function shows(doc: PatchesDoc<Notes>, items: string[]): Promise<unknown> {
    return firstValueFrom(doc.state$.pipe(filter(state => items.every(item => state[item]))));
  }

  const writes = (channel: HeldChannel) => channel.posted.filter(message => (message as { kind?: string }).kind !== undefined);

  it("should start no read of another instance's writes while its page is frozen, and follow them once it resumes (found with a frozen Chromium tab)", async () => {
    // Chromium runs a frozen page's channel handlers, but not the IndexedDB callbacks of the reads
    // they start: such a read held the database, and every other tab's next write, until it resumed.
    const page = new FakePage();
    const store = new IndexedDBStore('app', { indexedDB: factory, channel: hub.channel(), page });
    const frozen = new Patches({ store });
    running.push(frozen);
    const other = instance();
    const docA = await frozen.openDoc<Notes>('notes');
    const docB = await other.patches.openDoc<Notes>('notes');
    hub.deliverAll();
    const reads = [jest.spyOn(store, 'getDoc'), jest.spyOn(store, 'getDocSince')];
    const followed: string[] = [];
    const following = frozen.otherWrites$.subscribe(docId => followed.push(docId));

    page.freeze();
    await add(docB, 'b1');
    await add(docB, 'b2');
    hub.deliverAll();
    // Whatever the writes made the frozen instance queue for the doc has run by now.
    await frozen.runExclusive('notes', async () => undefined);
    expect(reads.map(read => read.mock.calls.length)).toEqual([0, 0]);
    expect(docA.state).toEqual({});
    expect(followed).toEqual([]);

    const next = firstValueFrom(frozen.otherWrites$);
    page.resume();
    expect(await next).toBe('notes');
    expect(docA.state).toEqual({ b1: true, b2: true });
    following.unsubscribe();
  });

  it('should post nothing per write while no other instance is on the database', async () => {
    const channel = hub.channel();
    const store = new IndexedDBStore('app', { indexedDB: factory, channel });
    await store.trackDocs(['ot'], 'ot');
    await store.trackDocs(['lww'], 'lww');
    await store.savePendingChanges('ot', [change('p1')]);
    await store.applyServerChanges('ot', { state: { n: 1 }, rev: 1, changes: [committed('c1', 1)] });
    await store.savePendingOps('lww', [op('/a', 1)]);
    await store.saveSendingChange('lww', change('s1'));
    await store.deleteDoc('ot');
    await store.confirmDeleteDoc('ot');
    hub.deliverAll();
    expect(channel.posted).toEqual([{ type: 'hello' }]);
    // Closing posts what it kept back, once, merged by kind.
    await store.close();
    expect(channel.posted.slice(1)).toEqual([
      { kind: 'track', docIds: ['ot'], algorithm: 'ot' },
      { kind: 'track', docIds: ['lww'], algorithm: 'lww' },
      { kind: 'write', docIds: ['ot', 'lww'] },
      { kind: 'delete', docIds: ['ot'] },
      { kind: 'untrack', docIds: ['ot'] },
    ]);
  });

  it("should show a newcomer the first instance's earlier edits, and its later ones as they come", async () => {
    const a = instance();
    const docA = await a.patches.openDoc<Notes>('notes');
    await add(docA, 'a1');
    hub.deliverAll();
    expect(writes(a.channel)).toEqual([]);

    const b = instance();
    const docB = await b.patches.openDoc<Notes>('notes');
    expect(docB.state).toEqual({ a1: true });
    hub.deliverAll();
    await add(docA, 'a2');
    hub.deliverAll();
    await shows(docB, ['a1', 'a2']);
    await add(docB, 'b1');
    hub.deliverAll();
    expect(await shows(docA, ['a1', 'a2', 'b1'])).toEqual({ a1: true, a2: true, b1: true });
  });

  it("should not miss writes made between a newcomer's hello and the first instance hearing it", async () => {
    const a = instance();
    const docA = await a.patches.openDoc<Notes>('notes');
    await add(docA, 'a1');
    hub.deliverAll();

    const b = instance(); // its hello is held
    const docB = await b.patches.openDoc<Notes>('notes');
    expect(docB.state).toEqual({ a1: true });
    await add(docA, 'a2'); // A still knows of no one: kept back
    await add(docB, 'b1'); // B has heard no one: kept back
    expect(writes(a.channel)).toEqual([]);
    expect(writes(b.channel)).toEqual([]);

    hub.deliverNext(); // A hears hello: answers here, posts its backlog
    expect(writes(a.channel)).toEqual([
      { kind: 'track', docIds: ['notes'], algorithm: 'ot' },
      { kind: 'write', docIds: ['notes'] },
    ]);
    hub.deliverAll(); // B hears here and A's backlog, and posts its own
    await shows(docB, ['a1', 'a2', 'b1']);
    await shows(docA, ['a1', 'a2', 'b1']);
  });

  it("should apply another instance's appended OT changes on an open doc's view, not rebuild it from the whole queue", async () => {
    type Board = Record<string, { n: number }>;
    const a = instance();
    const b = instance();
    hub.deliverAll();
    const docA = await a.patches.openDoc<Board>('board');
    const docB = await b.patches.openDoc<Board>('board');
    hub.deliverAll();
    const edit = async (mutator: (draft: Board) => void, shown: (state: Board) => boolean) => {
      docA.change(mutator);
      await docA.flush();
      hub.deliverAll();
      await firstValueFrom(docB.state$.pipe(filter(shown)));
    };
    await edit(draft => {
      draft.left = { n: 0 };
      draft.right = { n: 0 };
    }, state => state.right?.n === 0);
    for (let i = 1; i <= 10; i++) {
      const side = i % 2 ? 'left' : 'right';
      const untouched = docB.state[i % 2 ? 'right' : 'left'];
      await edit(draft => {
        draft[side].n = i;
      }, state => state[side]?.n === i);
      // Applied on the view: the side this change did not touch is the same object.
      expect(docB.state[i % 2 ? 'right' : 'left']).toBe(untouched);
    }
    const fresh = instance();
    expect(docB.state).toEqual((await fresh.patches.openDoc<Board>('board')).state);
    expect(docB.state).toEqual({ left: { n: 9 }, right: { n: 10 } });
  });

  it("should let an open LWW doc follow another instance's offline edits by the paths they wrote, and apply only those to its view", async () => {
    type Settings = Record<string, Record<string, number>>;
    const a = instance();
    const b = instance();
    hub.deliverAll();
    const docA = await a.patches.openDoc<Settings>('s', { algorithm: 'lww' });
    const docB = await b.patches.openDoc<Settings>('s', { algorithm: 'lww' });
    hub.deliverAll();
    const edit = async (i: number, mutator: (draft: Settings) => void) => {
      docA.change(mutator);
      await docA.flush();
      hub.deliverAll();
      await firstValueFrom(docB.state$.pipe(filter(state => state.last?.i === i)));
    };
    await edit(0, draft => {
      draft.b0 = { f0: 0 };
      draft.b1 = { f0: 0 };
      draft.last = { i: 0 };
    });
    const getAll = jest.spyOn(IDBObjectStore.prototype, 'getAll');
    try {
      for (let i = 1; i <= 20; i++) {
        const untouched = docB.state[`b${(i + 1) % 2}`];
        await edit(i, draft => {
          draft[`b${i % 2}`][`f${i}`] = i;
          draft.last = { i };
        });
        // Applied on the view, not rebuilt from every pending op: what the write did not touch is the same object.
        expect(docB.state[`b${(i + 1) % 2}`]).toBe(untouched);
      }
      expect(getAll.mock.contexts.filter(store => (store as IDBObjectStore).name === 'pendingOps')).toHaveLength(0);
    } finally {
      getAll.mockRestore();
    }
    // A parent written over its fields, then a field removed: still what a fresh read shows.
    await edit(21, draft => {
      draft.b0 = { g: 1 };
      delete draft.b1.f1;
      draft.last = { i: 21 };
    });
    const fresh = instance();
    expect(docB.state).toEqual((await fresh.patches.openDoc<Settings>('s', { algorithm: 'lww' })).state);
    expect(docB.state).toEqual(docA.state);
    expect(docB.state.b0).toEqual({ g: 1 });
  });

  it('should read an open doc whole when another instance untracked it and tracked it again with a new history', async () => {
    const a = instance();
    const channel = hub.channel();
    const other = new IndexedDBStore('app', { indexedDB: factory, channel });
    hub.deliverAll();
    const receive = (id: string, rev: number, ops: JSONPatchOp[]) =>
      a.patches.runExclusive('d', () => a.patches.algorithms.ot.applyServerChanges('d', [{ id, ops, baseRev: rev - 1, rev, createdAt: 1, committedAt: 2 }]));
    const doc = await a.patches.openDoc<{ list: string[] }>('d');
    await receive('s1', 1, [{ op: 'replace', path: '', value: { list: [] } }]);
    await receive('s2', 2, [{ op: 'add', path: '/list/-', value: 'old' }]);
    hub.deliverAll();
    // Another tab drops the doc and starts it again, and its new history passes rev 2 before this tab hears a word.
    await other.untrackDocs(['d']);
    await other.trackDocs(['d'], 'ot');
    const history: [Change, unknown][] = [
      [{ ...committed('n1', 1), ops: [{ op: 'replace', path: '', value: { list: [] } }] }, { list: [] }],
      [{ ...committed('n2', 2), ops: [{ op: 'add', path: '/list/-', value: 'new' }] }, { list: ['new'] }],
      [{ ...committed('n3', 3), ops: [{ op: 'add', path: '/list/-', value: 'newer' }] }, { list: ['new', 'newer'] }],
    ];
    for (const [change, state] of history) await other.applyServerChanges('d', { state, rev: change.rev, changes: [change], replayable: true });
    const followed = firstValueFrom(a.patches.otherWrites$);
    hub.deliverAll();
    await followed;
    expect(doc.committedRev).toBe(3);
    expect(doc.state).toEqual({ list: ['new', 'newer'] });
    await other.close();
  });

  it('should announce a write that commits while its instance closes (another showed its doc pending until it was written again)', async () => {
    const a = instance();
    const b = instance();
    hub.deliverAll();
    const docA = await a.patches.openDoc<Notes>('notes');
    const docB = await b.patches.openDoc<Notes>('notes');
    await add(docA, 'a1');
    hub.deliverAll();
    await shows(docB, ['a1']);
    expect(docB.hasPending).toBe(true);
    // A's sync stores the server's acknowledgement of a1 as A closes: the write waits behind another connection's transaction.
    const [edit] = await a.patches.store.getPendingChanges('notes');
    const posted = writes(a.channel).length;
    const held = await hold();
    const acknowledged = a.patches.store.applyServerChanges('notes', { state: { a1: true }, rev: 1, changes: [{ ...edit, committedAt: 2 }], pending: [] });
    const closing = a.patches.close();
    await held.release();
    await Promise.all([acknowledged, closing]);
    expect(writes(a.channel).slice(posted)).toEqual([{ kind: 'write', docIds: ['notes'] }]);
    const heard = firstValueFrom(b.patches.otherWrites$);
    hub.deliverAll();
    expect(await heard).toBe('notes');
    expect([docB.committedRev, docB.hasPending, docB.state]).toEqual([1, false, { a1: true }]);
  });

  it('should announce the writes under way at once as its page unloads, and another instance reading then finds them committed', async () => {
    const page = new FakePage();
    const channel = hub.channel();
    const store = new IndexedDBStore('app', { indexedDB: factory, channel, page });
    running.push(store);
    const b = instance();
    const docB = await b.patches.openDoc<Notes>('notes');
    hub.deliverAll();
    await store.listDocs(); // open
    const held = await hold();
    const begun = writeBegun('docs');
    const writing = store.saveDoc('notes', { state: { a1: true }, rev: 1 });
    await begun;
    page.unload();
    // The page runs nothing more (its channel is gone): what it posted as it went is all the others hear.
    channel.close();
    expect(writes(channel)).toEqual([{ kind: 'write', docIds: ['notes'] }]);
    const heard = firstValueFrom(b.patches.otherWrites$);
    hub.deliverAll(); // B reads now, behind the write under way
    await held.release();
    await writing;
    expect(await heard).toBe('notes');
    expect([docB.committedRev, docB.state]).toEqual([1, { a1: true }]);
    await store.close();
    expect(page.listenerCount).toBe(0); // the store let the page go
  });

  it("should bring both instances' early writes to each other when they start together", async () => {
    const a = instance();
    const b = instance();
    const docA = await a.patches.openDoc<Notes>('notes');
    const docB = await b.patches.openDoc<Notes>('notes');
    await add(docA, 'a1');
    await add(docB, 'b1');
    await add(docA, 'a2');
    const lww = await b.patches.openDoc<{ theme?: string }>('settings', { algorithm: 'lww' });
    lww.change(draft => {
      draft.theme = 'dark';
    });
    await lww.flush();
    hub.deliverAll();
    await shows(docA, ['a1', 'a2', 'b1']);
    await shows(docB, ['a1', 'a2', 'b1']);
    expect(a.patches.getDocAlgorithm('settings')).toBe('lww');
    const settings = await a.patches.openDoc<{ theme?: string }>('settings');
    expect(settings.state).toEqual({ theme: 'dark' });
  });
});

function change(id: string, rev = 0): Change {
  return { id, ops: [op('/a', id)], baseRev: 0, rev, createdAt: 1_700_000_000_000, committedAt: 0 };
}

function committed(id: string, rev: number): Change {
  return { id, ops: [op('/n', rev)], baseRev: rev - 1, rev, createdAt: 1_700_000_000_000, committedAt: 1_700_000_000_500 };
}

function op(path: string, value: unknown): JSONPatchOp {
  return { op: 'replace', path, value, ts: 1_700_000_000_000 };
}
