import { unwrap, wrap } from 'idb';
import type { IDBPDatabase, IDBPTransaction } from 'idb';
import { ReplaySubject, type Observable } from 'rxjs';
import { StoreError, StoreLostError, StoreOutdatedError } from '../errors.js';
import type { IDBStoreMigration, Schema, StoreName, Tx } from './idbSchema.js';

/**
 * The connection of an `IndexedDBStore` to its database, and the one way its methods reach it:
 * `transact`, one transaction that is all or nothing.
 *
 * The database is opened on first use (upgraded step by step to the schema version of
 * `migrations()`, read at that moment so a subclass's steps count). When another connection
 * upgrades the database, this one steps aside (transactions in flight finish first) and is
 * outdated (below). An open that is blocked (an older connection that does not close)
 * rejects, and so does every call while the browser keeps it queued, at once, with the same
 * error; once it succeeds it is used, and if it fails the next call tries again. Every failure
 * rejects with a `StoreError` naming the action and the doc (`cause`: what IndexedDB threw); after
 * `close()` every call does. Once a newer schema version exists (another connection upgrades, or
 * an open finds it), `outdated$` says so and every call rejects with a `StoreOutdatedError`: this
 * build can never open the database again. Once the database is deleted under an open connection
 * (`versionchange` to no version: `reason` `'deleted'`) or the connection is closed abnormally (its
 * `close` event: `reason` `'closed'`; the site's storage cleared, a disk failure, or WebKit losing
 * its IndexedDB server process, the data still on disk), the database is lost: `outdated$` emits
 * a `StoreLostError` and every call rejects with it, also a call whose transaction the browser
 * aborted as it closed the connection (before its `close` event: the loss is said first, then that
 * call rejects). It is never opened again, even after a `close` event that may have left the
 * data in place, since the event does not say which: what the caller holds in memory came from
 * the old database, and a new one (maybe made already by another tab) would be empty.
 *
 * @example
 * const connection = new IdbConnection('my-app', indexedDB, () => IDB_MIGRATIONS);
 * const row = await connection.transact('readonly', ['docs'], 'read', 'notes', (tx) => tx.objectStore('docs').get('notes'));
 */
export class IdbConnection {
  /** The open under way, or done: the connection every call uses until it is forgotten. */
  private opening: Opening | undefined;
  private isClosed = false;
  private readonly outdatedSubject = new ReplaySubject<StoreOutdatedError>(1);
  private isOutdated = false;
  /** Set once the database was deleted or its connection closed abnormally: what every later call rejects with. */
  private lostError: StoreLostError | undefined;

  /**
   * Emits once when a newer schema version of the database exists (an upgrade by a newer build,
   * seen as `versionchange`, or a `VersionError` on open), or when the database is lost (a
   * `StoreLostError`: deleted, or its connection closed abnormally), late subscribers included.
   */
  readonly outdated$: Observable<StoreOutdatedError> = this.outdatedSubject.asObservable();

  /**
   * @param dbName The database name.
   * @param factory The IndexedDB factory (default: the global `indexedDB`, looked up on open).
   * @param migrations The schema steps; the database is opened at version `migrations().length`.
   */
  constructor(
    readonly dbName: string,
    private readonly factory: IDBFactory | undefined,
    private readonly migrations: () => readonly IDBStoreMigration[],
  ) {}

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * Run `body` in one transaction over `names`: it resolves once the transaction has committed,
   * and any failure (of `body`, of a request, of the commit) aborts it and rejects with a
   * `StoreError` for `action` on `docId`.
   */
  async transact<M extends 'readonly' | 'readwrite', R>(
    mode: M,
    names: StoreName[],
    action: string,
    docId: string | undefined,
    body: (tx: Tx<M>) => Promise<R>,
  ): Promise<R> {
    let opening: Opening | undefined;
    try {
      if (this.isClosed) throw new StoreError(`The store "${this.dbName}" is closed`, docId);
      const begun = await this.begin(mode, names);
      opening = begun.opening;
      const tx = begun.tx;
      tx.done.catch(ignore);
      try {
        const result = await body(tx);
        await tx.done;
        return result;
      } catch (error) {
        try {
          tx.abort();
        } catch {
          // Already finished or aborted.
        }
        throw error;
      }
    } catch (error) {
      if (this.isVersionError(error)) throw this.outdated(undefined, error);
      throw (opening && (await this.lostUnder(opening, names[0], error))) ?? toStoreError(error, action, docId);
    }
  }

  /** Close the database (transactions in flight finish first); every later `transact` rejects. Idempotent. */
  async close(): Promise<void> {
    this.isClosed = true;
    const opening = this.opening;
    this.opening = undefined;
    // A blocked open may never end, also one blocked after this call: it closes itself if it ever
    // succeeds (`onsuccess` sees `isClosed`).
    if (!opening || opening.blocked) return;
    const db = await (opening.open ? opening.db : opening.openedOrBlocked).catch(() => undefined);
    db?.close();
  }

