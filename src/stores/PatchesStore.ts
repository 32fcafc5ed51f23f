import type { Algorithm, Change, JSONPatchOp, PatchesState, TrackedDoc } from '../types.js';

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
}

/**
 * The client store interface: one store holds OT and LWW docs. Every method is atomic on its
 * own; implementations must never lose data already stored when a write fails (they reject with
 * a `StoreError` instead).
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
  /** Committed revision of a doc (0 if unknown). */
  getCommittedRev(docId: string): Promise<number>;
  /** Install a server snapshot as the committed state. Pending data (OT queue, LWW ops and sending) is kept. */
  saveDoc(docId: string, snapshot: PatchesState): Promise<void>;
  /** Local delete: clear the doc's data and leave a tombstone (`deleted: true`) until `confirmDeleteDoc`. */
  deleteDoc(docId: string): Promise<void>;
  /** The server confirmed the delete: remove everything, the tombstone included. */
  confirmDeleteDoc(docId: string): Promise<void>;

  /** OT: the pending queue in order. */
  getPendingChanges(docId: string): Promise<Change[]>;
  /**
   * OT: append changes to the pending queue. Inside the write, each change's `rev` is re-stamped
   * to `tail+1, tail+2, …` where tail = max(committedRev, last pending rev) (the passed objects are mutated).
   */
  savePendingChanges(docId: string, changes: Change[]): Promise<void>;
  /** OT: replace the whole pending queue (after splitting or dropping resolved changes). */
  replacePendingChanges(docId: string, changes: Change[]): Promise<void>;
  /** Committed history with `rev > startAfterRev` (may be shorter after compaction). */
  listChanges(docId: string, startAfterRev?: number): Promise<Change[]>;

  /** Apply server changes in one atomic write: new committed state/rev, history rows, optional new pending queue / cleared sending slot. */
  applyServerChanges(docId: string, update: ServerChangesUpdate): Promise<void>;

  /** LWW: pending ops (one per path). */
  getPendingOps(docId: string): Promise<JSONPatchOp[]>;
  /** LWW: upsert ops by path, and delete the ops stored at `pathsToDelete`. */
  savePendingOps(docId: string, ops: JSONPatchOp[], pathsToDelete?: string[]): Promise<void>;
  /** LWW: the in-flight change, if any. */
  getSendingChange(docId: string): Promise<Change | null>;
  /** LWW: atomically set the in-flight change and clear the pending ops it was built from. */
  saveSendingChange(docId: string, change: Change): Promise<void>;

  /** Release resources (close the database). */
  close(): Promise<void>;
}
