import { IDBDatabase } from 'fake-indexeddb';
import { StoreError } from '../../src/errors.js';

/** The StoreError `promise` rejects with (fails the test if it resolves or rejects with anything else). */
export async function storeErrorOf(promise: Promise<unknown>): Promise<StoreError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StoreError);
  return error as StoreError;
}

/** A connection of the test's own to database `name`, at `version` (the database's current one if none). */
export function rawOpen(factory: IDBFactory, name: string, version?: number): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = factory.open(name, version);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** Deletes database `name`; `blocked` says whether a connection held it up (one that did not step aside). */
export function deleteDatabase(factory: IDBFactory, name: string): Promise<{ blocked: boolean }> {
  return new Promise((resolve, reject) => {
    let blocked = false;
    const request = factory.deleteDatabase(name);
    request.onblocked = () => (blocked = true);
    request.onsuccess = () => resolve({ blocked });
    request.onerror = () => reject(request.error);
  });
}

/** A transaction of the test's own that holds a database: `release()` lets it commit. */
export interface HeldDatabase {
  /** Ends the hold: resolves once the transaction committed and its connection closed. */
  release(): Promise<void>;
}

/**
 * Holds database `name` with a readwrite transaction over `storeNames`, kept busy (one request
 * after another) until `release()`: every transaction on those stores begun meanwhile, by any
 * connection, waits behind it, under way and not committed.
 */
export async function holdDatabase(factory: IDBFactory, name: string, storeNames: string[]): Promise<HeldDatabase> {
  const db = await rawOpen(factory, name);
  const tx = db.transaction(storeNames, 'readwrite');
  const committed = new Promise<void>((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error);
  });
  let held = true;
  const store = tx.objectStore(storeNames[0]);
  const busy = (): void => {
    if (held) store.count().onsuccess = busy;
  };
  busy();
  return {
    release: async () => {
      held = false;
      await committed;
      db.close();
    },
  };
}

/** Resolves once the next readwrite transaction over `storeName` is begun (by any fake-indexeddb connection). */
export function writeBegun(storeName: string): Promise<void> {
  const begin = IDBDatabase.prototype.transaction;
  return new Promise(resolve => {
    const spy = jest.spyOn(IDBDatabase.prototype, 'transaction').mockImplementation(function (this: IDBDatabase, names, mode, options) {
      const tx = begin.call(this, names, mode, options);
      if (mode === 'readwrite' && [names].flat().includes(storeName)) {
        spy.mockRestore();
        resolve();
      }
      return tx;
    });
  });
}
