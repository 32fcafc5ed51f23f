import { wrap } from 'idb';
import type { IDBPDatabase, IDBPTransaction } from 'idb';
import { ReplaySubject, type Observable } from 'rxjs';
import { StoreError, StoreOutdatedError } from '../errors.js';
import type { IDBStoreMigration, Schema, StoreName, Tx } from './idbSchema.js';

/**
 * The connection of an `IndexedDBStore` to its database, and the one way its methods reach it:
 * `transact`, one transaction that is all or nothing.
 *
 * The database is opened on first use (upgraded step by step to the schema version of
 * `migrations()`, read at that moment so a subclass's steps count). When another connection
 * upgrades or deletes the database, or the browser closes it, this one steps aside (transactions
 * in flight finish first) and the next `transact` opens it again; an open that is blocked rejects,
 * and the next call tries again. Every failure rejects with a `StoreError` naming the action and
 * the doc (`cause`: what IndexedDB threw); after `close()` every call does. Once a newer schema
 * version exists (another connection upgrades, or an open finds it), `outdated$` says so and every
 * call rejects with a `StoreOutdatedError`: this build can never open the database again.
 *
 * @example
 * const connection = new IdbConnection('my-app', indexedDB, () => IDB_MIGRATIONS);
 * const row = await connection.transact('readonly', ['docs'], 'read', 'notes', (tx) => tx.objectStore('docs').get('notes'));
 */
export class IdbConnection {
  private opened: Promise<IDBPDatabase<Schema>> | undefined;
  private isClosed = false;
  private readonly outdatedSubject = new ReplaySubject<StoreOutdatedError>(1);
  private isOutdated = false;

  /**
   * Emits once when a newer schema version of the database exists (an upgrade by a newer build,
   * seen as `versionchange`, or a `VersionError` on open), late subscribers included.
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
    try {
      if (this.isClosed) throw new StoreError(`The store "${this.dbName}" is closed`, docId);
      const tx = await this.begin(mode, names);
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
      throw this.isVersionError(error) ? this.outdated(undefined, error) : toStoreError(error, action, docId);
    }
  }

  /** Close the database (transactions in flight finish first); every later `transact` rejects. Idempotent. */
  async close(): Promise<void> {
    this.isClosed = true;
    const opened = this.opened;
    this.opened = undefined;
    const db = await opened?.catch(() => undefined);
    db?.close();
  }

  /** Start a transaction, reopening once if the connection was closed under us. */
  private async begin<M extends 'readonly' | 'readwrite'>(mode: M, names: StoreName[]): Promise<Tx<M>> {
    for (let attempt = 0; ; attempt++) {
      const opened = this.connect();
      const db = await opened;
      try {
        return db.transaction(names, mode);
      } catch (error) {
        if (attempt > 0 || !(error instanceof DOMException && error.name === 'InvalidStateError')) throw error;
        if (this.opened === opened) this.opened = undefined;
      }
    }
  }

  /** The open connection, or one opening; a failed open is forgotten so the next call tries again. */
  private connect(): Promise<IDBPDatabase<Schema>> {
    if (!this.opened) {
      const opening = this.open();
      this.opened = opening;
      opening.catch(() => {
        if (this.opened === opening) this.opened = undefined;
      });
    }
    return this.opened;
  }

  private open(): Promise<IDBPDatabase<Schema>> {
    const opening = new Promise<IDBPDatabase<Schema>>((resolve, reject) => {
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
        abandoned = true;
        reject(new StoreError(`Opening "${this.dbName}" is blocked by another connection that does not close`));
      };
      request.onerror = (event) => {
        event.preventDefault();
        reject(request.error);
      };
      request.onsuccess = () => {
        const raw = request.result;
        if (abandoned || this.isClosed) {
          raw.close();
          reject(new StoreError(`The store "${this.dbName}" is closed`));
          return;
        }
        const db = wrap(raw) as unknown as IDBPDatabase<Schema>;
        const forget = () => {
          if (this.opened === opening) this.opened = undefined;
        };
        // Another connection wants to upgrade or delete the database: step aside cleanly. An
        // upgrade past our steps means this build is outdated for good: say so now, not at the
        // next call (a leading tab must hand the lead to the new build).
        raw.onversionchange = (event) => {
          forget();
          raw.close();
          if (event.newVersion !== null && event.newVersion > raw.version) this.outdated(event.newVersion);
        };
        // Closed abnormally (storage cleared, browser shut it).
        raw.onclose = forget;
        resolve(db);
      };
    });
    return opening;
  }

  /** The typed error of an outdated build (reported on `outdated$` the first time), with `cause` when an open threw it. */
  private outdated(newVersion: number | undefined, cause?: unknown): StoreOutdatedError {
    const error = new StoreOutdatedError(this.dbName, this.migrations().length, newVersion, cause === undefined ? undefined : { cause });
    if (!this.isOutdated) {
      this.isOutdated = true;
      this.outdatedSubject.next(error);
    }
    return error;
  }

  private isVersionError(error: unknown): boolean {
    return (error instanceof DOMException || error instanceof Error) && error.name === 'VersionError';
  }
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
