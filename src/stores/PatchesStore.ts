import type { Observable } from 'rxjs';
import type { Algorithm, Change, JSONPatchOp, PatchesState, TrackedDoc } from '../types.js';
import type { StoreOutdatedError } from '../errors.js';

/**
 * Everything a client store holds for one document. The committed state is kept materialized
 * at `committedRev`, so opening a doc or applying a server batch never replays history.
 */
export interface StoredDoc<T = unknown> {
  docId: string;
  algorithm: Algorithm;
  /** Committed state at `committedRev` (`null` for a brand-new OT doc). */
  state: T;
  /** Last revision confirmed by the server; 0 = never synced. */
  committedRev: number;
  /** OT: pending local changes in queue order (rev ascending). Empty for LWW docs. */
  pending: Change[];
  /** LWW: pending ops, at most one per path (consolidated). Empty for OT docs. */
  pendingOps: JSONPatchOp[];
  /** LWW: the change in flight to the server, resent unchanged until confirmed. */
  sending: Change | null;
  /**
   * How many times the committed rev went back (a server that lost revisions, a deleted doc
   * tracked again); absent when it never did. A committed state read at a rev is still of the
   * stored history only while this count is the one it was read with: after going back, the doc
   * may reach the same rev again by another history. Stores that share their storage count it.
   */
  rewinds?: number;
  /**
   * LWW: the highest `ts` among the ops the store took for this doc, its own saved edits
   * (`savePendingOps`) and the server rows applied (`applyServerChanges`), each raised in that
   * same write; absent while none carried one (and on data written by a build before it). The
   * doc's next edit is stamped no lower (`StampFloors`), after a reopen or a reload too. A
   * snapshot written with `saveDoc` (a first load) does not raise it.
   */
  stampFloor?: number;
}

/** What is stored for a doc but its state: the committed rev and everything pending (`getQueue`). */
export type StoredQueue = Omit<StoredDoc, 'state'>;

/**
 * What a doc holds now, for a reader that has its committed state at an older rev
 * (`getDocSince`): the queue, the committed changes since that rev, and the state only when they
 * do not lead all the way from it.
 */
export interface StoredDocSince<T = unknown> extends StoredQueue {
  /** The committed changes after the asked rev, in rev order: all of them when `state` is absent. */
  since: Change[];
  /** The committed state; absent when `since` leads from the asked rev to `committedRev`. */
  state?: T;
}

/** One atomic write after server changes were applied to a doc. */
export interface ServerChangesUpdate<T = unknown> {
  /** The new committed state. */
  state: T;
  /** The new committed revision. */
  rev: number;
  /** The committed changes just applied (kept as history until compacted). */
  changes: Change[];
  /** OT: when given, replaces the whole pending queue (the rebased queue). */
  pending?: Change[];
  /** LWW: the in-flight change was confirmed by the server; clear the sending slot. */
  clearSending?: boolean;
  /** What the update was computed from: if the doc holds anything else, nothing is written and it rejects with `StoreConflictError`. */
  expect?: StoreGuard;
  /**
   * `state` is exactly `changes` applied in order, strictly, to the committed state (for an LWW
   * doc, a `null` state taken as `{}`), so a store may keep the changes and rebuild the state
   * from them later instead of writing it whole.
   */
  replayable?: boolean;
  /** The server went back in time: a rev below the committed one is accepted (give `expect` so another instance's write in between is still caught). */
  regressed?: boolean;
}

/**
 * What a guarded write expects the doc to hold when it runs. Several instances (tabs) may share
 * one database: a write computed from data another instance has since changed would overwrite
 * that instance's work, so it fails with `StoreConflictError` instead and the caller recomputes
 * from a fresh read. Only the fields given are checked.
 */
