import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { StoreConflictError } from '../../src/errors.js';
import { purgeDeletedDoc } from '../../src/net/purgeDeletedDoc.js';
import { IndexedDBStore } from '../../src/stores/IndexedDBStore.js';
import { InMemoryStore } from '../../src/stores/InMemoryStore.js';
import type { StoredQueue } from '../../src/stores/PatchesStore.js';
import type { Change } from '../../src/types.js';

function change(id: string, value: unknown = id): Change {
  return { id, baseRev: 0, rev: 0, ops: [{ op: 'replace', path: '/v', value }], createdAt: 1, committedAt: 0 };
}

/** An in-memory store on which "another instance" writes right after each of the first `times` queue reads. */
class RacedStore extends InMemoryStore {
  constructor(
    private readonly times: number,
    private readonly write: (store: InMemoryStore, read: number) => Promise<void>,
  ) {
    super();
  }
  private reads = 0;
  override async getQueue(docId: string): Promise<StoredQueue | undefined> {
    const queue = await super.getQueue(docId);
    if (this.reads < this.times) await this.write(this, ++this.reads);
    return queue;
  }
}

const ids = (changes: Change[]) => changes.map(c => c.id);

describe('purgeDeletedDoc', () => {
  it('should remove an OT doc and resolve with its pending changes', async () => {
    const store = new InMemoryStore();
    await store.trackDocs(['d'], 'ot');
    await store.savePendingChanges('d', [change('p1'), change('p2')]);
    expect(ids(await purgeDeletedDoc(store, 'd'))).toEqual(['p1', 'p2']);
    expect(await store.listDocs(true)).toEqual([]);
  });

  it("should hand out an LWW doc's in-flight and pending ops as one change", async () => {
    const store = new InMemoryStore();
    await store.trackDocs(['l'], 'lww');
    await store.savePendingOps('l', [{ op: 'replace', path: '/a', value: 1 }]);
    await store.saveSendingChange('l', { ...change('s1'), ops: [{ op: 'replace', path: '/a', value: 1 }] });
    await store.savePendingOps('l', [{ op: 'replace', path: '/b', value: 2 }]);
    const dropped = await purgeDeletedDoc(store, 'l');
    expect(dropped).toEqual([expect.objectContaining({ id: 's1', ops: [{ op: 'replace', path: '/a', value: 1 }, { op: 'replace', path: '/b', value: 2 }] })]);
    expect(await store.listDocs(true)).toEqual([]);
  });

  it('should remove a tombstone with nothing to hand out, and do nothing for an unknown doc', async () => {
    const store = new InMemoryStore();
    await store.deleteDoc('t');
    expect(await purgeDeletedDoc(store, 't')).toEqual([]);
    expect(await purgeDeletedDoc(store, 'unknown')).toEqual([]);
    expect(await store.listDocs(true)).toEqual([]);
  });

  it('should read again, and hand out, a change another instance stored between the read and the removal', async () => {
    const store = new RacedStore(1, other => other.savePendingChanges('d', [change('q1')]));
    await store.trackDocs(['d'], 'ot');
    await store.savePendingChanges('d', [change('p1')]);
    expect(ids(await purgeDeletedDoc(store, 'd'))).toEqual(['p1', 'q1']);
    expect(await store.listDocs(true)).toEqual([]);
  });

  it('should hand out the edits of a tombstone another instance tracked again meanwhile', async () => {
    const store = new RacedStore(1, async other => {
      await other.trackDocs(['t'], 'ot');
      await other.savePendingChanges('t', [change('n1')]);
    });
    await store.deleteDoc('t');
    expect(ids(await purgeDeletedDoc(store, 't'))).toEqual(['n1']);
    expect(await store.listDocs(true)).toEqual([]);
  });

  it('should give up with the conflict, and keep the doc, when another instance writes in between every time', async () => {
    const store = new RacedStore(Infinity, (other, read) => other.savePendingChanges('d', [change(`q${read}`)]));
    await store.trackDocs(['d'], 'ot');
    await expect(purgeDeletedDoc(store, 'd')).rejects.toBeInstanceOf(StoreConflictError);
    expect(ids(await store.getPendingChanges('d'))).toEqual(['q1', 'q2', 'q3', 'q4', 'q5']);
  });

  it('should not drop what another tab appended on the same IndexedDB database', async () => {
    const indexedDB = new IDBFactory();
    const other = new IndexedDBStore('purge', { indexedDB });
    const tab = new (class extends IndexedDBStore {
      override async getQueue(docId: string): Promise<StoredQueue | undefined> {
        const queue = await super.getQueue(docId);
        if (queue?.pending.length === 1) await other.savePendingChanges('d', [change('q1')]);
        return queue;
      }
    })('purge', { indexedDB });
    try {
      await tab.trackDocs(['d'], 'ot');
      await tab.savePendingChanges('d', [change('p1')], { committedRev: 0, pendingIds: [] });
      expect(ids(await purgeDeletedDoc(tab, 'd'))).toEqual(['p1', 'q1']);
      expect(await other.listDocs(true)).toEqual([]);
    } finally {
      await Promise.all([tab.close(), other.close()]);
    }
  });
});
