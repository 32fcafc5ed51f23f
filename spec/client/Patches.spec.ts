import { Patches } from '../../src/client/Patches.js';
import { InMemoryStore } from '../../src/stores/InMemoryStore.js';

describe('Patches', () => {
  it('should track docs once, with their algorithm, and announce only the new ids', async () => {
    const patches = new Patches({ store: new InMemoryStore() });
    const events: [string[], string][] = [];
    patches.onTrackDocs((ids, algorithm) => events.push([ids, algorithm]));
    await patches.trackDocs(['a', 'b']);
    await patches.trackDocs(['b', 'c'], 'lww');
    expect(events).toEqual([
      [['a', 'b'], 'ot'],
      [['c'], 'lww'],
    ]);
    expect([...patches.trackedDocs].sort()).toEqual(['a', 'b', 'c']);
    expect(patches.getDocAlgorithm('b')).toBe('ot');
    expect(patches.getDocAlgorithm('c')).toBe('lww');
    expect((await patches.store.listDocs()).map(d => [d.docId, d.algorithm]).sort()).toEqual([
      ['a', 'ot'],
      ['b', 'ot'],
      ['c', 'lww'],
    ]);
  });

  it('should know the docs the store already tracks after ready', async () => {
    const store = new InMemoryStore();
    await store.trackDocs(['old'], 'lww');
    const patches = new Patches({ store });
    await patches.ready;
    expect(patches.getDocAlgorithm('old')).toBe('lww');
  });

  it('should return the same instance while a doc is open, and a new one after closeDoc', async () => {
    const patches = new Patches({ store: new InMemoryStore() });
    const [first, second] = await Promise.all([patches.openDoc('doc'), patches.openDoc('doc')]);
    expect(first).toBe(second);
    await patches.closeDoc('doc');
    expect(patches.getOpenDoc('doc')).toBeUndefined();
    expect(await patches.openDoc('doc')).not.toBe(first);
  });

  it('should reopen a doc with its pending changes from the store', async () => {
    const store = new InMemoryStore();
    const patches = new Patches({ store });
    const doc = await patches.openDoc<{ n?: number }>('doc');
    doc.change(draft => {
      draft.n = 1;
    });
    await patches.closeDoc('doc');
    const again = await new Patches({ store }).openDoc<{ n?: number }>('doc');
    expect(again.state).toEqual({ n: 1 });
    expect(again.hasPending).toBe(true);
  });

  it('should untrack docs, close them and purge their data', async () => {
    const store = new InMemoryStore();
    const patches = new Patches({ store });
    const doc = await patches.openDoc<{ n?: number }>('doc');
    doc.change(draft => {
      draft.n = 1;
    });
    const untracked: string[][] = [];
    patches.onUntrackDocs(ids => untracked.push(ids));
    await patches.untrackDocs(['doc', 'never-tracked']);
    expect(untracked).toEqual([['doc']]);
    expect(patches.getOpenDoc('doc')).toBeUndefined();
    expect(await store.getDoc('doc')).toBeUndefined();
  });

  it('should delete a doc: close it, untrack it and leave a tombstone', async () => {
    const store = new InMemoryStore();
    const patches = new Patches({ store });
    await patches.openDoc('doc');
    const deleted: string[] = [];
    patches.onDeleteDoc(id => deleted.push(id));
    await patches.deleteDoc('doc');
    expect(deleted).toEqual(['doc']);
    expect(patches.trackedDocs.has('doc')).toBe(false);
    expect(await store.listDocs(true)).toEqual([expect.objectContaining({ docId: 'doc', deleted: true })]);
  });

  it('should hand the unsubscribe function back from every callback', async () => {
    const patches = new Patches({ store: new InMemoryStore() });
    const seen: string[] = [];
    const stop = patches.onChange(docId => seen.push(docId));
    const doc = await patches.openDoc<{ n?: number }>('doc');
    doc.change(draft => {
      draft.n = 1;
    });
    await doc.flush();
    stop();
    doc.change(draft => {
      draft.n = 2;
    });
    await doc.flush();
    expect(seen).toEqual(['doc']);
  });
});
