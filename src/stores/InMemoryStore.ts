import { DocNotTrackedError, StoreConflictError, StoreError } from '../errors.js';
import type { Algorithm, Change, JSONPatchOp, PatchesState, TrackedDoc } from '../types.js';
import type { PatchesStore, ServerChangesUpdate, StoreGuard, StoredDoc, StoredQueue } from './PatchesStore.js';
import { guardConflict } from './guardConflict.js';
import { deepCopy } from '../util/deepCopy.js';
import { afterWrite } from '../algorithms/lww/pathOrder.js';
import { raisedFloor, raisedFloorBy } from '../algorithms/lww/stampFloor.js';

/** What the in-memory store keeps for one doc (tombstones keep only the tracking fields). */
interface MemoryDoc {
  algorithm: Algorithm;
  committedRev: number;
  deleted: boolean;
  state: unknown;
  pending: Change[];
  /** LWW pending ops keyed by path. */
  pendingOps: Map<string, JSONPatchOp>;
  /**
   * The same ops as the caller of the last guarded `savePendingOps` knew them (its own objects, in
   * path order): the next guard, computed from that list, meets each op by identity instead of
   * comparing it deeply and sorting the paths. Cleared by any write it does not describe.
   */
  opsAsWritten?: readonly JSONPatchOp[];
  sending: Change | null;
  /** Committed history keyed by rev. */
  history: Map<number, Change>;
  /** `StoredDoc.rewinds`. */
  rewinds: number;
  /** `StoredDoc.stampFloor`. */
  stampFloor?: number;
}

/**
 * A `PatchesStore` that keeps everything in memory: for tests, servers-side tools and apps that
 * do not need offline persistence.
 *
 * It follows the same contract as `IndexedDBStore` (the shared contract spec runs against both):
 * - Every value handed in or out is a deep copy (`deepCopy`: what `structuredClone` makes, faster
 *   for plain values), so callers can never mutate stored data — except `savePendingChanges`, which re-stamps `rev` on the passed objects as the
 *   interface documents, and doc states: those are immutable values everywhere in patches-rx
 *   (`applyPatch` is copy-on-write), so they are kept and handed out by reference. Copying a
 *   10 MB state on every server batch would make each batch cost O(doc) instead of O(change).
 * - Every method is all-or-nothing: inputs are validated and cloned before anything is written.
 * - Writes to a doc that is not tracked (never tracked, untracked or tombstoned) reject with a
 *   `StoreError` and write nothing; OT-only writes on an LWW doc (and the reverse) reject too.
 *   Reads of an unknown doc return empty values (`undefined`, `0`, `[]`, `null`).
 * - A brand-new doc (either algorithm) has `state: null` and `committedRev: 0`.
 * - A tombstone (`deleteDoc`) keeps `algorithm` and `committedRev` (so a sync pass can still
 *   delete it on the server) and drops everything else; deleting an unknown doc leaves an `'ot'`
 *   tombstone at rev 0.
 * - Committed history rows are kept forever (no compaction in memory).
 * - Guarded writes (`expect`, `replacedIds`, a committed rev moving backwards) reject with a
 *   `StoreConflictError` and write nothing, exactly as `IndexedDBStore` does, so several
 *   `Patches` may share one instance. It has no `changes$`: sharing instances see each other's
 *   writes on their next read, as nothing tells them.
 * - After `close()` every call rejects with a `StoreError`.
 *
 * @example
 * const store = new InMemoryStore();
 * await store.trackDocs(['notes'], 'ot');
 * const change = createChange([{ op: 'add', path: '/title', value: 'Hi' }], { baseRev: 0, rev: 0 });
 * await store.savePendingChanges('notes', [change]); // change.rev is now 1
 * (await store.getDoc('notes'))?.pending.length; // 1
 */
export class InMemoryStore implements PatchesStore {
  private readonly docs = new Map<string, MemoryDoc>();
  private closed = false;

  /**
   * Track docs; an already-tracked doc keeps its algorithm and data, a tombstoned one is revived empty.
   *
   * @example
   * await store.trackDocs(['a', 'b'], 'lww');
   */
  async trackDocs(docIds: string[], algorithm: Algorithm): Promise<void> {
    this.assertOpen();
    for (const docId of docIds) {
      const existing = this.docs.get(docId);
      if (existing && !existing.deleted) continue;
      // A revived tombstone starts again at rev 0: its earlier revs are another history.
      this.docs.set(docId, { ...emptyDoc(algorithm), rewinds: existing ? existing.rewinds + 1 : 0 });
    }
  }

