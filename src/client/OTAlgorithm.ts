import type { Change, PatchesSnapshot, PatchesState } from '../types.js';
import { applyCommittedChanges, type ApplyCommittedOptions } from '../algorithms/applyCommittedChanges.js';
import { breakChanges } from '../algorithms/batching/breakChanges.js';
import { createChange } from '../algorithms/createChange.js';
import { deepEqual } from '../algorithms/deepEqual.js';
import { diffStates } from '../algorithms/recording/diffStates.js';
import { rebaseChanges } from '../algorithms/rebaseChanges.js';
import { followStoredQueue, sameContent } from '../algorithms/followStoredQueue.js';
import { applyPatch } from '../algorithms/applyPatch.js';
import { StoreConflictError } from '../errors.js';
import type { StoreGuard } from '../stores/PatchesStore.js';
import { readQueue } from '../stores/readQueue.js';
import type { AlgorithmContext, ClientAlgorithm, InstallResult, RegressedRevs } from './ClientAlgorithm.js';
import type { DocLayers, OptimisticChange, PatchesDoc } from './PatchesDoc.js';
import { ClosedStates } from './ClosedStates.js';
import { committedUnchanged, readViewSince } from './readViewSince.js';
import { redoOnRead, retryOnConflict } from './retryOnConflict.js';
import { hasUnsavedEdits, watchEdits } from './unsavedEdits.js';

/**
 * Client side of operational transformation: local changes queue up as pending Changes on the
 * last committed rev; every batch of server changes is applied to the committed state and the
 * whole local queue (pending, then optimistic edits not yet minted) is rebased over it, so every
 * pending change always shares one `baseRev` and can be sent as one batch.
 *
 * Other instances (tabs) may write the same store: every write is guarded by the committed rev
 * and pending queue it was computed from, and on a conflict the open doc first follows the store
 * (`refresh`) and the step is redone.
 */
export class OTAlgorithm implements ClientAlgorithm {
  readonly name = 'ot' as const;
  /**
   * The pending changes (whole, as stored) behind each view this algorithm installed after its
   * own write, so applying server changes to an open doc need not read them back. A view
   * installed by anything else (`refresh` after another tab's write) has none, and is read.
   */
  private readonly pendingOf = new WeakMap<DocLayers, Change[]>();
  /** The committed states of the closed docs it last applied server changes to (see `ClosedStates`). */
  private readonly closedStates = new ClosedStates();

  constructor(private readonly ctx: AlgorithmContext) {}

  mint(docId: string, change: OptimisticChange): Promise<Change[]> {
    return retryOnConflict(() => this.mintOnce(docId, change), () => this.refresh(docId));
  }

  private async mintOnce(docId: string, change: OptimisticChange): Promise<Change[]> {
    const { store } = this.ctx;
    const doc = this.ctx.getOpenDoc(docId);
    // A server batch may have rebased the entry in place since change() recorded it.
    const ops = doc?._optimistic().find(entry => entry.id === change.id)?.ops ?? change.ops;
    if (ops.length === 0) {
      doc?._update(doc._layers(), { minted: [change.id], viewUnchanged: true });
      return [];
    }
    const head = viewHead(doc) ?? (await this.storedHead(docId));
    const committedRev = head.committedRev;
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
    await store.savePendingChanges(docId, changes, head);
    if (doc) {
      const layers = doc._layers();
      const known = this.pendingOf.get(layers);
      // Appended in place, not copied: a copy per save made a long offline session quadratic, and
      // V8 copies an array past ~16,000 entries in milliseconds. The view these arrays belonged to
      // is replaced here, and no step holds it meanwhile (they all run in the doc's queue).
      const local = appended(layers.local, changes.map(c => c.ops));
      const localIds = appended(layers.localIds ?? [], changes.map(c => c.id));
      doc._update({ ...layers, local, localIds }, { minted: [change.id], viewUnchanged: true });
      // The store re-stamped the changes' revs in place: they are now as stored.
      if (known) this.pendingOf.set(doc._layers(), appended(known, changes));
    }
    return changes;
  }

  /** What the store holds now (for a doc that is not open). */
  private async storedHead(docId: string): Promise<Head> {
    const stored = await this.ctx.store.getDoc(docId);
    return { committedRev: stored?.committedRev ?? 0, pendingIds: stored?.pending.map(c => c.id) ?? [], rewinds: stored?.rewinds ?? 0 };
  }

