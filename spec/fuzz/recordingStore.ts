import type { Observable } from 'rxjs';
import { InMemoryStore } from '../../src/stores/InMemoryStore.js';
import type { PatchesStore, ServerChangesUpdate, StoreChange, StoreGuard, StoredDoc } from '../../src/stores/PatchesStore.js';
import type { Algorithm, Change, JSONPatchOp, PatchesState, TrackedDoc } from '../../src/types.js';

/** A write that took OT changes out of the pending queue without them being applied as committed. */
export interface PendingDrop {
  client: number;
  docId: string;
  /** The pending queue just before the write. */
  before: Change[];
  /** The committed changes the write applied (the ones the queue was rebased over). */
  applied: Change[];
  /** Ids of the queue after the write. */
  kept: string[];
  /** Ids that left the queue and are not among `applied`. */
  gone: string[];
}

/**
 * A store (in memory by default, or any other, e.g. an `IndexedDBStore` several clients share)
 * that notes every write dropping pending OT changes, so the fuzz can check afterwards that each
 * drop was legitimate (an echo, a change the server transformed away, or one the client's own
 * rebase emptied). It behaves exactly like the store it wraps; one instance outlives the client
 * "restarts" of the fuzz, as IndexedDB outlives a page.
 */
export class RecordingStore implements PatchesStore {
  /** Every dropping write, in order. */
  readonly drops: PendingDrop[] = [];
  /** Ids taken out by `replacePendingChanges` (splits); none are expected with small edits. */
  readonly replaced: { docId: string; ids: string[] }[] = [];
  /** Every committed change this store applied, per doc, with the rev it moved to (for diagnosis). */
  readonly applied = new Map<string, { at: number; rev: number; changes: Change[] }[]>();
  readonly changes$?: Observable<StoreChange>;

  /**
   * @param pause awaited before every call reaches the store (the fuzz's `slowStore`: a store
   *   whose calls take a while, as IndexedDB's do on a busy machine, so edits, frames and other
   *   tabs' writes land while a call is on its way); a write of server changes names its doc
   */
  constructor(
    private readonly client: number,
    private readonly inner: PatchesStore = new InMemoryStore(),
    private readonly pause: (serverChangesOf?: string) => Promise<void> = async () => undefined,
  ) {
    this.changes$ = inner.changes$;
  }

  async applyServerChanges(docId: string, update: ServerChangesUpdate): Promise<void> {
    await this.pause(docId);
    // Read just before the write: a guarded write that lands saw exactly this queue (same ids,
    // same committed rev, so the same ops); one that does not land records nothing.
    const before = update.pending ? await this.inner.getPendingChanges(docId) : [];
    await this.inner.applyServerChanges(docId, update);
    let log = this.applied.get(docId);
    if (!log) this.applied.set(docId, (log = []));
    log.push({ at: Date.now(), rev: update.rev, changes: structuredClone(update.changes) });
    if (!update.pending) return;
    const kept = update.pending.map(c => c.id);
    const keep = new Set([...kept, ...update.changes.map(c => c.id)]);
    const gone = before.filter(c => !keep.has(c.id)).map(c => c.id);
    if (gone.length > 0) this.drops.push({ client: this.client, docId, before, applied: structuredClone(update.changes), kept, gone });
  }

  async replacePendingChanges(docId: string, changes: Change[], replacedIds?: readonly string[], expect?: StoreGuard): Promise<void> {
    await this.pause();
    const before = await this.inner.getPendingChanges(docId);
    await this.inner.replacePendingChanges(docId, changes, replacedIds, expect);
    const now = new Set(changes.map(c => c.id));
    const ids = (replacedIds ? before.filter(c => replacedIds.includes(c.id)) : before).filter(c => !now.has(c.id)).map(c => c.id);
    if (ids.length > 0) this.replaced.push({ docId, ids });
  }

  async trackDocs(docIds: string[], algorithm: Algorithm): Promise<void> {
    await this.pause();
    return this.inner.trackDocs(docIds, algorithm);
  }
  async untrackDocs(docIds: string[]): Promise<void> {
    await this.pause();
    return this.inner.untrackDocs(docIds);
  }
  async listDocs(includeDeleted?: boolean): Promise<TrackedDoc[]> {
    await this.pause();
    return this.inner.listDocs(includeDeleted);
  }
  async getDoc<T = unknown>(docId: string): Promise<StoredDoc<T> | undefined> {
    await this.pause();
    return this.inner.getDoc<T>(docId);
  }
  async getCommittedRev(docId: string): Promise<number> {
    await this.pause();
    return this.inner.getCommittedRev(docId);
  }
  async saveDoc(docId: string, snapshot: PatchesState, expect?: StoreGuard): Promise<void> {
    await this.pause();
    return this.inner.saveDoc(docId, snapshot, expect);
  }
  async deleteDoc(docId: string): Promise<void> {
    await this.pause();
    return this.inner.deleteDoc(docId);
  }
  async confirmDeleteDoc(docId: string, expect?: StoreGuard): Promise<void> {
    await this.pause();
    return this.inner.confirmDeleteDoc(docId, expect);
  }
  async getPendingChanges(docId: string): Promise<Change[]> {
    await this.pause();
    return this.inner.getPendingChanges(docId);
  }
  async savePendingChanges(docId: string, changes: Change[], expect?: StoreGuard): Promise<void> {
    await this.pause();
    return this.inner.savePendingChanges(docId, changes, expect);
  }
  async listChanges(docId: string, startAfterRev?: number): Promise<Change[]> {
    await this.pause();
    return this.inner.listChanges(docId, startAfterRev);
  }
  async getPendingOps(docId: string): Promise<JSONPatchOp[]> {
    await this.pause();
    return this.inner.getPendingOps(docId);
  }
  async savePendingOps(docId: string, ops: JSONPatchOp[], pathsToDelete?: string[], expect?: StoreGuard): Promise<void> {
    await this.pause();
    return this.inner.savePendingOps(docId, ops, pathsToDelete, expect);
  }
  async getSendingChange(docId: string): Promise<Change | null> {
    await this.pause();
    return this.inner.getSendingChange(docId);
  }
  async saveSendingChange(docId: string, change: Change, expect?: StoreGuard): Promise<void> {
    await this.pause();
    return this.inner.saveSendingChange(docId, change, expect);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
