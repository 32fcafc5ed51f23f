// The database `IndexedDBStore` keeps its docs in: its object stores, the schema steps that make
// them (a later version appends one), and the key range of one doc's rows.
import type { DBSchema, IDBPDatabase, IDBPTransaction, StoreNames } from 'idb';
import type { Change, JSONPatchOp } from '../types.js';
import type { DocRow } from './idbDocRow.js';

/** The object stores (every version so far has the same ones). Values are wrapped so a Change's own keys never collide with ours. */
export interface Schema extends DBSchema {
  docs: { key: string; value: DocRow };
  /** The materialized committed state (at the row's `stateRev`), apart from `docs` so `listDocs` never loads documents. */
  states: { key: string; value: { docId: string; state: unknown } };
  committedChanges: { key: [string, number]; value: { docId: string; rev: number; change: Change } };
  /** Keyed by queue position (`seq`), not rev, so the queue order is exactly what was written. */
  pendingChanges: { key: [string, number]; value: { docId: string; seq: number; change: Change } };
  pendingOps: { key: [string, string]; value: { docId: string; path: string; op: JSONPatchOp } };
  sending: { key: string; value: { docId: string; change: Change } };
}

/** The name of one of the object stores. */
export type StoreName = StoreNames<Schema>;
/** A transaction over some of the object stores. */
export type Tx<M extends IDBTransactionMode> = IDBPTransaction<Schema, StoreName[], M>;
/** A readwrite transaction over some of the object stores: what a write is made of. */
export type RWTx = Tx<'readwrite'>;

/** Every object store: what a write that clears a doc touches. */
export const ALL_STORES: StoreName[] = ['docs', 'states', 'committedChanges', 'pendingChanges', 'pendingOps', 'sending'];
/** What a guarded write may need to read (besides the rows it writes). */
export const GUARDED_STORES: StoreName[] = ['docs', 'states', 'pendingChanges', 'pendingOps', 'sending'];

/**
 * One schema step: migrates an open `versionchange` transaction from version `i` to `i + 1`
 * (the step at index `i`). It runs synchronously inside `upgradeneeded`; it may issue requests
 * on `tx` (to rewrite rows) but must not await anything else. Throwing aborts the upgrade.
 *
 * @example
 * const addAlgorithmIndex: IDBStoreMigration = (_db, tx) => {
 *   tx.objectStore('docs').createIndex('algorithm', 'algorithm');
 * };
 */
export type IDBStoreMigration = (db: IDBPDatabase<unknown>, tx: IDBPTransaction<unknown, string[], 'versionchange'>) => void;

/**
 * The schema steps, oldest first: `IDB_MIGRATIONS[i]` takes a database from version `i` to `i + 1`.
 * A later version appends a step (never edits an old one), so a database written by any earlier
 * version is upgraded step by step without losing rows. Any release may append one: a subclass
 * that appends steps of its own after these must write them to be idempotent, as they then run
 * again one version later (see `IndexedDBStore.migrations`).
 *
 * @example
 * IDB_MIGRATIONS.length === IDB_SCHEMA_VERSION; // true
 */
export const IDB_MIGRATIONS: readonly IDBStoreMigration[] = [
  // 0 → 1: the initial object stores.
  (db) => {
    db.createObjectStore('docs', { keyPath: 'docId' });
    db.createObjectStore('states', { keyPath: 'docId' });
    db.createObjectStore('committedChanges', { keyPath: ['docId', 'rev'] });
    db.createObjectStore('pendingChanges', { keyPath: ['docId', 'seq'] });
    db.createObjectStore('pendingOps', { keyPath: ['docId', 'path'] });
    db.createObjectStore('sending', { keyPath: 'docId' });
  },
  // 1 → 2: no new stores, but a doc's state may now lag its committed rev (`DocRow.stateRev`).
  // A version-1 tab would read such a state as current, so the bump closes its connection.
  () => {},
  // 2 → 3: no new stores, but a change of a doc's pending queue must give its row a new
  // `queueTag`. A version-2 tab would change the queue under the old tag, so the bump closes it.
  () => {},
  // 3 → 4: no new stores, but what a row means changed twice more at version 3 without a bump
  // (found in review): an LWW doc's pending ops must give the row a new `queueTag` too, and every
  // OT queue change but an append a new `queueBase`. Builds of version 3 from before each wrote
  // rows without them, and a tab of today's build trusted those rows (an LWW op lost on its next
  // send; an OT view missing what the old tab acknowledged). The bump closes every version-3 tab.
  // No row is rewritten: what a tab trusts (`KnownQueues`) it learns from reads and writes of its
  // own, all made at version 4, once no version-3 tab can write; a stale tag or base left behind
  // is a value no instance knows.
  () => {},
];

/**
 * The IndexedDB schema version `IndexedDBStore` opens its database at.
 *
 * Any change of what a row means (a field a write must now keep up, a value read another way)
 * needs a bump, even with no new stores: tabs of two builds share one database during every
 * deploy, and only the bump closes the older tab's connection (`StoreOutdatedError`), so a row it
 * writes the old way is never trusted by the new build. The tabs also elect their leader per
 * version (`SyncTabs`), so a newer build never waits on an older one's lead.
 *
 * @example
 * const db = await openDB('my-app', IDB_SCHEMA_VERSION); // what the store itself would open
 */
export const IDB_SCHEMA_VERSION: number = IDB_MIGRATIONS.length;

/**
 * Every row key of one doc in a `[docId, …]`-keyed store: `[docId]` < `[docId, any number or string]` < `[docId, []]`.
 *
 * @example
 * await tx.objectStore('pendingChanges').getAll(docRange('notes')); // the doc's whole queue
 */
export function docRange(docId: string): IDBKeyRange {
  return IDBKeyRange.bound([docId], [docId, []]);
}
