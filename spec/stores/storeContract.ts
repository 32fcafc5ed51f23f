import { DocNotTrackedError, StoreConflictError, StoreError } from '../../src/errors.js';
import type { PatchesStore } from '../../src/stores/PatchesStore.js';
import type { Change, JSONPatchOp } from '../../src/types.js';

/**
 * The contract every `PatchesStore` implementation must pass: one shared jest suite, run by each
 * store's own spec with a factory for a fresh, empty store.
 *
 * @example
 * describeStoreContract('InMemoryStore', () => new InMemoryStore());
 * describeStoreContract('IndexedDBStore', () => new IndexedDBStore('t', { indexedDB: new IDBFactory() }), (s) => s.close());
 */
export function describeStoreContract(
  name: string,
  makeStore: () => Promise<PatchesStore> | PatchesStore,
  cleanup?: (store: PatchesStore) => Promise<void> | void,
  /** `sharesState`: the store keeps doc states by reference (they are immutable values), so state isolation is not asserted. */
  traits: { sharesState?: boolean } = {},
): void {
  describe(`${name} (PatchesStore contract)`, () => {
    let store: PatchesStore;

    beforeEach(async () => {
      store = await makeStore();
    });

    afterEach(async () => {
      if (cleanup) await cleanup(store);
    });

    /** Expect a promise to reject with a StoreError naming `docId`. */
    async function expectStoreError(promise: Promise<unknown>, docId?: string, name = 'StoreError'): Promise<StoreError> {
      const error = await promise.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(StoreError);
      expect((error as StoreError).name).toBe(name);
      if (docId !== undefined) expect((error as StoreError).docId).toBe(docId);
      return error as StoreError;
    }

    /** Expect a write to reject with a DocNotTrackedError naming `docId`, saying whether it was deleted. */
    async function expectNotTracked(promise: Promise<unknown>, docId: string, deleted: boolean): Promise<void> {
      const error = await expectStoreError(promise, docId, 'DocNotTrackedError');
      expect(error).toBeInstanceOf(DocNotTrackedError);
      expect((error as DocNotTrackedError).deleted).toBe(deleted);
    }

    describe('tracking', () => {
      it('should know nothing about a doc that was never tracked', async () => {
        expect(await store.getDoc('nope')).toBeUndefined();
        expect(await store.getCommittedRev('nope')).toBe(0);
        expect(await store.getPendingChanges('nope')).toEqual([]);
        expect(await store.getPendingOps('nope')).toEqual([]);
        expect(await store.getSendingChange('nope')).toBeNull();
        expect(await store.listChanges('nope')).toEqual([]);
        expect(await store.listDocs(true)).toEqual([]);
      });

      it('should start a tracked doc empty, at rev 0, with a null state', async () => {
        await store.trackDocs(['a'], 'ot');
        await store.trackDocs(['b'], 'lww');
        expect(await store.getDoc('a')).toEqual({
          docId: 'a',
          algorithm: 'ot',
          state: null,
          committedRev: 0,
          pending: [],
          pendingOps: [],
          sending: null,
        });
        expect((await store.getDoc('b'))?.algorithm).toBe('lww');
      });

      it('should list tracked docs with their algorithm and committed rev', async () => {
        await store.trackDocs(['a', 'b'], 'ot');
        await store.trackDocs(['c'], 'lww');
        await store.saveDoc('b', { state: { x: 1 }, rev: 4 });
        expect(byId(await store.listDocs())).toEqual([
          { docId: 'a', committedRev: 0, algorithm: 'ot' },
          { docId: 'b', committedRev: 4, algorithm: 'ot' },
          { docId: 'c', committedRev: 0, algorithm: 'lww' },
        ]);
      });

      it('should keep the algorithm and data when a doc is tracked again', async () => {
        await store.trackDocs(['a'], 'ot');
        await store.saveDoc('a', { state: { x: 1 }, rev: 3 });
        await store.savePendingChanges('a', [change('p1')]);
        await store.trackDocs(['a'], 'lww');
        const doc = await store.getDoc('a');
        expect(doc?.algorithm).toBe('ot');
        expect(doc?.state).toEqual({ x: 1 });
        expect(doc?.committedRev).toBe(3);
        expect(doc?.pending.map((c) => c.id)).toEqual(['p1']);
      });

      it('should purge all data of untracked docs and leave others alone', async () => {
        await store.trackDocs(['a', 'b'], 'ot');
        await store.applyServerChanges('a', { state: { x: 1 }, rev: 1, changes: [committed('c1', 1)] });
        await store.savePendingChanges('a', [change('p1')]);
        await store.saveDoc('b', { state: { y: 2 }, rev: 2 });
        await store.untrackDocs(['a', 'never-tracked']);
        expect(await store.getDoc('a')).toBeUndefined();
        expect(await store.getCommittedRev('a')).toBe(0);
        expect(await store.getPendingChanges('a')).toEqual([]);
        expect(await store.listChanges('a')).toEqual([]);
        expect(byId(await store.listDocs(true))).toEqual([{ docId: 'b', committedRev: 2, algorithm: 'ot' }]);
        // Tracking it again starts from scratch.
        await store.trackDocs(['a'], 'lww');
        expect(await store.getDoc('a')).toMatchObject({ algorithm: 'lww', state: null, committedRev: 0, pending: [] });
      });

      it('should purge a tombstone on untrack', async () => {
        await store.trackDocs(['a'], 'ot');
        await store.deleteDoc('a');
        await store.untrackDocs(['a']);
        expect(await store.listDocs(true)).toEqual([]);
      });

      it('should reject writes to a doc that is not tracked, with a DocNotTrackedError naming it', async () => {
        await expectNotTracked(store.saveDoc('x', { state: {}, rev: 1 }), 'x', false);
        await expectNotTracked(store.savePendingChanges('x', [change('p1')]), 'x', false);
        await expectNotTracked(store.replacePendingChanges('x', [change('p1')]), 'x', false);
        await expectNotTracked(store.applyServerChanges('x', { state: {}, rev: 1, changes: [] }), 'x', false);
        await expectNotTracked(store.savePendingOps('x', [op('/a', 1)]), 'x', false);
        await expectNotTracked(store.saveSendingChange('x', change('s1')), 'x', false);
        expect(await store.listDocs(true)).toEqual([]);
        expect(await store.getDoc('x')).toBeUndefined();
      });

      it('should reject OT queue writes on an LWW doc and LWW writes on an OT doc', async () => {
        await store.trackDocs(['o'], 'ot');
        await store.trackDocs(['l'], 'lww');
        await expectStoreError(store.savePendingChanges('l', [change('p1')]), 'l');
        await expectStoreError(store.replacePendingChanges('l', [change('p1')]), 'l');
        await expectStoreError(store.applyServerChanges('l', { state: {}, rev: 1, changes: [], pending: [] }), 'l');
        await expectStoreError(store.savePendingOps('o', [op('/a', 1)]), 'o');
        await expectStoreError(store.saveSendingChange('o', change('s1')), 'o');
        expect((await store.getDoc('l'))?.committedRev).toBe(0);
        expect(await store.getPendingOps('o')).toEqual([]);
      });
    });

    describe('OT pending queue', () => {
      beforeEach(async () => {
        await store.trackDocs(['doc'], 'ot');
      });

      it('should stamp revs from committedRev + 1 on an empty queue, mutating the passed changes', async () => {
        await store.saveDoc('doc', { state: {}, rev: 5 });
        const changes = [change('p1', 0), change('p2', 0)];
        await store.savePendingChanges('doc', changes);
        expect(changes.map((c) => c.rev)).toEqual([6, 7]);
        expect((await store.getPendingChanges('doc')).map((c) => [c.id, c.rev])).toEqual([
          ['p1', 6],
          ['p2', 7],
        ]);
      });

      it('should stamp revs after the last pending rev when it is ahead of committedRev', async () => {
        await store.saveDoc('doc', { state: {}, rev: 2 });
        await store.savePendingChanges('doc', [change('p1', 99)]);
        await store.savePendingChanges('doc', [change('p2', 0), change('p3', 0)]);
        expect((await store.getPendingChanges('doc')).map((c) => [c.id, c.rev])).toEqual([
          ['p1', 3],
          ['p2', 4],
          ['p3', 5],
        ]);
      });

      it('should stamp revs after committedRev when the queue tail is behind it', async () => {
        await store.replacePendingChanges('doc', [change('old', 2)]);
        await store.saveDoc('doc', { state: {}, rev: 10 });
        const added = change('new', 0);
        await store.savePendingChanges('doc', [added]);
        expect(added.rev).toBe(11);
        expect((await store.getPendingChanges('doc')).map((c) => [c.id, c.rev])).toEqual([
          ['old', 2],
          ['new', 11],
        ]);
      });

      it('should treat an empty save as a no-op', async () => {
        await store.savePendingChanges('doc', [change('p1')]);
        await store.savePendingChanges('doc', []);
        expect((await store.getPendingChanges('doc')).map((c) => c.id)).toEqual(['p1']);
      });

      it('should keep many appends in order', async () => {
        for (let i = 0; i < 5; i++) await store.savePendingChanges('doc', [change(`p${i}`), change(`q${i}`)]);
        const pending = await store.getPendingChanges('doc');
        expect(pending.map((c) => c.id)).toEqual(['p0', 'q0', 'p1', 'q1', 'p2', 'q2', 'p3', 'q3', 'p4', 'q4']);
        expect(pending.map((c) => c.rev)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      });

      it('should replace the whole queue, keeping the given order and revs', async () => {
        await store.savePendingChanges('doc', [change('p1'), change('p2'), change('p3')]);
        await store.replacePendingChanges('doc', [change('s1', 2), change('s2', 3)]);
        expect((await store.getPendingChanges('doc')).map((c) => [c.id, c.rev])).toEqual([
          ['s1', 2],
          ['s2', 3],
        ]);
        await store.savePendingChanges('doc', [change('p4')]);
        expect((await store.getPendingChanges('doc')).map((c) => c.rev)).toEqual([2, 3, 4]);
        await store.replacePendingChanges('doc', []);
        expect(await store.getPendingChanges('doc')).toEqual([]);
      });

      it('should show the pending queue in getDoc', async () => {
        await store.savePendingChanges('doc', [change('p1'), change('p2')]);
        expect((await store.getDoc('doc'))?.pending.map((c) => c.id)).toEqual(['p1', 'p2']);
      });
    });

    describe('applyServerChanges', () => {
      beforeEach(async () => {
        await store.trackDocs(['doc'], 'ot');
        await store.trackDocs(['lww'], 'lww');
      });

      it('should write the state, the rev and the history rows', async () => {
        await store.applyServerChanges('doc', {
          state: { n: 2 },
          rev: 2,
          changes: [committed('c1', 1), committed('c2', 2)],
        });
        await store.applyServerChanges('doc', { state: { n: 3 }, rev: 3, changes: [committed('c3', 3)] });
        const doc = await store.getDoc('doc');
        expect(doc?.state).toEqual({ n: 3 });
        expect(doc?.committedRev).toBe(3);
        expect(await store.getCommittedRev('doc')).toBe(3);
        expect((await store.listChanges('doc')).map((c) => [c.id, c.rev])).toEqual([
          ['c1', 1],
          ['c2', 2],
          ['c3', 3],
        ]);
        expect((await store.listChanges('doc', 1)).map((c) => c.id)).toEqual(['c2', 'c3']);
        expect(await store.listChanges('doc', 3)).toEqual([]);
      });

      it('should not duplicate a history row delivered twice', async () => {
        await store.applyServerChanges('doc', { state: { n: 1 }, rev: 1, changes: [committed('c1', 1)] });
        await store.applyServerChanges('doc', { state: { n: 1 }, rev: 1, changes: [committed('c1', 1)] });
        expect((await store.listChanges('doc')).map((c) => c.id)).toEqual(['c1']);
      });

      it('should keep the pending queue when no new one is given', async () => {
        await store.savePendingChanges('doc', [change('p1')]);
        await store.applyServerChanges('doc', { state: { n: 1 }, rev: 1, changes: [committed('c1', 1)] });
        expect((await store.getPendingChanges('doc')).map((c) => c.id)).toEqual(['p1']);
      });

      it('should replace the pending queue when one is given', async () => {
        await store.savePendingChanges('doc', [change('p1'), change('p2')]);
        await store.applyServerChanges('doc', {
          state: { n: 1 },
          rev: 1,
          changes: [committed('p1', 1)],
          pending: [change('p2', 2)],
        });
        expect((await store.getPendingChanges('doc')).map((c) => [c.id, c.rev])).toEqual([['p2', 2]]);
        await store.applyServerChanges('doc', { state: { n: 2 }, rev: 2, changes: [committed('p2', 2)], pending: [] });
        expect(await store.getPendingChanges('doc')).toEqual([]);
      });

      it('should clear the LWW sending slot only when asked, keeping pending ops', async () => {
        await store.saveSendingChange('lww', change('s1'));
        await store.savePendingOps('lww', [op('/b', 2)]);
        await store.applyServerChanges('lww', { state: { a: 1 }, rev: 1, changes: [committed('x1', 1)] });
        expect((await store.getSendingChange('lww'))?.id).toBe('s1');
        await store.applyServerChanges('lww', {
          state: { a: 1 },
          rev: 2,
          changes: [committed('s1', 2)],
          clearSending: true,
        });
        const doc = await store.getDoc('lww');
        expect(doc?.sending).toBeNull();
        expect(doc?.pendingOps).toEqual([op('/b', 2)]);
        expect(doc?.state).toEqual({ a: 1 });
        expect(doc?.committedRev).toBe(2);
      });

      it('should write nothing when any part of the update cannot be stored', async () => {
        await store.applyServerChanges('doc', { state: { n: 1 }, rev: 1, changes: [committed('c1', 1)] });
        await store.savePendingChanges('doc', [change('p1')]);
        const poisoned = { ...committed('c3', 3), hook: () => 0 };
        await expectStoreError(
          store.applyServerChanges('doc', {
            state: { n: 3 },
            rev: 3,
            changes: [committed('c2', 2), poisoned],
            pending: [],
          }),
          'doc',
        );
        const doc = await store.getDoc('doc');
        expect(doc?.state).toEqual({ n: 1 });
        expect(doc?.committedRev).toBe(1);
        expect(doc?.pending.map((c) => c.id)).toEqual(['p1']);
        expect((await store.listChanges('doc')).map((c) => c.id)).toEqual(['c1']);
      });

      it('should reject for a tombstoned doc and leave the tombstone as it was', async () => {
        await store.saveDoc('doc', { state: {}, rev: 4 });
        await store.deleteDoc('doc');
        await expectNotTracked(store.applyServerChanges('doc', { state: {}, rev: 5, changes: [committed('c5', 5)] }), 'doc', true);
        expect(await store.listDocs(true)).toContainEqual({ docId: 'doc', committedRev: 4, algorithm: 'ot', deleted: true });
        expect(await store.listChanges('doc')).toEqual([]);
      });
    });

    describe('saveDoc', () => {
      it('should install the snapshot and keep the OT pending queue', async () => {
        await store.trackDocs(['doc'], 'ot');
        await store.savePendingChanges('doc', [change('p1')]);
        await store.saveDoc('doc', { state: { title: 'server' }, rev: 9 });
        expect(await store.getDoc('doc')).toMatchObject({ state: { title: 'server' }, committedRev: 9 });
        expect((await store.getPendingChanges('doc')).map((c) => c.id)).toEqual(['p1']);
      });

      it('should keep LWW pending ops and the sending change', async () => {
        await store.trackDocs(['doc'], 'lww');
        await store.saveSendingChange('doc', change('s1'));
        await store.savePendingOps('doc', [op('/a', 1)]);
        await store.saveDoc('doc', { state: { a: 0 }, rev: 3 });
        const doc = await store.getDoc('doc');
        expect(doc).toMatchObject({ state: { a: 0 }, committedRev: 3, pendingOps: [op('/a', 1)] });
        expect(doc?.sending?.id).toBe('s1');
      });
    });

    describe('LWW pending ops and sending slot', () => {
      beforeEach(async () => {
        await store.trackDocs(['doc'], 'lww');
      });

      it('should upsert ops by path, one per path, listed in path order', async () => {
        await store.savePendingOps('doc', [op('/b', 1), op('/a', 1)]);
        await store.savePendingOps('doc', [op('/b', 2), op('/c', 3)]);
        expect(await store.getPendingOps('doc')).toEqual([op('/a', 1), op('/b', 2), op('/c', 3)]);
        expect((await store.getDoc('doc'))?.pendingOps).toEqual([op('/a', 1), op('/b', 2), op('/c', 3)]);
      });

      it('should delete the ops at pathsToDelete, then upsert the given ops', async () => {
        await store.savePendingOps('doc', [op('/a', 1), op('/a/x', 1), op('/a/y', 1), op('/b', 1)]);
        await store.savePendingOps('doc', [op('/a', 2)], ['/a/x', '/a/y', '/a', '/missing']);
        expect(await store.getPendingOps('doc')).toEqual([op('/a', 2), op('/b', 1)]);
        await store.savePendingOps('doc', [], ['/b']);
        expect(await store.getPendingOps('doc')).toEqual([op('/a', 2)]);
      });

      it('should keep the root path as its own key', async () => {
        await store.savePendingOps('doc', [{ op: 'replace', path: '', value: { r: 1 }, ts: 1 }, op('/a', 1)]);
        expect((await store.getPendingOps('doc')).map((o) => o.path)).toEqual(['', '/a']);
      });

      it('should set the sending change and clear the pending ops in one step', async () => {
        await store.savePendingOps('doc', [op('/a', 1), op('/b', 1)]);
        const sending = change('s1', 1, [op('/a', 1), op('/b', 1)]);
        await store.saveSendingChange('doc', sending);
        expect(await store.getSendingChange('doc')).toEqual(sending);
        expect(await store.getPendingOps('doc')).toEqual([]);
        // New edits pile up behind the in-flight change.
        await store.savePendingOps('doc', [op('/a', 2)]);
        const doc = await store.getDoc('doc');
        expect(doc?.sending).toEqual(sending);
        expect(doc?.pendingOps).toEqual([op('/a', 2)]);
        expect(doc?.pending).toEqual([]);
      });
    });

    // Found in review: a doc opened again (closeDoc, a reload, another tab) forgot the stamps it
    // had committed, so with the clock stepped back a later edit lost to an earlier one.
    describe('LWW stamp floor (stampFloor)', () => {
      beforeEach(async () => {
        await store.trackDocs(['doc'], 'lww');
      });
      const stamped = (path: string, ts: number): JSONPatchOp => ({ op: 'replace', path, value: 1, ts });

      it('should keep the highest ts of the ops saved and of the server rows applied, never lower, in every read', async () => {
        expect((await store.getDoc('doc'))?.stampFloor).toBeUndefined();
        await store.savePendingOps('doc', [stamped('/a', 5), stamped('/b', 9), { op: 'remove', path: '/c' }]);
        expect((await store.getDoc('doc'))?.stampFloor).toBe(9);
        await store.savePendingOps('doc', [stamped('/a', 3)]);
        expect((await store.getDoc('doc'))?.stampFloor).toBe(9);
        await store.saveSendingChange('doc', change('s1', 1, [stamped('/a', 3), stamped('/b', 9)]));
        await store.applyServerChanges('doc', { state: { a: 1 }, rev: 2, changes: [change('s1', 1, [stamped('/a', 3), stamped('/b', 9)]), change('o1', 2, [stamped('/d', 12)])], clearSending: true });
        expect((await store.getDoc('doc'))?.stampFloor).toBe(12);
        expect((await store.getQueue?.('doc'))?.stampFloor ?? 12).toBe(12);
        expect((await store.getDocSince?.('doc', 0))?.stampFloor ?? 12).toBe(12);
        await store.applyServerChanges('doc', { state: { a: 1 }, rev: 3, changes: [change('o2', 3, [stamped('/d', 4)])] });
        expect((await store.getDoc('doc'))?.stampFloor).toBe(12);
      });

      it('should keep no floor for an OT doc', async () => {
        await store.trackDocs(['ot'], 'ot');
        await store.applyServerChanges('ot', { state: { a: 1 }, rev: 1, changes: [change('c1', 1, [stamped('/a', 7)])] });
        expect((await store.getDoc('ot'))?.stampFloor).toBeUndefined();
      });
    });

    describe('tombstones', () => {
      beforeEach(async () => {
        await store.trackDocs(['doc', 'other'], 'ot');
        await store.applyServerChanges('doc', { state: { n: 1 }, rev: 4, changes: [committed('c4', 4)] });
        await store.savePendingChanges('doc', [change('p1')]);
      });

      it('should clear the data and list the tombstone only with includeDeleted', async () => {
        await store.deleteDoc('doc');
        expect(await store.getDoc('doc')).toBeUndefined();
        expect(await store.getPendingChanges('doc')).toEqual([]);
        expect(await store.listChanges('doc')).toEqual([]);
        expect(byId(await store.listDocs())).toEqual([{ docId: 'other', committedRev: 0, algorithm: 'ot' }]);
        expect(byId(await store.listDocs(true))).toEqual([
          { docId: 'doc', committedRev: 4, algorithm: 'ot', deleted: true },
          { docId: 'other', committedRev: 0, algorithm: 'ot' },
        ]);
        expect(await store.getCommittedRev('doc')).toBe(4);
      });

      it('should clear LWW data too', async () => {
        await store.trackDocs(['l'], 'lww');
        await store.savePendingOps('l', [op('/a', 1)]);
        await store.saveSendingChange('l', change('s1'));
        await store.savePendingOps('l', [op('/b', 1)]);
        await store.deleteDoc('l');
        expect(await store.getPendingOps('l')).toEqual([]);
        expect(await store.getSendingChange('l')).toBeNull();
        await store.trackDocs(['l'], 'lww');
        expect(await store.getDoc('l')).toMatchObject({ pendingOps: [], sending: null });
      });

      it('should leave an OT tombstone at rev 0 for a doc it never tracked', async () => {
        await store.deleteDoc('stranger');
        expect(await store.getDoc('stranger')).toBeUndefined();
        expect(await store.listDocs(true)).toContainEqual({ docId: 'stranger', committedRev: 0, algorithm: 'ot', deleted: true });
        expect((await store.listDocs()).map((d) => d.docId)).not.toContain('stranger');
      });

      it('should be idempotent', async () => {
        await store.deleteDoc('doc');
        await store.deleteDoc('doc');
        expect((await store.listDocs(true)).filter((d) => d.docId === 'doc')).toEqual([
          { docId: 'doc', committedRev: 4, algorithm: 'ot', deleted: true },
        ]);
      });

      it('should reject writes to a tombstone', async () => {
        await store.deleteDoc('doc');
        await expectNotTracked(store.saveDoc('doc', { state: {}, rev: 9 }), 'doc', true);
        await expectNotTracked(store.savePendingChanges('doc', [change('p2')]), 'doc', true);
        expect(await store.listDocs(true)).toContainEqual({ docId: 'doc', committedRev: 4, algorithm: 'ot', deleted: true });
      });

      it('should revive a tombstoned id empty when it is tracked again, as another history', async () => {
        await store.deleteDoc('doc');
        await store.trackDocs(['doc'], 'lww');
        expect(await store.getDoc('doc')).toEqual({
          docId: 'doc',
          algorithm: 'lww',
          state: null,
          committedRev: 0,
          pending: [],
          pendingOps: [],
          sending: null,
          rewinds: 1,
        });
        expect(await store.listChanges('doc')).toEqual([]);
        expect((await store.listDocs()).map((d) => d.docId).sort()).toEqual(['doc', 'other']);
      });

      it('should remove everything on confirmDeleteDoc', async () => {
        await store.deleteDoc('doc');
        await store.confirmDeleteDoc('doc');
        await store.confirmDeleteDoc('never-tracked');
        expect(byId(await store.listDocs(true))).toEqual([{ docId: 'other', committedRev: 0, algorithm: 'ot' }]);
        expect(await store.getCommittedRev('doc')).toBe(0);
        expect(await store.getDoc('doc')).toBeUndefined();
      });
    });

    describe('getQueue', () => {
      it('should read what getDoc reads, but the state, as a copy', async () => {
        expect(store.getQueue).toBeInstanceOf(Function);
        await store.trackDocs(['doc'], 'ot');
        await store.applyServerChanges('doc', { state: { list: [1] }, rev: 1, changes: [committed('c1', 1)] });
        await store.savePendingChanges('doc', [change('p1')]);
        await store.trackDocs(['lww'], 'lww');
        await store.savePendingOps('lww', [op('/a', 1), op('/b', 2)]);
        await store.saveSendingChange('lww', { ...change('s1'), baseRev: 0, rev: 1 }, { sendingId: null, pendingOps: [op('/a', 1), op('/b', 2)] });
        await store.savePendingOps('lww', [op('/c', 3)]);
        for (const docId of ['doc', 'lww']) {
          const { state: _state, ...expected } = (await store.getDoc(docId))!;
          const queue = await store.getQueue!(docId);
          expect(queue).toEqual(expected);
          expect(queue).not.toHaveProperty('state');
        }
        const queue = await store.getQueue!('doc');
        queue!.pending[0].ops.length = 0;
        expect((await store.getQueue!('doc'))!.pending[0].ops.length).toBe(1);
      });

      it('should give undefined for an unknown or deleted doc, as getDoc does', async () => {
        expect(await store.getQueue!('nope')).toBeUndefined();
        await store.trackDocs(['gone'], 'ot');
        await store.deleteDoc('gone');
        expect(await store.getQueue!('gone')).toBeUndefined();
      });
    });

    describe('data isolation', () => {
      it('should hand out copies that callers can mutate freely', async () => {
        await store.trackDocs(['doc'], 'ot');
        await store.applyServerChanges('doc', { state: { list: [1] }, rev: 1, changes: [committed('c1', 1)] });
        await store.savePendingChanges('doc', [change('p1')]);
        const doc = await store.getDoc<{ list: number[] }>('doc');
        if (!traits.sharesState) doc!.state.list.push(2);
        doc!.pending[0].ops.push(op('/x', 1));
        doc!.pending.pop();
        (await store.getPendingChanges('doc'))[0].id = 'mutated';
        (await store.listChanges('doc'))[0].ops.length = 0;
        const again = await store.getDoc('doc');
        if (!traits.sharesState) expect(again?.state).toEqual({ list: [1] });
        expect(again?.pending.map((c) => [c.id, c.ops.length])).toEqual([['p1', 1]]);
        expect((await store.listChanges('doc'))[0].ops.length).toBe(1);
      });

      it('should keep its own copies of what callers pass in', async () => {
        await store.trackDocs(['doc'], 'ot');
        await store.trackDocs(['lww'], 'lww');
        const state = { list: [1] };
        await store.saveDoc('doc', { state, rev: 1 });
        if (!traits.sharesState) state.list.push(2);
        const pending = change('p1');
        await store.savePendingChanges('doc', [pending]);
        expect(pending.rev).toBe(2);
        pending.rev = 50;
        pending.ops.length = 0;
        const replaced = [change('r1', 2)];
        await store.replacePendingChanges('doc', replaced);
        replaced[0].id = 'mutated';
        const update = { state: { list: [3] }, rev: 2, changes: [committed('c2', 2)] };
        await store.applyServerChanges('doc', update);
        if (!traits.sharesState) update.state.list.push(4);
        update.changes[0].id = 'mutated';
        const pendingOp = op('/a', 1);
        await store.savePendingOps('lww', [pendingOp]);
        pendingOp.value = 'mutated';
        const sending = change('s1');
        await store.saveSendingChange('lww', sending);
        sending.ops[0].value = 'mutated';

        expect((await store.getDoc('doc'))?.state).toEqual({ list: [3] });
        expect((await store.getPendingChanges('doc')).map((c) => [c.id, c.rev])).toEqual([['r1', 2]]);
        expect((await store.listChanges('doc')).map((c) => c.id)).toEqual(['c2']);
        await store.savePendingOps('lww', [op('/b', 1)]);
        expect(await store.getPendingOps('lww')).toEqual([op('/b', 1)]);
        expect((await store.getSendingChange('lww'))?.ops[0].value).toBe(1);
      });
    });

    describe('round-tripping', () => {
      it('should keep unknown Change and op fields untouched everywhere', async () => {
        await store.trackDocs(['doc'], 'ot');
        await store.trackDocs(['lww'], 'lww');
        const extraOp: JSONPatchOp = { op: '@txt', path: '/t', value: [{ insert: 'hi' }], custom: { deep: [1, null] } };
        const rich = (id: string, rev: number): Change => ({
          ...change(id, rev, [extraOp]),
          batchId: 'b1',
          user: 'alice',
          docId: 'not-the-doc-id',
          rev,
          meta: { tags: ['x'], n: null },
        });
        await store.savePendingChanges('doc', [rich('p1', 0)]);
        await store.applyServerChanges('doc', { state: { t: 'x' }, rev: 1, changes: [{ ...rich('c1', 1), committedAt: 123, clientId: 'k' }] });
        await store.saveSendingChange('lww', rich('s1', 1));
        await store.savePendingOps('lww', [extraOp]);

        expect(await store.getPendingChanges('doc')).toEqual([rich('p1', 1)]);
        expect(await store.listChanges('doc')).toEqual([{ ...rich('c1', 1), committedAt: 123, clientId: 'k' }]);
        expect(await store.getSendingChange('lww')).toEqual(rich('s1', 1));
        expect(await store.getPendingOps('lww')).toEqual([extraOp]);
      });

      it('should store any JSON state, including primitives and null', async () => {
        await store.trackDocs(['doc'], 'ot');
        for (const state of ['text', 0, false, [1, [2]], { a: { b: null } }, null]) {
          await store.saveDoc('doc', { state, rev: 1 });
          expect((await store.getDoc('doc'))?.state).toEqual(state);
        }
      });
    });

    describe('guarded writes (several instances on one storage)', () => {
      /** Expect a promise to reject with a StoreConflictError naming `docId`. */
      async function expectConflict(promise: Promise<unknown>, docId: string): Promise<void> {
        const error = await promise.then(() => undefined, (e: unknown) => e);
        expect(error).toBeInstanceOf(StoreConflictError);
        expect((error as StoreConflictError).docId).toBe(docId);
      }

      it('should remove only a tombstone on a confirmDeleteDoc guarded by deleted, never a doc tracked again since', async () => {
        await store.trackDocs(['a'], 'ot');
        await store.savePendingChanges('a', [change('p1')]);
        await store.deleteDoc('a');
        // Tracked again (a local delete still waiting for the server) and edited: the new work stays.
        await store.trackDocs(['a'], 'ot');
        await store.savePendingChanges('a', [change('p2')]);
        await expectConflict(store.confirmDeleteDoc('a', { deleted: true }), 'a');
        expect((await store.getPendingChanges('a')).map((c) => c.id)).toEqual(['p2']);
        await store.deleteDoc('a');
        await store.confirmDeleteDoc('a', { deleted: true });
        await store.confirmDeleteDoc('never-tracked', { deleted: true });
        expect(await store.listDocs(true)).toEqual([]);
      });

      it('should remove a live doc on a guarded confirmDeleteDoc only while it holds the pending work the guard names', async () => {
        await store.trackDocs(['o'], 'ot');
        await store.trackDocs(['l'], 'lww');
        await store.savePendingChanges('o', [change('p1')]);
        await store.savePendingOps('l', [op('/a', 1)]);
        await store.saveSendingChange('l', change('s1', 1, [op('/b', 1)]));
        await store.savePendingOps('l', [op('/a', 2)]);
        await expectConflict(store.confirmDeleteDoc('o', { deleted: false, pendingIds: [] }), 'o');
        await expectConflict(store.confirmDeleteDoc('o', { deleted: true }), 'o');
        await expectConflict(store.confirmDeleteDoc('l', { pendingOps: [op('/a', 2)], sendingId: null }), 'l');
        await expectConflict(store.confirmDeleteDoc('l', { pendingOps: [op('/a', 1)], sendingId: 's1' }), 'l');
        expect(byId(await store.listDocs(true)).map((d) => d.docId)).toEqual(['l', 'o']);
        await store.confirmDeleteDoc('o', { deleted: false, pendingIds: ['p1'] });
        await store.confirmDeleteDoc('l', { deleted: false, pendingOps: [op('/a', 2)], sendingId: 's1' });
        expect(await store.listDocs(true)).toEqual([]);
      });

      it('should refuse to append a change written on a queue that has changed, and write nothing', async () => {
        await store.trackDocs(['a'], 'ot');
        await store.savePendingChanges('a', [change('p1')], { committedRev: 0, pendingIds: [] });
        const stale = change('p2');
        await expectConflict(store.savePendingChanges('a', [stale], { committedRev: 0, pendingIds: [] }), 'a');
        expect(stale.rev).toBe(0);
        await store.savePendingChanges('a', [change('p3')], { committedRev: 0, pendingIds: ['p1'] });
        expect((await store.getPendingChanges('a')).map((c) => c.id)).toEqual(['p1', 'p3']);
      });

      it('should refuse to append a change written on an older committed rev', async () => {
        await store.trackDocs(['a'], 'ot');
        await store.applyServerChanges('a', { state: { n: 1 }, rev: 1, changes: [committed('s1', 1)] });
        await expectConflict(store.savePendingChanges('a', [change('p1')], { committedRev: 0, pendingIds: [] }), 'a');
        expect(await store.getPendingChanges('a')).toEqual([]);
      });

      it('should refuse a server batch computed from another queue or rev, and keep everything', async () => {
        await store.trackDocs(['a'], 'ot');
        await store.savePendingChanges('a', [change('p1'), change('p2')]);
        const update = { state: { n: 1 }, rev: 1, changes: [committed('s1', 1)], pending: [change('p1', 2)] };
        await expectConflict(store.applyServerChanges('a', { ...update, expect: { committedRev: 0, pendingIds: ['p1'] } }), 'a');
        await expectConflict(store.applyServerChanges('a', { ...update, expect: { committedRev: 5, pendingIds: ['p1', 'p2'] } }), 'a');
        expect(await store.getCommittedRev('a')).toBe(0);
        expect((await store.getPendingChanges('a')).map((c) => c.id)).toEqual(['p1', 'p2']);
        await store.applyServerChanges('a', { ...update, pending: [change('p1', 2), change('p2', 3)], expect: { committedRev: 0, pendingIds: ['p1', 'p2'] } });
        expect(await store.getCommittedRev('a')).toBe(1);
      });

      it('should never move the committed rev backwards', async () => {
        await store.trackDocs(['a'], 'lww');
        await store.applyServerChanges('a', { state: { n: 2 }, rev: 2, changes: [committed('s1', 1), committed('s2', 2)] });
        await expectConflict(store.applyServerChanges('a', { state: { n: 1 }, rev: 1, changes: [committed('s1', 1)] }), 'a');
        expect(await store.getCommittedRev('a')).toBe(2);
        expect((await store.getDoc('a'))?.state).toEqual({ n: 2 });
      });

      it('should replace only the leading changes it names, keeping changes appended after them', async () => {
        await store.trackDocs(['a'], 'ot');
        await store.savePendingChanges('a', [change('p1'), change('p2')]);
        await store.replacePendingChanges('a', [change('p1a', 1), change('p1b', 1)], ['p1']);
        expect((await store.getPendingChanges('a')).map((c) => c.id)).toEqual(['p1a', 'p1b', 'p2']);
        await expectConflict(store.replacePendingChanges('a', [change('x', 1)], ['p2']), 'a');
        expect((await store.getPendingChanges('a')).map((c) => c.id)).toEqual(['p1a', 'p1b', 'p2']);
      });

      // Found in review, fixed: two instances splitting one queue both passed the ids-only guard
      // (a split's first piece keeps its change's id), and the pieces after it went out twice.
      it('should replace a queue only if it is exactly the one expected, on the committed rev expected', async () => {
        await store.trackDocs(['a'], 'ot');
        await store.savePendingChanges('a', [change('p1')]);
        const read = await store.getPendingChanges('a');
        const asRead = { committedRev: 0, pendingIds: ['p1'] };
        await store.replacePendingChanges('a', [change('p1', 1), change('a2', 2)], ['p1'], asRead);
        // Another instance's cut of the queue it read before that write.
        await expectConflict(store.replacePendingChanges('a', [change('p1', 1), change('b2', 2)], ['p1'], asRead), 'a');
        expect((await store.getPendingChanges('a')).map((c) => c.id)).toEqual(['p1', 'a2']);
        // A queue rebased over a server change keeps its ids: the committed rev tells it apart.
        await store.applyServerChanges('a', { state: { n: 1 }, rev: 1, changes: [committed('s1', 1)], pending: [change('p1', 2), change('a2', 3)] });
        await expectConflict(store.replacePendingChanges('a', [change('p1', 1)], ['p1', 'a2'], { committedRev: 0, pendingIds: ['p1', 'a2'] }), 'a');
        expect(read.map((c) => c.id)).toEqual(['p1']);
        expect(await store.getCommittedRev('a')).toBe(1);
      });

      it('should refuse LWW writes computed from ops or an in-flight change that have changed', async () => {
        await store.trackDocs(['l'], 'lww');
        await store.savePendingOps('l', [op('/x', 1)], [], { pendingOps: [] });
        await expectConflict(store.savePendingOps('l', [op('/x', 2)], [], { pendingOps: [] }), 'l');
        expect(await store.getPendingOps('l')).toEqual([op('/x', 1)]);
        const sending = { ...change('s1'), ops: [op('/x', 1)] };
        await expectConflict(store.saveSendingChange('l', sending, { sendingId: null, pendingOps: [] }), 'l');
        await store.saveSendingChange('l', sending, { sendingId: null, pendingOps: [op('/x', 1)] });
        await expectConflict(store.saveSendingChange('l', { ...change('s2'), ops: [] }, { sendingId: null, pendingOps: [] }), 'l');
        await expectConflict(store.applyServerChanges('l', { state: { x: 1 }, rev: 1, changes: [committed('s1', 1)], clearSending: true, expect: { committedRev: 0, sendingId: 'other' } }), 'l');
        expect((await store.getSendingChange('l'))?.id).toBe('s1');
      });

      it('should guard LWW ops by what is stored, whoever wrote it since the last guarded write, and whatever objects the guard holds', async () => {
        await store.trackDocs(['l'], 'lww');
        const [a, b, c] = [op('/a', 1), op('/b', 2), op('/c', 3)];
        await store.savePendingOps('l', [b], [], { pendingOps: [] });
        // The caller's own objects, as it computed them: the guard holds.
        await store.savePendingOps('l', [a], [], { pendingOps: [b] });
        // An unguarded write (another writer) after the guarded ones.
        await store.savePendingOps('l', [c]);
        await expectConflict(store.savePendingOps('l', [op('/d', 4)], [], { pendingOps: [a, b] }), 'l');
        // Copies of what is stored hold as well as the objects written.
        await store.savePendingOps('l', [op('/d', 4)], ['/c'], { pendingOps: [op('/a', 1), op('/b', 2), op('/c', 3)] });
        expect(await store.getPendingOps('l')).toEqual([a, b, op('/d', 4)]);
        // Sending clears them: a guard naming the ops sent conflicts.
        await store.saveSendingChange('l', { ...change('s1'), ops: [a, b, op('/d', 4)] }, { sendingId: null, pendingOps: [a, b, op('/d', 4)] });
        await expectConflict(store.savePendingOps('l', [c], [], { pendingOps: [a, b, op('/d', 4)], sendingId: 's1' }), 'l');
        await store.savePendingOps('l', [c], [], { pendingOps: [], sendingId: 's1' });
        expect(await store.getPendingOps('l')).toEqual([c]);
      });

      it('should refuse a snapshot computed from another committed rev', async () => {
        await store.trackDocs(['a'], 'ot');
        await store.saveDoc('a', { state: { v: 1 }, rev: 3 });
        await expectConflict(store.saveDoc('a', { state: { v: 2 }, rev: 4 }, { committedRev: 0 }), 'a');
        expect((await store.getDoc('a'))?.state).toEqual({ v: 1 });
      });

      it('should count each time the committed rev went back, and refuse a write computed on a state read before, at the same rev', async () => {
        await store.trackDocs(['a'], 'ot');
        await store.applyServerChanges('a', { state: { v: 'old' }, rev: 2, changes: [committed('s1', 1), committed('s2', 2)] });
        expect((await store.getDoc('a'))?.rewinds).toBeUndefined();
        // The server lost rev 2; another change became rev 2.
        await store.applyServerChanges('a', { state: { v: 'one' }, rev: 1, changes: [], regressed: true });
        await store.applyServerChanges('a', { state: { v: 'new' }, rev: 2, changes: [committed('n2', 2)], expect: { committedRev: 1, rewinds: 1 } });
        expect((await store.getDoc('a'))?.rewinds).toBe(1);
        // Computed on the abandoned rev 2: the rev matches, the count does not.
        await expectConflict(store.applyServerChanges('a', { state: { v: 'stale' }, rev: 3, changes: [committed('s3', 3)], expect: { committedRev: 2, pendingIds: [], rewinds: 0 } }), 'a');
        await expectConflict(store.saveDoc('a', { state: { v: 'stale' }, rev: 3 }, { committedRev: 2, rewinds: 0 }), 'a');
        expect((await store.getDoc('a'))?.state).toEqual({ v: 'new' });
        // A snapshot going back counts, going forward does not; a deleted doc tracked again starts another history.
        await store.saveDoc('a', { state: { v: 'snap' }, rev: 1 }, { committedRev: 2, rewinds: 1 });
        await store.saveDoc('a', { state: { v: 'snap' }, rev: 5 });
        expect((await store.getDoc('a'))?.rewinds).toBe(2);
        await store.deleteDoc('a');
        await store.trackDocs(['a'], 'ot');
        expect((await store.getDoc('a'))?.rewinds).toBe(3);
      });
    });

    describe('close', () => {
      it('should reject every call after close with a StoreError', async () => {
        await store.trackDocs(['doc'], 'ot');
        await store.close();
        await expectStoreError(store.getDoc('doc'));
        await expectStoreError(store.trackDocs(['x'], 'ot'));
        await expectStoreError(store.listDocs());
        await store.close();
      });
    });
  });
}

/** A local change with one op. */
function change(id: string, rev = 0, ops: JSONPatchOp[] = [op('/a', 1)]): Change {
  return { id, ops, baseRev: 0, rev, createdAt: 1_700_000_000_000, committedAt: 0 };
}

/** A committed change at `rev`. */
function committed(id: string, rev: number): Change {
  return { id, ops: [op('/n', rev)], baseRev: rev - 1, rev, createdAt: 1_700_000_000_000, committedAt: 1_700_000_000_500 };
}

function op(path: string, value: unknown): JSONPatchOp {
  return { op: 'replace', path, value, ts: 1_700_000_000_000 };
}

function byId<D extends { docId: string }>(docs: D[]): D[] {
  return [...docs].sort((a, b) => (a.docId < b.docId ? -1 : a.docId > b.docId ? 1 : 0));
}
