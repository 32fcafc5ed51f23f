import type { Change } from '../../src/types.js';
import { DuplicateChangeIdsError } from '../../src/server/stores/DuplicateChangeIdsError.js';
import type { LogEntry, ServerStore } from '../../src/server/stores/ServerStore.js';

/** A committed OT change at `rev`. */
export function committed(rev: number, extra: Partial<Change> = {}): Change {
  return { id: `c${rev}`, baseRev: rev - 1, rev, ops: [{ op: 'replace', path: `/k${rev}`, value: rev }], createdAt: 1, committedAt: 2, ...extra };
}

/** An OT log entry holding the given revs. */
export function otEntry(...revs: number[]): LogEntry {
  return { kind: 'ot', changes: revs.map((rev) => committed(rev)) };
}

/** An LWW log entry at `rev` writing `/field`. */
export function lwwEntry(rev: number, field = 'f'): LogEntry {
  return { kind: 'lww', rev, committedAt: 10 + rev, changeIds: [`l${rev}`], save: [{ op: 'replace', path: `/${field}`, value: rev, ts: rev, rev }], remove: [] };
}

/**
 * The behaviour every `ServerStore` must have; each spec file runs it against its store.
 * `uniqueChangeIds`: the store says so, and must then refuse a change id its log holds.
 */
export function describeServerStoreContract(name: string, makeStore: () => Promise<ServerStore>, options: { uniqueChangeIds?: boolean } = {}): void {
  describe(`${name} (ServerStore contract${options.uniqueChangeIds ? ', unique change ids' : ''})`, () => {
    let store: ServerStore;
    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store.close();
    });

    it('should open an unknown document empty', async () => {
      expect(await store.loadDoc('nope')).toEqual({ tail: [] });
      expect(await store.readLog('nope', 0)).toEqual([]);
    });

    it('should return appended entries in order, and only those after a rev from readLog', async () => {
      await store.append('d', otEntry(1));
      await store.append('d', otEntry(2, 3));
      await store.append('d', otEntry(4));
      expect((await store.loadDoc('d')).tail).toEqual([otEntry(1), otEntry(2, 3), otEntry(4)]);
      expect(await store.readLog('d', 2)).toEqual([otEntry(2, 3), otEntry(4)]);
      expect(await store.readLog('d', 4)).toEqual([]);
    });

    it('should open from the latest snapshot plus the entries after it, keeping OT history readable', async () => {
      await store.append('d', otEntry(1));
      await store.append('d', otEntry(2));
      await store.saveSnapshot('d', { kind: 'ot', rev: 2, state: { k1: 1, k2: 2 }, first: { id: 'c1' } });
      await store.append('d', otEntry(3));
      expect(await store.loadDoc('d')).toEqual({ snapshot: { kind: 'ot', rev: 2, state: { k1: 1, k2: 2 }, first: { id: 'c1' } }, tail: [otEntry(3)] });
      expect(await store.readLog('d', 0)).toEqual([otEntry(1), otEntry(2), otEntry(3)]);
      await store.saveSnapshot('d', { kind: 'ot', rev: 3, state: { k1: 1, k2: 2, k3: 3 } });
      expect(await store.loadDoc('d')).toEqual({ snapshot: { kind: 'ot', rev: 3, state: { k1: 1, k2: 2, k3: 3 } }, tail: [] });
    });

    it('should open an LWW document from its snapshot rows plus later entries', async () => {
      await store.append('l', lwwEntry(1));
      await store.append('l', lwwEntry(2));
      await store.saveSnapshot('l', { kind: 'lww', rev: 2, rows: [{ op: 'replace', path: '/f', value: 2, ts: 2, rev: 2 }], changeIds: [['l1', 1], ['l2', 2]] });
      await store.append('l', lwwEntry(3, 'g'));
      const loaded = await store.loadDoc('l');
      expect(loaded.snapshot).toMatchObject({ kind: 'lww', rev: 2 });
      expect(loaded.tail).toEqual([lwwEntry(3, 'g')]);
    });

    it('should keep documents apart', async () => {
      await store.append('a', otEntry(1));
      await store.append('b', lwwEntry(1));
      expect((await store.loadDoc('a')).tail).toEqual([otEntry(1)]);
      expect((await store.loadDoc('b')).tail).toEqual([lwwEntry(1)]);
    });

    it('should replace a deleted document by its tombstone, and restart it empty after undelete', async () => {
      await store.append('d', otEntry(1));
      await store.saveSnapshot('d', { kind: 'ot', rev: 1, state: { k1: 1 } });
      const tombstone = { docId: 'd', deletedAt: 5, lastRev: 1, deletedByClientId: 'conn' };
      await store.deleteDoc('d', tombstone);
      expect(await store.loadDoc('d')).toEqual({ tail: [], tombstone });
      expect(await store.readLog('d', 0)).toEqual([]);
      expect(await store.removeTombstone('d')).toBe(true);
      expect(await store.removeTombstone('d')).toBe(false);
      expect(await store.loadDoc('d')).toEqual({ tail: [] });
      await store.append('d', otEntry(1));
      expect((await store.loadDoc('d')).tail).toEqual([otEntry(1)]);
    });

    it(`should ${options.uniqueChangeIds ? '' : 'not '}say it refuses change ids its log holds`, () => {
      expect(store.uniqueChangeIds ?? false).toBe(options.uniqueChangeIds ?? false);
    });

    if (options.uniqueChangeIds) {
      it('should refuse an OT entry holding a change id of its log, naming the ids with their revs and writing nothing', async () => {
        await store.append('d', otEntry(1, 2));
        await store.append('other', otEntry(1));
        const refused = store.append('d', { kind: 'ot', changes: [committed(3, { id: 'fresh' }), committed(4, { id: 'c1' }), committed(5, { id: 'c2' })] });
        await expect(refused).rejects.toBeInstanceOf(DuplicateChangeIdsError);
        await expect(refused).rejects.toMatchObject({ committed: new Map([['c1', 1], ['c2', 2]]) });
        expect(await store.readLog('d', 0)).toEqual([otEntry(1, 2)]);
        // Ids are unique per document: another doc's, and a fresh one at the same revs, go in.
        await store.append('d', { kind: 'ot', changes: [committed(3, { id: 'fresh' })] });
        await store.append('other', otEntry(2));
        expect(await store.readLog('d', 2)).toEqual([{ kind: 'ot', changes: [committed(3, { id: 'fresh' })] }]);
      });
    }

    it('should not share objects with its callers', async () => {
      const entry = otEntry(1);
      await store.append('d', entry);
      (entry as { changes: Change[] }).changes[0].id = 'mutated';
      const loaded = await store.loadDoc('d');
      (loaded.tail[0] as { changes: Change[] }).changes[0].id = 'mutated again';
      expect((await store.loadDoc('d')).tail).toEqual([otEntry(1)]);
    });
  });
}