  /**
   * Stop tracking docs and drop all their data, tombstones included.
   *
   * @example
   * await store.untrackDocs(['a']);
   */
  async untrackDocs(docIds: string[]): Promise<void> {
    this.assertOpen();
    for (const docId of docIds) this.docs.delete(docId);
  }

  /**
   * Tracked docs in id order; tombstones only with `includeDeleted`.
   *
   * @example
   * const docs = await store.listDocs(); // [{ docId: 'a', committedRev: 0, algorithm: 'lww' }]
   */
  async listDocs(includeDeleted = false): Promise<TrackedDoc[]> {
    this.assertOpen();
    const out: TrackedDoc[] = [];
    for (const docId of [...this.docs.keys()].sort()) {
      const doc = this.docs.get(docId)!;
      if (doc.deleted && !includeDeleted) continue;
      const tracked: TrackedDoc = { docId, committedRev: doc.committedRev, algorithm: doc.algorithm };
      if (doc.deleted) tracked.deleted = true;
      out.push(tracked);
    }
    return out;
  }

  /**
   * A copy of everything stored for a tracked, non-deleted doc.
   *
   * @example
   * const doc = await store.getDoc<{ title: string }>('notes');
   * doc?.state.title;
   */
  async getDoc<T = unknown>(docId: string): Promise<StoredDoc<T> | undefined> {
    const queue = await this.getQueue(docId);
    return queue && { ...queue, state: this.live(docId)?.state as T };
  }

  /**
   * A copy of everything stored for a tracked, non-deleted doc but its state.
   *
   * @example
   * const queue = await store.getQueue('notes');
   * queue?.pending.length;
   */
  async getQueue(docId: string): Promise<StoredQueue | undefined> {
    this.assertOpen();
    const doc = this.live(docId);
    if (!doc) return undefined;
    const queue: StoredQueue = deepCopy({
      docId,
      algorithm: doc.algorithm,
      committedRev: doc.committedRev,
      pending: doc.pending,
      pendingOps: sortedOps(doc.pendingOps),
      sending: doc.sending,
    });
    if (doc.rewinds) queue.rewinds = doc.rewinds;
    if (doc.stampFloor !== undefined) queue.stampFloor = doc.stampFloor;
    return queue;
  }

  /**
   * The committed revision (a tombstone keeps its last one; 0 for an unknown doc).
   *
   * @example
   * await store.getCommittedRev('notes'); // 0
   */
  async getCommittedRev(docId: string): Promise<number> {
    this.assertOpen();
    return this.docs.get(docId)?.committedRev ?? 0;
  }

  /**
   * Install a server snapshot as the committed state; pending data is kept.
   *
   * @example
   * await store.saveDoc('notes', { state: { title: 'Hi' }, rev: 7 });
   */
  async saveDoc(docId: string, snapshot: PatchesState, expect?: StoreGuard): Promise<void> {
    this.assertOpen();
    const doc = this.writable(docId);
    check(docId, doc, expect);
    if (snapshot.rev < doc.committedRev) doc.rewinds++;
    doc.state = snapshot.state;
    doc.committedRev = snapshot.rev;
  }

  /**
   * Leave a tombstone: data cleared, `deleted: true`, algorithm and committed rev kept. Idempotent.
   * Deleting a doc this store never tracked leaves an `'ot'` tombstone at rev 0 (the interface
   * gives no algorithm), so a deferred server delete still happens.
   *
   * @example
   * await store.deleteDoc('notes');
   * await store.getDoc('notes'); // undefined
   */
  async deleteDoc(docId: string): Promise<void> {
    this.assertOpen();
    const doc = this.docs.get(docId);
    if (doc?.deleted) return;
    this.docs.set(docId, { ...emptyDoc(doc?.algorithm ?? 'ot'), committedRev: doc?.committedRev ?? 0, deleted: true, rewinds: doc?.rewinds ?? 0 });
  }

