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

/** A method of the store contract. */
export type StoreMethod = Exclude<keyof PatchesStore, 'changes$'>;

/** Options of {@link RecordingStore}. */
export interface RecordingStoreOptions {
  /**
   * Awaited before every call reaches the store (the fuzz's `slowStore`: a store whose calls take
   * a while, as IndexedDB's do on a busy machine, so edits, frames and other tabs' writes land
   * while a call is on its way); a write of server changes names its doc.
   */
  pause?: (serverChangesOf?: string) => Promise<void>;
  /** Asked before each call of {@link FAULTABLE_STORE_METHODS}: an error to throw instead of running it (`ConvergenceOptions.storeFaults`), or `undefined`. */
  fault?: (method: StoreMethod) => Error | undefined;
  /** Told the ids of the new pieces a split (`replacePendingChanges`) put in the queue: OT changes the library minted, not the user. */
  split?: (docId: string, pieceIds: string[]) => void;
}

/**
 * The store calls that may fail under `storeFaults`: the ones the sync engine makes on its own and
 * must redo (reading what to send and the doc's status, writing server changes and the change in
 * flight). Never a call whose failure goes back to the caller by contract (`openDoc`'s read, an
 * edit's save, track, untrack, delete): the script would have to play a user who retries them.
 * An edit's save that meets another instance's write still reads the doc again through
 * `listChanges` (the refresh behind its retry), so faults can fail a save that way (three in a
 * row, `retryOnConflict`): rolled back and reported, as `doc.change()` documents (the oracle
 * excuses such a witness by its id).
 */
export const FAULTABLE_STORE_METHODS: readonly StoreMethod[] = ['applyServerChanges', 'getCommittedRev', 'getPendingChanges', 'listChanges', 'getPendingOps', 'saveSendingChange'];

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
  /** Ids `replacePendingChanges` took out of the queue and put in no piece: a split keeps each change's id on its first piece, so none is expected. */
  readonly replaced: { docId: string; ids: string[] }[] = [];
  /** Every committed change this store applied, per doc, with the rev it moved to (for diagnosis). */
  readonly applied = new Map<string, { at: number; rev: number; changes: Change[] }[]>();
  readonly changes$?: Observable<StoreChange>;

  private readonly pause: (serverChangesOf?: string) => Promise<void>;

  /**
   * @param client the client's index (named in each drop)
   * @param inner the store it wraps
   * @param options how it misbehaves, and whom it tells
   */
  constructor(
    private readonly client: number,
    private readonly inner: PatchesStore = new InMemoryStore(),
    private readonly options: RecordingStoreOptions = {},
  ) {
    this.changes$ = inner.changes$;
    this.pause = options.pause ?? (async () => undefined);
  }

  async applyServerChanges(docId: string, update: ServerChangesUpdate): Promise<void> {
    await this.enter('applyServerChanges', docId);
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
    await this.enter('replacePendingChanges');
    const before = await this.inner.getPendingChanges(docId);
    await this.inner.replacePendingChanges(docId, changes, replacedIds, expect);
    const had = new Set(before.map(c => c.id));
    const pieces = changes.map(c => c.id).filter(id => !had.has(id));
    if (pieces.length > 0) this.options.split?.(docId, pieces);
    const now = new Set(changes.map(c => c.id));
    const ids = (replacedIds ? before.filter(c => replacedIds.includes(c.id)) : before).filter(c => !now.has(c.id)).map(c => c.id);
    if (ids.length > 0) this.replaced.push({ docId, ids });
  }

  async trackDocs(docIds: string[], algorithm: Algorithm): Promise<void> {
    await this.enter('trackDocs');
    return this.inner.trackDocs(docIds, algorithm);
  }
  async untrackDocs(docIds: string[]): Promise<void> {
    await this.enter('untrackDocs');
    return this.inner.untrackDocs(docIds);
  }
  async listDocs(includeDeleted?: boolean): Promise<TrackedDoc[]> {
    await this.enter('listDocs');
    return this.inner.listDocs(includeDeleted);
  }
  async getDoc<T = unknown>(docId: string): Promise<StoredDoc<T> | undefined> {
    await this.enter('getDoc');
    return this.inner.getDoc<T>(docId);
  }
  async getCommittedRev(docId: string): Promise<number> {
    await this.enter('getCommittedRev');
    return this.inner.getCommittedRev(docId);
  }
  async saveDoc(docId: string, snapshot: PatchesState, expect?: StoreGuard): Promise<void> {
    await this.enter('saveDoc');
    return this.inner.saveDoc(docId, snapshot, expect);
  }
  async deleteDoc(docId: string): Promise<void> {
    await this.enter('deleteDoc');
    return this.inner.deleteDoc(docId);
  }
  async confirmDeleteDoc(docId: string, expect?: StoreGuard): Promise<void> {
    await this.enter('confirmDeleteDoc');
    return this.inner.confirmDeleteDoc(docId, expect);
  }
  async getPendingChanges(docId: string): Promise<Change[]> {
    await this.enter('getPendingChanges');
    return this.inner.getPendingChanges(docId);
  }
  async savePendingChanges(docId: string, changes: Change[], expect?: StoreGuard): Promise<void> {
    await this.enter('savePendingChanges');
    return this.inner.savePendingChanges(docId, changes, expect);
  }
  async listChanges(docId: string, startAfterRev?: number): Promise<Change[]> {
    await this.enter('listChanges');
    return this.inner.listChanges(docId, startAfterRev);
  }
  async getPendingOps(docId: string): Promise<JSONPatchOp[]> {
    await this.enter('getPendingOps');
    return this.inner.getPendingOps(docId);
  }
  async savePendingOps(docId: string, ops: JSONPatchOp[], pathsToDelete?: string[], expect?: StoreGuard): Promise<void> {
    await this.enter('savePendingOps');
    return this.inner.savePendingOps(docId, ops, pathsToDelete, expect);
  }
  async getSendingChange(docId: string): Promise<Change | null> {
    await this.enter('getSendingChange');
    return this.inner.getSendingChange(docId);
  }
  async saveSendingChange(docId: string, change: Change, expect?: StoreGuard): Promise<void> {
    await this.enter('saveSendingChange');
    return this.inner.saveSendingChange(docId, change, expect);
  }
  close(): Promise<void> {
    return this.inner.close();
  }

  /** Before a call reaches the store: the pause, then the fault, if the call may fail and one is drawn. */
  private async enter(method: StoreMethod, serverChangesOf?: string): Promise<void> {
    await this.pause(serverChangesOf);
    const error = FAULTABLE_STORE_METHODS.includes(method) ? this.options.fault?.(method) : undefined;
    if (error) throw error;
  }
}