export interface StoreGuard {
  /** The committed rev. */
  committedRev?: number;
  /** OT: the ids of the whole pending queue, in order. */
  pendingIds?: readonly string[];
  /** LWW: the pending ops (as `getPendingOps` returns them). */
  pendingOps?: readonly JSONPatchOp[];
  /** LWW: the id of the in-flight change (`null`: none). */
  sendingId?: string | null;
  /** Whether the doc is a tombstone (deleted locally, waiting for the server's delete). */
  deleted?: boolean;
  /** The `StoredDoc.rewinds` (0 when absent) the committed state the write was computed on was read with. */
  rewinds?: number;
}

/** What a store tells other instances on the same storage after a write (see `PatchesStore.changes$`). */
export interface StoreChange {
  /** What happened: tracking changed, or doc data was written. */
  kind: 'track' | 'untrack' | 'delete' | 'write';
  docIds: string[];
  /** With `track`: the algorithm the docs are tracked with. */
  algorithm?: Algorithm;
}

/**
 * The client store interface: one store holds OT and LWW docs. Every method is atomic on its
 * own; implementations must never lose data already stored when a write fails (they reject with
 * a `StoreError` instead). Several instances may share one storage (tabs on one IndexedDB
 * database): the read-modify-write methods take a `StoreGuard` and refuse to write over what
 * another instance changed in between (`StoreConflictError`), and `changes$` tells each
 * instance what the others wrote. A write to a doc that is not tracked (or deleted) rejects with
 * a `DocNotTrackedError`: the sync of a doc another instance untracked ends quietly on it.
 *
 * @example
 * const store: PatchesStore = new InMemoryStore();
 * await store.trackDocs(['notes'], 'ot');
 * const doc = await store.getDoc('notes'); // { state: null, committedRev: 0, pending: [], ... }
 */
export interface PatchesStore {
  /** Track docs (idempotent: an already-tracked doc keeps its algorithm and data). Tracking a tombstoned id revives it with no data. */
  trackDocs(docIds: string[], algorithm: Algorithm): Promise<void>;
  /** Stop tracking and purge all local data of these docs (tombstones included). */
  untrackDocs(docIds: string[]): Promise<void>;
  /** Tracked docs; tombstoned ones only with `includeDeleted`. */
  listDocs(includeDeleted?: boolean): Promise<TrackedDoc[]>;
  /** Everything stored for a tracked, non-deleted doc; `undefined` otherwise. */
  getDoc<T = unknown>(docId: string): Promise<StoredDoc<T> | undefined>;
  /**
   * `getDoc` without the state, in one read: the committed rev and everything pending, seen at
   * one moment (as separate reads they could straddle another tab's send or commit), without
   * copying the document. Optional: a store without it is read through `getDoc` (`readQueue`).
   */
  getQueue?(docId: string): Promise<StoredQueue | undefined>;
  /**
   * What changed since `rev`, in one read: the queue and the committed changes after `rev`, and
   * the state only if those changes do not all lead from `rev` to the committed rev (compacted,
   * or the doc is below `rev`) or if the doc has gone back past `rev` since (a server that lost
   * revisions, a delete and a new start): a reader's state at `rev` may then be of the abandoned
   * history, which the changes do not apply to, or if they are not every change the state went
   * through, applied strictly as given (a late LWW reply stored at its old rev, an LWW op that
   * failed). A store may give the state anyway. A reader with the state at `rev` applies the
   * changes (an LWW doc's `null` state as `{}`) instead of copying the document. Optional: a store
   * without it is read through `getDoc` and `listChanges`.
   */
  getDocSince?<T = unknown>(docId: string, rev: number): Promise<StoredDocSince<T> | undefined>;
  /** Committed revision of a doc (0 if unknown). */
  getCommittedRev(docId: string): Promise<number>;
  /** Install a server snapshot as the committed state. Pending data (OT queue, LWW ops and sending) is kept. */
  saveDoc(docId: string, snapshot: PatchesState, expect?: StoreGuard): Promise<void>;
  /** Local delete: clear the doc's data and leave a tombstone (`deleted: true`) until `confirmDeleteDoc`. */
  deleteDoc(docId: string): Promise<void>;
  /**
   * The server deleted the doc: remove everything, the tombstone included (a no-op for an unknown
   * doc). With `expect`, only if the doc still holds what it says (else `StoreConflictError`):
   * `{ deleted: true }` removes only a tombstone, never a doc tracked again since its local
   * delete; a guard on the pending work removes a live doc only if that is the work the caller
   * read (and handed to its listeners), not another instance's newer edits.
   */
  confirmDeleteDoc(docId: string, expect?: StoreGuard): Promise<void>;