  /**
   * Brings an open doc's view in line with the store after another instance wrote it: the
   * committed state and queue are read back, and the doc's unsaved edits are rebased over what
   * it had not seen (`followStoredQueue`). What changed since the view's rev is read, the state
   * only if needed (`readViewSince`).
   */
  async refresh(docId: string): Promise<void> {
    const news = await readViewSince(this.ctx, docId);
    if (!news) return;
    // Everything below runs without awaiting: no edit can slip in between the rebase and the update.
    const { doc, layers, stored, committedState } = news;
    const { since } = stored;
    const storedIds = stored.pending.map(c => c.id);
    const storedOps = stored.pending.map(c => c.ops);
    const unchanged = committedUnchanged(news);
    if (unchanged && sameIds(storedIds, layers.localIds)) return;
    const optimistic = doc._optimistic();
    // With no unsaved edits there is nothing to rebase: a following tab, the common case, skips two
    // walks over the whole queue on every write it follows.
    let followed: Change[] | undefined;
    if (optimistic.length > 0) {
      const edits = optimistic.map(o => changeOf(o.id, o.ops, layers.committedRev));
      if (layers.localIds) {
        const known = { rev: layers.committedRev, pending: layers.local.map((ops, i) => changeOf(layers.localIds?.[i] ?? '', ops, layers.committedRev)) };
        followed = followStoredQueue(known, since, { rev: stored.committedRev, pending: stored.pending }, edits);
      }
      // The histories do not line up (the rows since the view's rev compacted away, the queue cut
      // or rewritten): the difference between the state the edits were recorded on and the one
      // they now go on stands in for what happened between (as for a server that went back,
      // `rebaseOnce`). Found in review: the edits were kept as they were, on a committed state that
      // had moved, and an edit by index landed on another item. A mere cut differs by nothing.
      if (!followed) {
        const gap = gapChange({ committedState: stateWith(layers.committedState, layers.local), committedRev: layers.committedRev }, { state: stateWith(committedState, storedOps), rev: stored.committedRev });
        const opsById = new Map(rebaseChanges([gap], edits).map(c => [c.id, c.ops]));
        followed = edits.map(c => ({ ...c, ops: opsById.get(c.id) ?? [] }));
      }
    }
    // Only changes appended to the queue the view shows (another tab's offline edits): those are
    // applied on it, not the whole queue. Matched by id and, for the last one shown, by content: a
    // cut keeps the id on its first piece (found in review: the second piece was applied on a
    // view that showed it already).
    const shown = layers.localIds;
    const appended = unchanged && shown && shown.every((id, i) => storedIds[i] === id) && sameContent(layers.local, storedOps) ? stored.pending.slice(shown.length) : undefined;
    doc._update(
      { committedState, committedRev: stored.committedRev, local: storedOps, localIds: storedIds, rewinds: stored.rewinds },
      { optimistic: followed ? followed.map(c => ({ id: c.id, ops: c.ops })) : [...optimistic], onTop: appended?.flatMap(c => c.ops) },
    );
  }

  /**
   * An open doc whose view this algorithm installed after its own write answers from the queue it
   * wrote (the write was guarded, so that was the store's queue then; another instance's later
   * write is announced on the store's `changes$`, and the refresh it starts installs a view that is
   * read). Else a read.
   */
  async hasPending(docId: string): Promise<boolean> {
    if (hasUnsavedEdits(this.ctx, docId)) return true;
    const doc = this.ctx.getOpenDoc(docId);
    const known = doc && this.pendingOf.get(doc._layers());
    if (known) return known.length > 0;
    const editedSince = watchEdits(this.ctx, docId);
    return (await this.ctx.store.getPendingChanges(docId)).length > 0 || editedSince();
  }

  /** What `hasPending` knows without a read, it sends without one: the queue this algorithm wrote last, for an open doc; else a read. */
  async getPendingToSend(docId: string): Promise<Change[]> {
    const doc = this.ctx.getOpenDoc(docId);
    const known = doc && this.pendingOf.get(doc._layers());
    // A copy: edits made while it is out are appended to the known queue in place.
    return known ? known.slice() : this.ctx.store.getPendingChanges(docId);
  }

  async isQueued(docId: string, changeId: string): Promise<boolean> {
    return (await this.ctx.store.getPendingChanges(docId)).some(c => c.id === changeId);
  }

