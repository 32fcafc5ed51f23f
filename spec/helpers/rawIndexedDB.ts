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
