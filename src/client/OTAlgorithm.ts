import type { Change, PatchesSnapshot, PatchesState } from '../types.js';
import { applyCommittedChanges } from '../algorithms/applyCommittedChanges.js';
import { breakChanges } from '../algorithms/breakChanges.js';
import { createChange } from '../algorithms/createChange.js';
import { deepEqual } from '../algorithms/deepEqual.js';
import { diffStates } from '../algorithms/diffStates.js';
import { rebaseChanges } from '../algorithms/rebaseChanges.js';
import type { AlgorithmContext, ClientAlgorithm, InstallResult, RegressedRevs } from './ClientAlgorithm.js';
import type { OptimisticChange } from './PatchesDoc.js';

/**
 * Client side of operational transformation: local changes queue up as pending Changes on the
 * last committed rev; every batch of server changes is applied to the committed state and the
 * whole local queue (pending, then optimistic edits not yet minted) is rebased over it, so every
 * pending change always shares one `baseRev` and can be sent as one batch.
 */
export class OTAlgorithm implements ClientAlgorithm {
  readonly name = 'ot' as const;

  constructor(private readonly ctx: AlgorithmContext) {}

  async mint(docId: string, change: OptimisticChange): Promise<Change[]> {
    const { store } = this.ctx;
    const doc = this.ctx.getOpenDoc(docId);
    // A server batch may have rebased the entry in place since change() recorded it.
    const ops = doc?._optimistic().find(entry => entry.id === change.id)?.ops ?? change.ops;
    if (ops.length === 0) {
      doc?._update(doc._layers(), { minted: [change.id], viewUnchanged: true });
      return [];
    }
    const committedRev = doc ? doc.committedRev : await store.getCommittedRev(docId);
    const minted = createChange(ops, {
      id: change.id,
      baseRev: committedRev,
      rev: committedRev + 1,
      createdAt: this.ctx.clock(),
      metadata: this.ctx.metadataFor(docId),
    });
    const { maxStorageBytes, sizeCalculator } = this.ctx;
    // An op too big to split is still stored: losing the edit is worse; the send reports it.
    const changes = maxStorageBytes ? breakChanges([minted], maxStorageBytes, { sizeCalculator, docId, maxUnsplittableBytes: Infinity }) : [minted];
    await store.savePendingChanges(docId, changes);
    if (doc) {
      const layers = doc._layers();
      doc._update({ ...layers, local: [...layers.local, ...changes.map(c => c.ops)] }, { minted: [change.id], viewUnchanged: true });
    }
    return changes;
  }

  async hasPending(docId: string): Promise<boolean> {
    const doc = this.ctx.getOpenDoc(docId);
    if (doc && doc._optimistic().length > 0) return true;
    return (await this.ctx.store.getPendingChanges(docId)).length > 0;
  }

  getPendingToSend(docId: string): Promise<Change[]> {
    return this.ctx.store.getPendingChanges(docId);
  }

  async isQueued(docId: string, changeId: string): Promise<boolean> {
    return (await this.ctx.store.getPendingChanges(docId)).some(c => c.id === changeId);
  }

  async replacePending(docId: string, changes: Change[]): Promise<void> {
    await this.ctx.store.replacePendingChanges(docId, changes);
    const doc = this.ctx.getOpenDoc(docId);
    if (doc) doc._update({ ...doc._layers(), local: changes.map(c => c.ops) }, { viewUnchanged: true });
  }

  async applyServerChanges(docId: string, changes: Change[], sent?: Change[]): Promise<Change[]> {
    const { store } = this.ctx;
    const doc = this.ctx.getOpenDoc(docId);
    const committed = await this.committed(docId);
    if (!committed) return [];
    const pending = await store.getPendingChanges(docId);
    const optimistic = doc?._optimistic() ?? [];

    // A sent change missing from the reply was transformed to nothing by the server: it is resolved.
    const replied = new Set(changes.map(c => c.id));
    const resolved = new Set((sent ?? []).filter(c => !replied.has(c.id)).map(c => c.id));
    const stillPending = pending.filter(c => !resolved.has(c.id));
    // Optimistic edits ride at the end of the queue so they are rebased like pending changes.
    const queue: Change[] = [
      ...stillPending,
      ...optimistic.map(o => createChange(o.ops, { id: o.id, baseRev: committed.rev, rev: 0, createdAt: 0 })),
    ];

    const result = applyCommittedChanges(committed, changes, queue);
    const optimisticIds = new Set(optimistic.map(o => o.id));
    const newPending = result.pending.filter(c => !optimisticIds.has(c.id));
    if (result.applied.length === 0 && newPending.length === pending.length) return [];

    const rebased = new Map(result.pending.map(c => [c.id, c.ops]));
    const newOptimistic = optimistic.map(o => ({ id: o.id, ops: rebased.get(o.id) ?? [] }));
    await store.applyServerChanges(docId, { state: result.state, rev: result.rev, changes: result.applied, pending: newPending });

    if (doc) {
      // The committed state is built from the server's ops, our own included; the view is
      // rebuilt from it unless the server committed exactly what we assumed.
      const asAssumed = resolved.size === 0 && result.pending.length === queue.length - result.applied.length && echoesAsAssumed(result.applied, queue);
      doc._update(
        { committedState: result.state, committedRev: result.rev, local: newPending.map(c => c.ops) },
        { optimistic: newOptimistic, viewUnchanged: asAssumed },
      );
    }
    return result.applied;
  }