  async replacePending(docId: string, changes: Change[], replaced?: Change[]): Promise<boolean> {
    const replacedIds = replaced?.map(c => c.id);
    // Exactly the queue that was cut, on the rev its changes share (the class comment): another
    // instance that cut or rebased it meanwhile makes this a conflict, and the caller reads again.
    const expect = replaced?.length ? { committedRev: replaced[0].baseRev, pendingIds: replacedIds } : undefined;
    await this.ctx.store.replacePendingChanges(docId, changes, replacedIds, expect);
    const doc = this.ctx.getOpenDoc(docId);
    if (!doc) return true;
    const layers = doc._layers();
    const ids = layers.localIds ?? [];
    if (replacedIds && replacedIds.every((id, i) => ids[i] === id)) {
      // Same content, cut into pieces: the view is unchanged, only its ids follow.
      const n = replacedIds.length;
      doc._update({ ...layers, local: [...changes.map(c => c.ops), ...layers.local.slice(n)], localIds: [...changes.map(c => c.id), ...ids.slice(n)] }, { viewUnchanged: true });
    } else {
      await this.refresh(docId);
    }
    return true;
  }

  applyServerChanges(docId: string, changes: Change[], sent?: Change[], options?: ApplyCommittedOptions<unknown>): Promise<Change[]> {
    return retryOnConflict(() => this.applyOnce(docId, changes, sent, options), () => this.refresh(docId));
  }

  private async applyOnce(docId: string, changes: Change[], sent?: Change[], options?: ApplyCommittedOptions<unknown>): Promise<Change[]> {
    const { store } = this.ctx;
    const doc = this.ctx.getOpenDoc(docId);
    const read = await this.readForApply(docId, true);
    if (!read) return [];
    const { committed, pending, rewinds } = read;
    // The open doc's edits were written on the queue it knows: another instance's additions come first.
    if (doc && !sameIds(pending.map(c => c.id), doc._layers().localIds)) throw new StoreConflictError(docId, 'the view is behind the stored queue');
    const optimistic = doc?._optimistic() ?? [];

    // A sent change missing from the reply was transformed to nothing by the server: it is resolved.
    // It stays in the queue for the rebase and leaves it after: the changes behind it were written
    // on top of it, so the server's changes meet them as carried past it, as the server saw them
    // (found in review: taken out first, they were rebased as if it had never been made, and text
    // typed into a list item while the removal of an item before it was resolved landed in the
    // next item, or was dropped).
    const replied = new Set(changes.map(c => c.id));
    const resolved = new Set((sent ?? []).filter(c => !replied.has(c.id)).map(c => c.id));
    const unresolved = (list: readonly Change[]): Change[] => (resolved.size === 0 ? (list as Change[]) : list.filter(c => !resolved.has(c.id)));
    // Optimistic edits ride at the end of the queue so they are rebased like pending changes.
    const queue: Change[] = [
      ...pending,
      ...optimistic.map(o => changeOf(o.id, o.ops, committed.rev)),
    ];
    const optimisticIds = new Set(optimistic.map(o => o.id));

    let result: ReturnType<typeof applyCommittedChanges>;
    let newPending: Change[];
    try {
      result = applyCommittedChanges(committed, changes, queue, options);
      newPending = unresolved(result.pending.filter(c => !optimisticIds.has(c.id)));
      if (result.applied.length === 0 && newPending.length === pending.length) return [];
      const expect = { committedRev: committed.rev, pendingIds: pending.map(c => c.id), rewinds };
      await store.applyServerChanges(docId, { state: result.state, rev: result.rev, changes: result.applied, pending: newPending, expect, replayable: true });
    } catch (error) {
      if (!read.known) throw error;
      this.pendingOf.delete(read.known);
      throw redoOnRead(docId, error);
    }

    if (!doc) {
      this.closedStates.keep(docId, result.state, result.applied);
    } else {
      const unsaved = unsavedAfterWrite(doc, optimisticIds, result.pending, edits => applyCommittedChanges(committed, changes, [...pending, ...edits], options).pending, committed.rev);
      // The committed state is built from the server's ops, our own included; the view is rebuilt
      // from it unless only our own changes came back, exactly as we assumed them, and no edit arrived meanwhile.
      const echoOnly =
        !unsaved.late && resolved.size === 0 && result.pending.length === queue.length - result.applied.length && echoesAsAssumed(result.applied, queue);
      doc._update(
        { committedState: result.state, committedRev: result.rev, local: newPending.map(c => c.ops), localIds: newPending.map(c => c.id), rewinds },
        { optimistic: unsaved.optimistic, viewUnchanged: echoOnly },
      );
      this.pendingOf.set(doc._layers(), newPending);
    }
    return result.applied;
  }

  installSnapshot(docId: string, snapshot: PatchesSnapshot): Promise<InstallResult> {
    return retryOnConflict(() => this.installOnce(docId, snapshot), () => this.refresh(docId));
  }

