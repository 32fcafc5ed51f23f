import { InMemoryStore } from '../../src/stores/InMemoryStore.js';
import { describeStoreContract } from './storeContract.js';

describeStoreContract('InMemoryStore', () => new InMemoryStore(), (store) => store.close(), { sharesState: true });

describe('InMemoryStore', () => {
  it('should keep doc states by reference (immutable values), so a server batch costs O(change), not O(doc)', async () => {
    const store = new InMemoryStore();
    await store.trackDocs(['doc'], 'ot');
    const state = { big: Array.from({ length: 1000 }, (_, i) => ({ i })) };
    await store.applyServerChanges('doc', { state, rev: 1, changes: [] });
    expect((await store.getDoc('doc'))?.state).toBe(state);
  });

  it('should keep every committed history row (no compaction in memory)', async () => {
    const store = new InMemoryStore();
    await store.trackDocs(['doc'], 'ot');
    for (let rev = 1; rev <= 500; rev++) {
      const change = { id: `c${rev}`, ops: [], baseRev: rev - 1, rev, createdAt: 1, committedAt: 2 };
      await store.applyServerChanges('doc', { state: { rev }, rev, changes: [change] });
    }
    const history = await store.listChanges('doc');
    expect(history).toHaveLength(500);
    expect(history[0].id).toBe('c1');
    expect(history[499].id).toBe('c500');
  });

  it('should leave the passed changes unstamped when savePendingChanges rejects', async () => {
    const store = new InMemoryStore();
    await store.trackDocs(['doc'], 'ot');
    const changes = [
      { id: 'a', ops: [], baseRev: 0, rev: 0, createdAt: 1, committedAt: 0 },
      { id: 'b', ops: [], baseRev: 0, rev: 0, createdAt: 1, committedAt: 0, hook: () => 1 },
    ];
    await expect(store.savePendingChanges('doc', changes)).rejects.toMatchObject({ name: 'StoreError', docId: 'doc' });
    expect(changes.map((c) => c.rev)).toEqual([0, 0]);
    expect(await store.getPendingChanges('doc')).toEqual([]);
  });
});