  async installSnapshot(docId: string, snapshot: PatchesSnapshot): Promise<InstallResult> {
    const { store } = this.ctx;
    const stored = await store.getDoc(docId);
    if (!stored) return 'stale';
    const head = applyCommittedChanges({ state: snapshot.state, rev: snapshot.rev }, snapshot.changes, []);
    if (head.rev <= stored.committedRev) return 'stale';
    const doc = this.ctx.getOpenDoc(docId);
    // Local changes authored on an older state cannot be rebased over a snapshot (it has no ops):
    // send them first and let the server transform them.
    if (stored.pending.length > 0 || (doc && doc._optimistic().length > 0)) return 'flush-first';
    await store.saveDoc(docId, { state: head.state, rev: head.rev });
    doc?._update({ committedState: head.state, committedRev: head.rev, local: [] });
    return 'installed';
  }

  async rebaseOntoServer(docId: string, snapshot: PatchesSnapshot): Promise<RegressedRevs | undefined> {
    const { store } = this.ctx;
    const committed = await this.committed(docId);
    if (!committed) return undefined;
    const head = applyCommittedChanges({ state: snapshot.state, rev: snapshot.rev }, snapshot.changes, []);
    if (head.rev >= committed.rev) return undefined;
    const doc = this.ctx.getOpenDoc(docId);
    const pending = await store.getPendingChanges(docId);
    const optimistic = doc?._optimistic() ?? [];
    const queue: Change[] = [
      ...pending,
      ...optimistic.map(o => createChange(o.ops, { id: o.id, baseRev: committed.rev, rev: 0, createdAt: 0 })),
    ];
    // No ops lead from our state to the server's, so the difference stands in for them: local
    // changes meet it as they would a concurrent edit (an edit inside something the server no
    // longer has is transformed away, like one inside a concurrent delete).
    const gap = createChange(diffStates(committed.state ?? {}, head.state ?? {}), { id: `rev-regressed-${head.rev}`, baseRev: head.rev, rev: head.rev, createdAt: 0 });
    const rebased = rebaseChanges([gap], queue);
    const optimisticIds = new Set(optimistic.map(o => o.id));
    const newPending = rebased.filter(c => !optimisticIds.has(c.id));
    const rebasedOps = new Map(rebased.map(c => [c.id, c.ops]));

    // One atomic write: committed state and rebased queue must never be seen apart (the queue's
    // baseRev would be ahead of the committed rev, or behind on the wrong state).
    await store.applyServerChanges(docId, { state: head.state, rev: head.rev, changes: [], pending: newPending });
    doc?._update(
      { committedState: head.state, committedRev: head.rev, local: newPending.map(c => c.ops) },
      { optimistic: optimistic.map(o => ({ id: o.id, ops: rebasedOps.get(o.id) ?? [] })) },
    );
    return { localRev: committed.rev, serverRev: head.rev };
  }

  private async committed(docId: string): Promise<PatchesState | undefined> {
    const doc = this.ctx.getOpenDoc(docId);
    if (doc) {
      const layers = doc._layers();
      return { state: layers.committedState, rev: layers.committedRev };
    }
    const stored = await this.ctx.store.getDoc(docId);
    return stored && { state: stored.state, rev: stored.committedRev };
  }
}

/**
 * True when the server's changes are our first queued changes coming back with the very ops we
 * queued: the committed state then moved to what the view already showed. A server whose
 * transform placed an own change elsewhere (another tie-break, say) fails this, and the view is
 * rebuilt from the server's committed state plus what is still pending.
 */
function echoesAsAssumed(applied: readonly Change[], queue: readonly Change[]): boolean {
  return applied.every((change, index) => queue[index]?.id === change.id && deepEqual(queue[index].ops, change.ops));
}