  private async installOnce(docId: string, snapshot: PatchesSnapshot): Promise<InstallResult> {
    const { store } = this.ctx;
    const stored = await store.getDoc(docId);
    if (!stored) return 'stale';
    const head = applyCommittedChanges({ state: snapshot.state, rev: snapshot.rev }, snapshot.changes, []);
    if (head.rev <= stored.committedRev) return 'stale';
    const doc = this.ctx.getOpenDoc(docId);
    // Local changes authored on an older state cannot be rebased over a snapshot (it has no ops):
    // send them first and let the server transform them.
    if (stored.pending.length > 0 || (doc && doc._optimistic().length > 0)) return 'flush-first';
    await store.saveDoc(docId, { state: head.state, rev: head.rev }, { committedRev: stored.committedRev, pendingIds: [], rewinds: stored.rewinds ?? 0 });
    if (!doc) return 'installed';
    // An edit made while the write was on its way was recorded on the state the doc showed. Over a
    // catch-up, the difference to the head stands in for the changes it did not see (as in
    // `rebaseOnce`); on a first load it stays as it is (made on no state: the server places it on
    // its head, `docReloadRequired`).
    const shown = doc._layers();
    const optimistic =
      stored.committedRev > 0 ? unsavedAfterWrite(doc, new Set(), [], edits => rebaseChanges([gapChange(shown, head)], edits), shown.committedRev).optimistic : undefined;
    doc._update({ committedState: head.state, committedRev: head.rev, local: [], localIds: [], rewinds: stored.rewinds }, optimistic ? { optimistic } : {});
    return 'installed';
  }

  rebaseOntoServer(docId: string, snapshot: PatchesSnapshot): Promise<RegressedRevs | undefined> {
    return retryOnConflict(() => this.rebaseOnce(docId, snapshot), () => this.refresh(docId));
  }

  private async rebaseOnce(docId: string, snapshot: PatchesSnapshot): Promise<RegressedRevs | undefined> {
    const { store } = this.ctx;
    const read = await this.readForApply(docId);
    if (!read) return undefined;
    const { committed, pending, rewinds } = read;
    const head = applyCommittedChanges({ state: snapshot.state, rev: snapshot.rev }, snapshot.changes, []);
    if (head.rev >= committed.rev) return undefined;
    const doc = this.ctx.getOpenDoc(docId);
    const optimistic = doc?._optimistic() ?? [];
    // No ops lead from our state to the server's, so the difference stands in for them: local
    // changes meet it as they would a concurrent edit (an edit inside something the server no
    // longer has is transformed away, like one inside a concurrent delete).
    const gap = gapChange({ committedState: committed.state, committedRev: committed.rev }, head);
    const rebased = rebaseChanges([gap], [...pending, ...optimistic.map(o => changeOf(o.id, o.ops, committed.rev))]);
    const optimisticIds = new Set(optimistic.map(o => o.id));
    const newPending = rebased.filter(c => !optimisticIds.has(c.id));

    // One atomic write: committed state and rebased queue must never be seen apart (the queue's
    // baseRev would be ahead of the committed rev, or behind on the wrong state).
    await store.applyServerChanges(docId, {
      state: head.state,
      rev: head.rev,
      changes: [],
      pending: newPending,
      regressed: true,
      expect: { committedRev: committed.rev, pendingIds: pending.map(c => c.id), rewinds },
    });
    if (doc) {
      const unsaved = unsavedAfterWrite(doc, optimisticIds, rebased, edits => rebaseChanges([gap], [...pending, ...edits]), committed.rev);
      doc._update(
        // The write went back from the rev the guard named: the store counted one more rewind.
        { committedState: head.state, committedRev: head.rev, local: newPending.map(c => c.ops), localIds: newPending.map(c => c.id), rewinds: rewinds + 1 },
        { optimistic: unsaved.optimistic },
      );
    }
    return { localRev: committed.rev, serverRev: head.rev };
  }

  /** A closed doc's committed state and queue (on the state kept from its last server changes when it still applies). */
  private async readClosed(docId: string): Promise<ApplyBase | undefined> {
    const stored = await this.closedStates.read(this.ctx.store, docId);
    return stored && { committed: { state: stored.state, rev: stored.committedRev }, pending: stored.pending, rewinds: stored.rewinds ?? 0 };
  }