  /**
   * Remove everything, the tombstone included, if the doc holds what `expect` says (see
   * `PatchesStore.confirmDeleteDoc`). A no-op for an unknown doc.
   *
   * @example
   * await store.confirmDeleteDoc('notes', { deleted: true }); // only while it is a tombstone
   */
  async confirmDeleteDoc(docId: string, expect?: StoreGuard): Promise<void> {
    this.assertOpen();
    const doc = this.docs.get(docId);
    if (!doc) return;
    check(docId, doc, expect);
    this.docs.delete(docId);
  }

  /**
   * A copy of the OT pending queue, in queue order.
   *
   * @example
   * const pending = await store.getPendingChanges('notes');
   */
  async getPendingChanges(docId: string): Promise<Change[]> {
    this.assertOpen();
    return deepCopy(this.live(docId)?.pending ?? []);
  }

  /**
   * Append to the OT pending queue, re-stamping each passed change's `rev` to `tail+1, tail+2, …`.
   *
   * @example
   * await store.savePendingChanges('notes', [change]); // change.rev === committedRev + 1 on an empty queue
   */
  async savePendingChanges(docId: string, changes: Change[], expect?: StoreGuard): Promise<void> {
    this.assertOpen();
    const doc = this.writable(docId, 'ot');
    check(docId, doc, expect);
    const copies = clone(changes, docId);
    let tail = Math.max(doc.committedRev, doc.pending.at(-1)?.rev ?? 0);
    for (let i = 0; i < changes.length; i++) {
      tail += 1;
      changes[i].rev = tail;
      copies[i].rev = tail;
    }
    doc.pending.push(...copies);
  }

  /**
   * Replace the OT pending queue (revs and order kept as given): only its leading `replacedIds`
   * when given (a queue not starting with them is a conflict), else all of it.
   *
   * @example
   * await store.replacePendingChanges('notes', pieces, [original.id]);
   */
  async replacePendingChanges(docId: string, changes: Change[], replacedIds?: readonly string[], expect?: StoreGuard): Promise<void> {
    this.assertOpen();
    const doc = this.writable(docId, 'ot');
    check(docId, doc, expect);
    const kept = replacedIds ? doc.pending.slice(replacedIds.length) : [];
    if (replacedIds) check(docId, doc, { pendingIds: [...replacedIds, ...kept.map((change) => change.id)] });
    doc.pending = [...clone(changes, docId), ...kept];
  }

  /**
   * Committed history rows with `rev > startAfterRev`, rev ascending.
   *
   * @example
   * const since5 = await store.listChanges('notes', 5);
   */
  async listChanges(docId: string, startAfterRev = 0): Promise<Change[]> {
    this.assertOpen();
    const doc = this.live(docId);
    if (!doc) return [];
    const rows = [...doc.history.values()].filter((change) => change.rev > startAfterRev);
    rows.sort((a, b) => a.rev - b.rev);
    return deepCopy(rows);
  }

  /**
   * Apply server changes atomically: state, rev, history rows, optional pending queue and sending slot.
   *
   * @example
   * await store.applyServerChanges('notes', { state: next, rev: 8, changes: [committed], pending: rebased });
   */
  async applyServerChanges(docId: string, update: ServerChangesUpdate): Promise<void> {
    this.assertOpen();
    const doc = this.writable(docId);
    if (update.pending && doc.algorithm !== 'ot') {
      throw new StoreError(`Cannot replace the pending queue of LWW doc "${docId}"`, docId);
    }
    check(docId, doc, update.expect);
    if (update.rev < doc.committedRev && !update.regressed) throw new StoreConflictError(docId, `committedRev ${doc.committedRev} > update rev ${update.rev}`);
    // Clone everything first so a failure leaves the doc untouched.
    const state = update.state;
    const changes = clone(update.changes, docId);
    const pending = update.pending ? clone(update.pending, docId) : undefined;
    if (update.rev < doc.committedRev) doc.rewinds++;
    doc.state = state;
    doc.committedRev = update.rev;
    for (const change of changes) doc.history.set(change.rev, change);
    if (pending) doc.pending = pending;
    if (update.clearSending) doc.sending = null;
    if (doc.algorithm === 'lww') doc.stampFloor = raisedFloorBy(doc.stampFloor, changes);
  }

  /**
   * A copy of the LWW pending ops, one per path, in path order.
   *
   * @example
   * const ops = await store.getPendingOps('settings');
   */
  async getPendingOps(docId: string): Promise<JSONPatchOp[]> {
    this.assertOpen();
    const doc = this.live(docId);
    return doc ? deepCopy(sortedOps(doc.pendingOps)) : [];
  }

