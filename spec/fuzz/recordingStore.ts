import { InMemoryStore } from '../../src/stores/InMemoryStore.js';
import type { ServerChangesUpdate } from '../../src/stores/PatchesStore.js';
import type { Change } from '../../src/types.js';

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
 * An `InMemoryStore` that notes every write dropping pending OT changes, so the fuzz can check
 * afterwards that each drop was legitimate (an echo, a change the server transformed away, or
 * one the client's own rebase emptied). It behaves exactly like the store it extends; one
 * instance outlives the client "restarts" of the fuzz, as IndexedDB outlives a page.
 */
export class RecordingStore extends InMemoryStore {
  /** Every dropping write, in order. */
  readonly drops: PendingDrop[] = [];
  /** Ids taken out by `replacePendingChanges` (splits); none are expected with small edits. */
  readonly replaced: { docId: string; ids: string[] }[] = [];

  constructor(private readonly client: number) {
    super();
  }

  /** Every committed change this store applied, per doc, with the rev it moved to (for diagnosis). */
  readonly applied = new Map<string, { at: number; rev: number; changes: Change[] }[]>();

  override async applyServerChanges(docId: string, update: ServerChangesUpdate): Promise<void> {
    let log = this.applied.get(docId);
    if (!log) this.applied.set(docId, (log = []));
    log.push({ at: Date.now(), rev: update.rev, changes: structuredClone(update.changes) });
    const before = update.pending ? await super.getPendingChanges(docId) : [];
    await super.applyServerChanges(docId, update);
    if (!update.pending) return;
    const kept = update.pending.map(c => c.id);
    const keep = new Set([...kept, ...update.changes.map(c => c.id)]);
    const gone = before.filter(c => !keep.has(c.id)).map(c => c.id);
    if (gone.length > 0) this.drops.push({ client: this.client, docId, before, applied: structuredClone(update.changes), kept, gone });
  }

  override async replacePendingChanges(docId: string, changes: Change[]): Promise<void> {
    const before = await super.getPendingChanges(docId);
    await super.replacePendingChanges(docId, changes);
    const now = new Set(changes.map(c => c.id));
    const ids = before.filter(c => !now.has(c.id)).map(c => c.id);
    if (ids.length > 0) this.replaced.push({ docId, ids });
  }
}
