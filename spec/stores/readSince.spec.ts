import { InMemoryStore } from '../../src/stores/InMemoryStore.js';
import { readSince } from '../../src/stores/readSince.js';
import type { Change } from '../../src/types.js';

function committed(rev: number): Change {
  return { id: `c${rev}`, ops: [{ op: 'replace', path: '/n', value: rev }], baseRev: rev - 1, rev, createdAt: 1, committedAt: 2 };
}

describe('readSince', () => {
  async function storeAtRev3(): Promise<InMemoryStore> {
    const store = new InMemoryStore();
    await store.trackDocs(['doc'], 'ot');
    await store.applyServerChanges('doc', { state: { n: 3 }, rev: 3, changes: [committed(1), committed(2), committed(3)] });
    return store;
  }

  it('should read a store without getDocSince through getDoc and listChanges, with the state', async () => {
    const store = await storeAtRev3();
    expect('getDocSince' in store).toBe(false);
    const read = await readSince(store, 'doc', 1);
    expect(read).toMatchObject({ committedRev: 3, state: { n: 3 }, pending: [] });
    expect(read?.since.map(c => c.rev)).toEqual([2, 3]);
    expect((await readSince(store, 'doc', 3))?.since).toEqual([]);
    expect(await readSince(store, 'unknown', 0)).toBeUndefined();
  });

  it("should use the store's getDocSince, unless asked for the whole doc", async () => {
    const store = await storeAtRev3();
    const asked: number[] = [];
    const withSince = Object.assign(store, {
      getDocSince: async (docId: string, rev: number) => {
        asked.push(rev);
        const queue = await store.getQueue(docId);
        return queue && { ...queue, since: await store.listChanges(docId, rev) };
      },
    });
    const read = await readSince(withSince, 'doc', 2);
    expect(asked).toEqual([2]);
    expect(read?.state).toBeUndefined();
    expect(read?.since.map(c => c.rev)).toEqual([3]);
    expect((await readSince(withSince, 'doc', 2, true))?.state).toEqual({ n: 3 });
    expect(asked).toEqual([2]);
  });
});
