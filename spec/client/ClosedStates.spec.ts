import { ClosedStates } from '../../src/client/ClosedStates.js';
import type { StoredDoc, StoredDocSince } from '../../src/stores/PatchesStore.js';
import { InMemoryStore } from '../../src/stores/InMemoryStore.js';
import type { Change } from '../../src/types.js';

/** A committed change at `rev` appending `value` to `/list`. */
const push = (id: string, rev: number, value: string): Change => ({ id, baseRev: rev - 1, rev, ops: [{ op: 'add', path: '/list/-', value }], createdAt: 1, committedAt: 2 });

/** An in-memory store with `getDocSince` (rows only, or the state too when asked), counting whole reads. */
class RowsStore extends InMemoryStore {
  wholeReads = 0;
  giveState = false;
  override async getDoc<T = unknown>(docId: string): Promise<StoredDoc<T> | undefined> {
    this.wholeReads++;
    return super.getDoc<T>(docId);
  }
  async getDocSince<T = unknown>(docId: string, rev: number): Promise<StoredDocSince<T> | undefined> {
    const whole = await super.getDoc<T>(docId);
    if (!whole) return undefined;
    const { state, ...queue } = whole;
    return { ...queue, since: await this.listChanges(docId, rev), ...(this.giveState ? { state } : {}) };
  }
}

/** A store holding doc `d` at revs 1–3 (`{ list: ['a', 'b', 'c'] }`), and the state at rev 2 a closed doc kept. */
async function atRev3(): Promise<{ store: RowsStore; closed: ClosedStates; keptAt2: () => void }> {
  const store = new RowsStore();
  await store.trackDocs(['d'], 'ot');
  const changes = [push('c1', 1, 'a'), push('c2', 2, 'b'), push('c3', 3, 'c')];
  await store.applyServerChanges('d', { state: { list: ['a', 'b', 'c'] }, rev: 3, changes });
  const closed = new ClosedStates(2);
  return { store, closed, keptAt2: () => closed.keep('d', { list: ['a', 'b'] }, changes.slice(0, 2)) };
}

describe('ClosedStates', () => {
  it('should bring a kept state forward by the rows after the change it ends with, reading no whole doc', async () => {
    const { store, closed, keptAt2 } = await atRev3();
    keptAt2();
    const read = await closed.read(store, 'd');
    expect(read).toMatchObject({ docId: 'd', committedRev: 3, state: { list: ['a', 'b', 'c'] }, pending: [] });
    expect(store.wholeReads).toBe(0);
  });

  it('should use a kept state once', async () => {
    const { store, closed, keptAt2 } = await atRev3();
    keptAt2();
    await closed.read(store, 'd');
    expect((await closed.read(store, 'd'))?.state).toEqual({ list: ['a', 'b', 'c'] });
    expect(store.wholeReads).toBe(1);
  });

  it('should read the doc whole when the history at the kept rev holds another change', async () => {
    const { store, closed } = await atRev3();
    closed.keep('d', { list: ['x', 'y'] }, [push('other', 2, 'y')]);
    expect((await closed.read(store, 'd'))?.state).toEqual({ list: ['a', 'b', 'c'] });
    expect(store.wholeReads).toBe(1);
  });

  it("should take the store's state when it gives one, and the empty value for a kept state of none", async () => {
    const { store, closed, keptAt2 } = await atRev3();
    keptAt2();
    store.giveState = true;
    expect((await closed.read(store, 'd'))?.state).toEqual({ list: ['a', 'b', 'c'] });
    store.giveState = false;
    await store.applyServerChanges('d', { state: { list: ['a', 'b', 'c'], n: 1 }, rev: 4, changes: [{ ...push('c4', 4, ''), ops: [{ op: 'add', path: '/n', value: 1 }] }] });
    closed.keep('d', null, [push('c3', 3, 'c')]);
    expect((await closed.read(store, 'd', {}))?.state).toEqual({ n: 1 });
    expect(store.wholeReads).toBe(0);
  });

  it('should keep the most recent docs only, and forget a doc kept with no changes', async () => {
    const { store, closed, keptAt2 } = await atRev3();
    keptAt2();
    closed.keep('e', {}, [push('e1', 1, 'e')]);
    closed.keep('f', {}, [push('f1', 1, 'f')]); // a third doc: d, the oldest, is dropped (limit 2)
    await closed.read(store, 'd');
    expect(store.wholeReads).toBe(1);
    keptAt2();
    closed.keep('d', { list: [] }, []);
    await closed.read(store, 'd');
    expect(store.wholeReads).toBe(2);
  });

  it('should read the doc whole from a store without getDocSince', async () => {
    const store = new InMemoryStore();
    await store.trackDocs(['d'], 'ot');
    await store.applyServerChanges('d', { state: { list: ['a'] }, rev: 1, changes: [push('c1', 1, 'a')] });
    const closed = new ClosedStates();
    closed.keep('d', { list: ['stale'] }, [push('c1', 1, 'a')]);
    expect((await closed.read(store, 'd'))?.state).toEqual({ list: ['a'] });
  });
});