  /**
   * Start a transaction; open again if our own `versionchange` step closed the connection in
   * between, never after the database was lost.
   */
  private async begin<M extends 'readonly' | 'readwrite'>(mode: M, names: StoreName[]): Promise<{ tx: Tx<M>; opening: Opening }> {
    for (let attempt = 0; ; attempt++) {
      if (this.lostError) throw this.lostError;
      const opening = this.connect();
      // Blocked: rejected at once, and so is every call until the open ends (`connect`). Once open,
      // nothing waits on `openedOrBlocked` (it keeps whatever waits on it while it is unsettled).
      const db = await (opening.blocked ? Promise.reject(opening.blocked) : opening.open ? opening.db : opening.openedOrBlocked);
      try {
        return { tx: db.transaction(names, mode), opening };
      } catch (error) {
        if (attempt > 0 || !(error instanceof DOMException && error.name === 'InvalidStateError')) throw error;
        // Closed, and not by our `versionchange` step (it forgets the connection first): closed
        // abnormally, its `close` event still to come. What a new open would find may be empty.
        if (this.opening === opening) throw this.lose('closed');
      }
    }
  }

  /**
   * The current open: the open connection, or one opening. A failed open is forgotten so the next
   * call tries again; a blocked one is kept (the browser keeps its request queued, and would queue
   * a new one behind it without a word), and is used once it succeeds.
   */
  private connect(): Opening {
    if (!this.opening) {
      const opening = this.open();
      this.opening = opening;
      opening.db.catch(() => {
        if (this.opening === opening) this.opening = undefined;
      });
    }
    return this.opening;
  }

  private open(): Opening {
    let block: (error: StoreError) => void = ignore;
    const whenBlocked = new Promise<never>((_, reject) => (block = reject));
    whenBlocked.catch(ignore);
    const db = new Promise<IDBPDatabase<Schema>>((resolve, reject) => {
      const factory = this.factory ?? globalThis.indexedDB;
      if (!factory) throw new StoreError('IndexedDB is not available here (pass options.indexedDB)');
      const migrations = this.migrations();
      const request = factory.open(this.dbName, migrations.length);
      let abandoned = false;
      request.onupgradeneeded = (event) => {
        const tx = request.transaction!;
        try {
          const db = wrap(request.result);
          const upgrade = wrap(tx) as unknown as IDBPTransaction<unknown, string[], 'versionchange'>;
          upgrade.done.catch(ignore); // an aborted upgrade is reported through the open request
          for (let version = event.oldVersion; version < migrations.length; version++) migrations[version](db, upgrade);
        } catch (error) {
          tx.abort();
          abandoned = true;
          reject(new StoreError(`Upgrading "${this.dbName}" to version ${migrations.length} failed`, undefined, { cause: error }));
        }
      };
      request.onblocked = () => {
        opening.blocked = new StoreError(`Opening "${this.dbName}" is blocked by another connection that does not close`);
        block(opening.blocked);
      };
      request.onerror = (event) => {
        event.preventDefault();
        reject(request.error);
      };
      request.onsuccess = () => {
        opening.blocked = undefined;
        const raw = request.result;
        if (abandoned || this.isClosed || this.lostError) {
          raw.close();
          reject(this.lostError ?? new StoreError(`The store "${this.dbName}" is closed`));
          return;
        }
        const db = wrap(raw) as unknown as IDBPDatabase<Schema>;
        opening.open = true;
        // Another connection wants to upgrade or delete the database: step aside cleanly. An
        // upgrade past our steps means this build is outdated for good: say so now, not at the
        // next call (a leading tab must hand the lead to the new build). A deleted database is
        // lost: what we hold in memory was read from it, so we never open it again (another tab
        // may already have made a new, empty one).
        raw.onversionchange = (event) => {
          if (this.opening === opening) this.opening = undefined;
          raw.close();
          if (event.newVersion === null) this.lose('deleted');
          else if (event.newVersion > raw.version) this.outdated(event.newVersion);
        };
        // Closed abnormally (storage cleared, the disk failed, the browser lost its database
        // process): lost too, though maybe not the data (the event does not say which).
        raw.onclose = () => {
          if (this.opening === opening) this.opening = undefined;
          if (!this.isClosed) this.lose('closed');
        };
        resolve(db);
      };
    });
    // One race per open, however many calls wait on it: `whenBlocked` never settles once open, so
    // a race per call would leave a reaction on it for each.
    const opening: Opening = { blocked: undefined, open: false, db, openedOrBlocked: Promise.race([db, whenBlocked]) };
    opening.openedOrBlocked.catch(ignore);
    return opening;
  }

