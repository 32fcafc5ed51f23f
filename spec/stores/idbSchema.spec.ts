import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { IdbConnection } from '../../src/stores/IdbConnection.js';
import { ALL_STORES, GUARDED_STORES, IDB_MIGRATIONS, IDB_SCHEMA_VERSION, docRange } from '../../src/stores/idbSchema.js';

describe('the IndexedDB schema', () => {
  it('should make every object store with its key from an empty database, at the exported version', async () => {
    const factory = new IDBFactory();
    const connection = new IdbConnection('app', factory, () => IDB_MIGRATIONS);
    const keyPaths = await connection.transact('readonly', ALL_STORES, 'inspect', undefined, async (tx) =>
      Object.fromEntries(ALL_STORES.map((name) => [name, tx.objectStore(name).keyPath])),
    );
    await connection.close();
    expect(keyPaths).toEqual({
      docs: 'docId',
      states: 'docId',
      committedChanges: ['docId', 'rev'],
      pendingChanges: ['docId', 'seq'],
      pendingOps: ['docId', 'path'],
      sending: 'docId',
    });
    const raw = await new Promise<IDBDatabase>((resolve) => {
      const request = factory.open('app');
      request.onsuccess = () => resolve(request.result);
    });
    expect(raw.version).toBe(IDB_SCHEMA_VERSION);
    expect(Array.from(raw.objectStoreNames).sort()).toEqual([...ALL_STORES].sort());
    raw.close();
  });

  it('should let a guarded write read every store but the history', () => {
    expect([...GUARDED_STORES].sort()).toEqual(ALL_STORES.filter((name) => name !== 'committedChanges').sort());
  });

  describe('docRange', () => {
    it("should hold every key of the doc's rows, numbers and strings alike", () => {
      const range = docRange('d');
      for (const key of [['d', 0], ['d', 1e9], ['d', ''], ['d', '/a/b']]) expect(range.includes(key)).toBe(true);
    });

    it('should hold no key of another doc, however close its id', () => {
      const range = docRange('d');
      for (const key of [['c', 1], ['d\0', 1], ['da', 1], ['e', ''], ['', 1]]) expect(range.includes(key)).toBe(false);
    });
  });
});