  /** OT: the pending queue in order. */
  getPendingChanges(docId: string): Promise<Change[]>;
  /**
   * OT: append changes to the pending queue. Inside the write, each change's `rev` is re-stamped
   * to `tail+1, tail+2, …` where tail = max(committedRev, last pending rev) (the passed objects are mutated).
   * With `expect`, the changes must have been authored on exactly that committed rev and queue.
   */
  savePendingChanges(docId: string, changes: Change[], expect?: StoreGuard): Promise<void>;
  /**
   * OT: replace pending changes (after splitting). With `replacedIds`, only those leading entries
   * of the queue are replaced and changes queued after them are kept; if the queue does not start
   * with them it rejects with `StoreConflictError`. Without, the whole queue is replaced. With
   * `expect`, the doc must hold exactly that (committed rev, whole queue) or it is a conflict: a
   * split's first piece keeps its change's id, so another instance that split the same queue
   * leaves it starting with the same id.
   */
  replacePendingChanges(docId: string, changes: Change[], replacedIds?: readonly string[], expect?: StoreGuard): Promise<void>;
  /** Committed history with `rev > startAfterRev` (may be shorter after compaction). */
  listChanges(docId: string, startAfterRev?: number): Promise<Change[]>;

  /**
   * Apply server changes in one atomic write: new committed state/rev, history rows, optional new
   * pending queue / cleared sending slot. Guarded by `update.expect`; and a committed rev never
   * moves backwards (an update below the stored rev was computed from stale data: conflict).
   */
  applyServerChanges(docId: string, update: ServerChangesUpdate): Promise<void>;

  /** LWW: pending ops (one per path). */
  getPendingOps(docId: string): Promise<JSONPatchOp[]>;
  /** LWW: upsert ops by path, and delete the ops stored at `pathsToDelete` (guarded by `expect`). */
  savePendingOps(docId: string, ops: JSONPatchOp[], pathsToDelete?: string[], expect?: StoreGuard): Promise<void>;
  /** LWW: the in-flight change, if any. */
  getSendingChange(docId: string): Promise<Change | null>;
  /** LWW: atomically set the in-flight change and clear the pending ops it was built from. */
  saveSendingChange(docId: string, change: Change, expect?: StoreGuard): Promise<void>;

  /**
   * What other instances on the same storage wrote (another tab's store on the same IndexedDB
   * database), never this instance's own writes. Absent when nobody else can write the storage.
   * A hint to re-read, not a log: every write another instance commits after this one started is
   * followed by a change naming it, but possibly late, merged with others of its kind, or after a
   * later one; writes from before the subscription are found by reading the store after it.
   */
  readonly changes$?: Observable<StoreChange>;

  /**
   * Emits once when a newer build of the app upgraded the storage to a schema this one cannot
   * open, or when the storage was lost under this instance (a `StoreLostError`: deleted, or closed
   * by the browser, its `reason`); then every call rejects with the error. Absent when the storage has
   * no schema versions.
   */
  readonly outdated$?: Observable<StoreOutdatedError>;

  /**
   * The schema version of the storage this store reads and writes; absent when the storage has
   * none. Tabs elect their leader per version (`SyncTabs`): a tab of an older one can sync nothing.
   * A store that wraps another by delegation (an `IndexedDBStore` with logging around it) must
   * pass the wrapped store's on (`get schemaVersion() { return this.inner.schemaVersion; }`):
   * without it, its tabs keep the bare lock and channel name, whatever schema their database has.
   */
  readonly schemaVersion?: number;

  /** Release resources (close the database). */
  close(): Promise<void>;
}
