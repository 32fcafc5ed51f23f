import { forceCloseDatabase } from 'fake-indexeddb';

/**
 * How a browser's forced close of a connection (the site's storage cleared, its database process
 * lost) shows to the page. Both abort the connection's transactions first (their requests fail
 * with `AbortError`), then fire `close`:
 * - `'marked closing'`: as the IndexedDB spec has it, the connection is marked closing first, so a
 *   transaction begun from then on throws `InvalidStateError`;
 * - `'looks open'`: as Chromium (156) does, the connection looks open until `close`; its backend
 *   has closed it already, so a transaction begun meanwhile fails too, after `close`.
 */
export type ForcedCloseOrder = 'marked closing' | 'looks open';

/** The connections opened through a factory, and a browser's forced close of them (see {@link watchConnections}). */
export interface WatchedConnections {
  /** The connections opened through the factory, in order. */
  readonly opened: IDBDatabase[];
  /** Resolves with the next transaction begun on `db`, a task after it was begun (its first requests placed). */
  nextTransaction(db: IDBDatabase): Promise<IDBTransaction>;
  /**
   * Closes every connection still open as a browser's forced close does when the site's storage is
   * cleared, in `order`; resolves once `close` has fired at each.
   */
  clearStorage(order: ForcedCloseOrder): Promise<void>;
}

/**
 * Watches the connections `factory` opens, to close them as a browser does when the site's storage
 * is cleared. fake-indexeddb's `forceCloseDatabase` does only the end of it: it fires `close` once
 * the database's transactions are done (those of every connection), and aborts none, so a save in
 * flight was never seen to fail before the loss was said, as it does in a browser (found in review).
 *
 * @example
 * const watched = watchConnections(factory);
 * const store = new IndexedDBStore('app', { indexedDB: factory });
 * // … a save in flight …
 * await watched.clearStorage('looks open');
 */
export function watchConnections(factory: IDBFactory): WatchedConnections {
  const opened: IDBDatabase[] = [];
  /** The transactions of each connection still open, not done yet. */
  const live = new Map<IDBDatabase, Set<IDBTransaction>>();
  const waiting = new Map<IDBDatabase, Array<(tx: IDBTransaction) => void>>();
  const realOpen = factory.open.bind(factory);
  jest.spyOn(factory, 'open').mockImplementation((name: string, version?: number) => {
    const request = realOpen(name, version);
    request.addEventListener('success', () => {
      const db = request.result;
      opened.push(db);
      const transactions = new Set<IDBTransaction>();
      live.set(db, transactions);
      const begin = db.transaction.bind(db);
      db.transaction = ((...args: Parameters<IDBDatabase['transaction']>) => {
        const tx = begin(...args);
        transactions.add(tx);
        const done = () => transactions.delete(tx);
        tx.addEventListener('complete', done);
        tx.addEventListener('abort', done);
        for (const resolve of waiting.get(db)?.splice(0) ?? []) setImmediate(() => resolve(tx));
        return tx;
      }) as IDBDatabase['transaction'];
      const close = db.close.bind(db);
      db.close = () => {
        live.delete(db);
        close();
      };
      db.addEventListener('close', () => live.delete(db));
    });
    return request;
  });

  /** Aborts each transaction of `connections` not done yet (one finished already, its events still to come, throws). */
  const abortAll = (connections: IDBDatabase[]): IDBTransaction[] => {
    const aborted: IDBTransaction[] = [];
    for (const tx of connections.flatMap(db => [...live.get(db)!])) {
      try {
        tx.abort();
        aborted.push(tx);
      } catch {
        // Finished already.
      }
    }
    return aborted;
  };

  return {
    opened,
    nextTransaction: db => new Promise(resolve => waiting.set(db, [...(waiting.get(db) ?? []), resolve])),
    async clearStorage(order) {
      const connections = [...live.keys()];
      // The prototype's close, not the watched one: fake-indexeddb then closes it quietly once its
      // transactions are done; `close` comes below.
      if (order === 'marked closing') for (const db of connections) Object.getPrototypeOf(db).close.call(db);
      const aborted = abortAll(connections).map(tx => new Promise(resolve => tx.addEventListener('abort', resolve)));
      await Promise.all(aborted);
      // Begun since, as the page heard of the aborts: failed as well, after `close` (all done now, so it fires at once).
      abortAll(connections);
      for (const db of connections) forceCloseDatabase(db as unknown as Parameters<typeof forceCloseDatabase>[0]);
    },
  };
}
/**
 * Another connection's transaction over every store of database `name`, kept running (a chain of
 * reads) until `release()`: a transaction of the store's waits behind it, in flight, for as long
 * as a spec needs.
 */
export async function holdTransactions(factory: IDBFactory, name: string): Promise<{ release(): Promise<void> }> {
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const request = factory.open(name);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  const tx = db.transaction(Array.from(db.objectStoreNames), 'readwrite');
  const store = tx.objectStore(db.objectStoreNames[0]);
  let held = true;
  const read = () => {
    if (held) store.count('').onsuccess = read;
  };
  read();
  const done = new Promise(resolve => {
    tx.oncomplete = resolve;
    tx.onabort = resolve;
  });
  return {
    async release() {
      held = false;
      await done;
      db.close();
    },
  };
}