  /**
   * The `StoreLostError`, when `error` (a transaction on `opening`'s connection aborted) came from
   * the browser closing that connection. A forced close aborts the connection's transactions before
   * its `close` event says so, and the caller must hear of the loss first: `Patches` hands over the
   * edits its views hold as the loss is said, and takes an edit back from its view when its save
   * fails, so an edit whose save failed first would be in neither. Not when we closed the
   * connection ourselves or stepped aside for another (its transactions finish, or fail for
   * themselves), nor for an abort on a connection that stays open.
   */
  private async lostUnder(opening: Opening, name: StoreName, error: unknown): Promise<StoreLostError | undefined> {
    if (!(error instanceof DOMException && (error.name === 'AbortError' || error.name === 'UnknownError')) || this.isClosed) return undefined;
    if (this.lostError) return this.lostError;
    if (this.opening !== opening) return undefined;
    const closing = await closingUnder(unwrap(await opening.db), name);
    return closing && !this.isClosed ? this.lose('closed') : undefined;
  }

  /** The database was deleted or closed under us: every later call rejects with a `StoreLostError` (the first `reason` given), reported on `outdated$` the first time. */
  private lose(reason: StoreLostError['reason']): StoreLostError {
    if (!this.lostError) {
      this.lostError = new StoreLostError(this.dbName, this.migrations().length, reason);
      this.report(this.lostError);
    }
    return this.lostError;
  }

  /** The typed error of an outdated build (reported on `outdated$` the first time), with `cause` when an open threw it. */
  private outdated(newVersion: number | undefined, cause?: unknown): StoreOutdatedError {
    const error = new StoreOutdatedError(this.dbName, this.migrations().length, newVersion, cause === undefined ? undefined : { cause });
    this.report(error);
    return error;
  }

  /** Say on `outdated$` that this store can no longer be used, the first time only. */
  private report(error: StoreOutdatedError): void {
    if (this.isOutdated) return;
    this.isOutdated = true;
    this.outdatedSubject.next(error);
  }

  private isVersionError(error: unknown): boolean {
    return (error instanceof DOMException || error instanceof Error) && error.name === 'VersionError';
  }
}

/** An open of the database: under way, blocked, or done. */
interface Opening {
  /** Settles with the open request: the connection, or why it failed. */
  db: Promise<IDBPDatabase<Schema>>;
  /** Settles with `db` or rejects with `blocked`, whichever comes first: what a call or `close()` waits on while the open is under way. */
  openedOrBlocked: Promise<IDBPDatabase<Schema>>;
  /** The error of a blocked open, until it succeeds. */
  blocked: StoreError | undefined;
  /** Whether `db` has resolved. */
  open: boolean;
}

/**
 * Whether the browser is closing `db` under us, asked when one of its transactions aborted. A
 * forced close (the site's storage cleared, the browser's database process lost) aborts the
 * connection's transactions, then fires `close`. As the IndexedDB spec has it, the connection is
 * marked closing first, so a new transaction throws `InvalidStateError` at once; Chromium (156,
 * spec/e2e/storageLost) aborts them while the connection still looks open, but its backend has
 * closed it already, and `close` comes before a transaction begun meanwhile settles. So: begin a
 * transaction with one read, and wait for whichever comes first, its end (not closing) or `close`.
 */
function closingUnder(db: IDBDatabase, name: StoreName): Promise<boolean> {
  let probe: IDBTransaction;
  try {
    probe = db.transaction(name, 'readonly');
  } catch (error) {
    return Promise.resolve(error instanceof DOMException && error.name === 'InvalidStateError');
  }
  return new Promise((resolve) => {
    const settle = (closing: boolean) => {
      db.removeEventListener('close', onClose);
      resolve(closing);
    };
    const onClose = () => settle(true);
    db.addEventListener('close', onClose);
    const read = probe.objectStore(name).count('');
    read.onsuccess = () => settle(false);
    read.onerror = (event) => {
      event.preventDefault();
      settle(false);
    };
    probe.onabort = () => settle(false);
  });
}

/** What a failure of `action` on `docId` rejects with: a `StoreError` saying what failed, with the cause. */
function toStoreError(error: unknown, action: string, docId: string | undefined): StoreError {
  if (error instanceof StoreError) return error;
  const name = error instanceof Error || error instanceof DOMException ? error.name : 'Error';
  const detail = error instanceof Error || error instanceof DOMException ? error.message : String(error);
  const what = name === 'QuotaExceededError' ? 'the storage quota is exceeded' : `${name}: ${detail}`;
  return new StoreError(`IndexedDB ${action}${docId === undefined ? '' : ` of "${docId}"`} failed: ${what}`, docId, { cause: error });
}

function ignore(): void {}