  /**
   * Delete the ops at `pathsToDelete`, then upsert `ops` by path (so an op in `ops` always survives).
   *
   * @example
   * await store.savePendingOps('settings', [{ op: 'replace', path: '/theme', value: 'dark', ts: Date.now() }], ['/theme/old']);
   */
  async savePendingOps(docId: string, ops: JSONPatchOp[], pathsToDelete: string[] = [], expect?: StoreGuard): Promise<void> {
    this.assertOpen();
    const doc = this.writable(docId, 'lww');
    check(docId, doc, expect);
    const copies = clone(ops, docId);
    for (const path of pathsToDelete) doc.pendingOps.delete(path);
    for (const op of copies) doc.pendingOps.set(op.path, op);
    doc.stampFloor = raisedFloor(doc.stampFloor, copies);
    // The guard held, so the ops were `expect.pendingOps` (in path order, as checked).
    doc.opsAsWritten = expect?.pendingOps && afterWrite(expect.pendingOps, ops, pathsToDelete);
  }

  /**
   * A copy of the LWW in-flight change, or `null`.
   *
   * @example
   * const sending = await store.getSendingChange('settings');
   */
  async getSendingChange(docId: string): Promise<Change | null> {
    this.assertOpen();
    const sending = this.live(docId)?.sending ?? null;
    return sending && deepCopy(sending);
  }

  /**
   * Set the LWW in-flight change (replacing any previous one) and clear all pending ops it was
   * built from — every pending op of the doc — in one step.
   *
   * @example
   * await store.saveSendingChange('settings', change);
   */
  async saveSendingChange(docId: string, change: Change, expect?: StoreGuard): Promise<void> {
    this.assertOpen();
    const doc = this.writable(docId, 'lww');
    check(docId, doc, expect);
    doc.sending = clone(change, docId);
    doc.pendingOps.clear();
    doc.opsAsWritten = undefined;
  }

  /**
   * Close the store; every later call rejects with a `StoreError`.
   *
   * @example
   * await store.close();
   */
  async close(): Promise<void> {
    this.closed = true;
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreError('The store is closed');
  }

  private live(docId: string): MemoryDoc | undefined {
    const doc = this.docs.get(docId);
    return doc && !doc.deleted ? doc : undefined;
  }

  private writable(docId: string, algorithm?: Algorithm): MemoryDoc {
    const doc = this.live(docId);
    if (!doc) throw new DocNotTrackedError(docId, this.docs.has(docId));
    if (algorithm && doc.algorithm !== algorithm) {
      throw new StoreError(`Doc "${docId}" is ${doc.algorithm.toUpperCase()}, not ${algorithm.toUpperCase()}`, docId);
    }
    return doc;
  }
}

function emptyDoc(algorithm: Algorithm): MemoryDoc {
  return {
    algorithm,
    committedRev: 0,
    deleted: false,
    state: null,
    pending: [],
    pendingOps: new Map(),
    sending: null,
    history: new Map(),
    rewinds: 0,
  };
}

/** Rejects a guarded write whose expectation the doc no longer meets. */
function check(docId: string, doc: MemoryDoc, expect: StoreGuard | undefined): void {
  if (!expect) return;
  const conflict = guardConflict(
    {
      committedRev: doc.committedRev,
      pending: doc.pending,
      pendingOps: expect.pendingOps && (doc.opsAsWritten ?? sortedOps(doc.pendingOps)),
      sendingId: doc.sending?.id ?? null,
      deleted: doc.deleted,
      rewinds: doc.rewinds,
    },
    expect,
  );
  if (conflict) throw new StoreConflictError(docId, conflict);
}

function sortedOps(ops: Map<string, JSONPatchOp>): JSONPatchOp[] {
  return [...ops.keys()].sort().map((path) => ops.get(path)!);
}

/** `deepCopy` that reports an uncloneable value (a function, a symbol…) as a StoreError. */
function clone<V>(value: V, docId: string): V {
  try {
    return deepCopy(value);
  } catch (cause) {
    throw new StoreError(`Cannot store a value of doc "${docId}": it is not cloneable`, docId, { cause });
  }
}
