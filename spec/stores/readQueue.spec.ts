import { InMemoryStore } from '../../src/stores/InMemoryStore.js';
import type { PatchesStore } from '../../src/stores/PatchesStore.js';
import { readQueue } from '../../src/stores/readQueue.js';

/** A store written before `getQueue` existed: every method of InMemoryStore but that one. */
function storeWithoutGetQueue(inner: InMemoryStore): PatchesStore {
  return new Proxy(inner, {
    get: (target, key) => {
      if (key === 'getQueue') return undefined;
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe('readQueue', () => {
  const change = { id: 'p1', ops: [{ op: 'replace', path: '/a', value: 1 }], baseRev: 0, rev: 0, createdAt: 1, committedAt: 0 };

  it("should use the store's getQueue", async () => {
    const store = new InMemoryStore();
    await store.trackDocs(['doc'], 'ot');
    await store.savePendingChanges('doc', [{ ...change }]);
    let asked = 0;
    const getQueue = store.getQueue.bind(store);
    store.getQueue = docId => (asked++, getQueue(docId));
    expect((await readQueue(store, 'doc'))?.pending.map(c => c.id)).toEqual(['p1']);
    expect(asked).toBe(1);
  });

  it('should read a store without getQueue through getDoc, leaving the state out', async () => {
    const inner = new InMemoryStore();
    await inner.trackDocs(['doc'], 'ot');
    await inner.applyServerChanges('doc', { state: { a: 0 }, rev: 3, changes: [] });
    await inner.savePendingChanges('doc', [{ ...change }]);
    const store = storeWithoutGetQueue(inner);
    expect(store.getQueue).toBeUndefined();
    expect(await readQueue(store, 'doc')).toEqual({ docId: 'doc', algorithm: 'ot', committedRev: 3, pending: [expect.objectContaining({ id: 'p1', rev: 4 })], pendingOps: [], sending: null });
    expect(await readQueue(store, 'unknown')).toBeUndefined();
  });
});