  /**
   * The committed state and pending queue a step computes on. An open doc holds its committed
   * state, and with `useKnown` its queue too when this algorithm wrote it last (`known`: no read
   * at all; the step's guarded write finds any other tab's write since); otherwise the rev and
   * queue are read (not the document).
   */
  private async readForApply(docId: string, useKnown = false): Promise<ApplyBase | undefined> {
    const doc = this.ctx.getOpenDoc(docId);
    if (!doc) return this.readClosed(docId);
    const layers = doc._layers();
    const known = useKnown ? this.pendingOf.get(layers) : undefined;
    if (known) return { committed: { state: layers.committedState, rev: layers.committedRev }, pending: known, rewinds: layers.rewinds ?? 0, known: layers };
    const queue = await readQueue(this.ctx.store, docId);
    if (!queue) return undefined;
    const now = doc._layers();
    // Another instance moved the committed state on: the view must follow before anything is
    // computed on it. (One that took it back and forth again to the same rev fails the guard.)
    if (queue.committedRev !== now.committedRev) throw new StoreConflictError(docId, `committedRev ${queue.committedRev} ≠ the view's ${now.committedRev}`);
    return { committed: { state: now.committedState, rev: now.committedRev }, pending: queue.pending, rewinds: now.rewinds ?? 0 };
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

/** What a step applying server changes computes on, and the guard of its write: `rewinds` as the committed state was read. */
interface ApplyBase {
  committed: PatchesState;
  pending: Change[];
  rewinds: number;
  /** The open doc's layers, when the queue is the one this algorithm wrote last (nothing was read). */
  known?: DocLayers;
}

/** The committed rev and queue a change is written on. */
type Head = Required<Pick<StoreGuard, 'committedRev' | 'pendingIds'>> & Pick<StoreGuard, 'rewinds'>;

/** `list` with `items` pushed onto it (the same array: its owner's old view is replaced with the new one). */
function appended<T>(list: T[], items: readonly T[]): T[] {
  for (const item of items) list.push(item);
  return list;
}

/** What the open doc's view was built from, if it knows its queue's ids. */
function viewHead(doc: PatchesDoc<object> | undefined): Head | undefined {
  const layers = doc?._layers();
  return layers?.localIds ? { committedRev: layers.committedRev, pendingIds: layers.localIds, rewinds: layers.rewinds ?? 0 } : undefined;
}

function sameIds(a: readonly string[], b: readonly string[] | undefined): boolean {
  return b !== undefined && a.length === b.length && a.every((id, i) => id === b[i]);
}

/**
 * The doc's unsaved edits once a step that rebased them (as `rebasedFor`, giving `rebased`) has
 * written the store, each with its rebased ops (none when rebased away). Edits made during the
 * write were authored on the old view too: then the rebase is done again with every edit the doc
 * holds (`rebase` takes them as queue entries on `baseRev` and returns the rebased queue).
 * `late` says whether any came.
 */
function unsavedAfterWrite(
  doc: PatchesDoc<object>,
  rebasedFor: ReadonlySet<string>,
  rebased: readonly Change[],
  rebase: (edits: Change[]) => readonly Change[],
  baseRev: number,
): { optimistic: OptimisticChange[]; late: boolean } {
  const now = [...doc._optimistic()];
  const late = now.some(o => !rebasedFor.has(o.id));
  const ops = new Map((late ? rebase(now.map(o => changeOf(o.id, o.ops, baseRev))) : rebased).map(c => [c.id, c.ops]));
  return { optimistic: now.map(o => ({ id: o.id, ops: ops.get(o.id) ?? [] })), late };
}

/** `state` with the queue's `ops` applied, as a view shows it (leniently where an op no longer applies strictly). */
function stateWith(state: unknown, ops: readonly Change['ops'][]): unknown {
  const all = ops.flat();
  if (all.length === 0) return state ?? {};
  try {
    return applyPatch(state ?? {}, all);
  } catch {
    return applyPatch(state ?? {}, all, { mode: 'lenient' });
  }
}

/**
 * A stand-in for the changes between the state local edits were recorded on and the one they now
 * go on, when no ops lead from one to the other (a snapshot, or history the store compacted): the
 * difference of the two, as one change the edits are rebased over like a concurrent edit (an edit
 * inside something the other state no longer has is transformed away, like one inside a
 * concurrent delete). Only its ops matter to the rebase.
 */
function gapChange(from: Pick<DocLayers, 'committedState' | 'committedRev'>, to: PatchesState<unknown>): Change {
  return createChange(diffStates(from.committedState ?? {}, to.state ?? {}), { id: `gap-${from.committedRev}-${to.rev}`, baseRev: to.rev, rev: to.rev, createdAt: 0 });
}

/** A queue entry for the rebase: only the id and ops matter. */
function changeOf(id: string, ops: Change['ops'], baseRev: number): Change {
  return createChange(ops, { id, baseRev, rev: baseRev + 1, createdAt: 0 });
}
