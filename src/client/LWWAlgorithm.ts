import type { Change, JSONPatchOp, PatchesSnapshot } from '../types.js';
import { MissingChangesError, ServerRevisionRegressedError } from '../errors.js';
import { applyPatch } from '../algorithms/applyPatch.js';
import { consolidateOps } from '../algorithms/lww/consolidateOps.js';
import { afterWrite, byPathOrder, isInPathOrder, opsMeeting } from '../algorithms/lww/pathOrder.js';
import { opsParentsFirst, parentsFirst } from '../algorithms/lww/parentsFirst.js';
import { opsOnTop } from '../algorithms/lww/opsOnTop.js';
import { createChange } from '../algorithms/createChange.js';
import type { StoredDoc } from '../stores/PatchesStore.js';
import { deepEqual } from '../algorithms/deepEqual.js';
import type { AlgorithmContext, ClientAlgorithm, InstallResult, RegressedRevs } from './ClientAlgorithm.js';
import { redoOnRead, retryOnConflict } from './retryOnConflict.js';
import { hasUnsavedEdits, watchEdits } from './unsavedEdits.js';
import { readQueue } from '../stores/readQueue.js';
import { committedUnchanged, readViewSince } from './readViewSince.js';
import type { DocLayers, OptimisticChange, PatchesDoc } from './PatchesDoc.js';
import { ClosedStates } from './ClosedStates.js';
import { StampFloors } from './StampFloors.js';

/**
 * Client side of last-write-wins: local ops are timestamped and consolidated per path into a
 * pending set; a send moves them into one "sending" change that is resent unchanged (same id)
 * until the server confirms it. The server is the judge of every conflict, so the client only
 * applies what the server stored, in order, and shows its own unconfirmed ops on top.
 *
 * Other instances (tabs) may write the same store: each write is guarded by what it was computed
 * from (pending ops, in-flight change, committed rev) and redone from a fresh read on a conflict.
 */
export class LWWAlgorithm implements ClientAlgorithm {
  readonly name = 'lww' as const;
  /**
   * The in-flight change (as stored) behind each view this algorithm installed after its own
   * write, so applying server changes to an open doc need not read it back: the view holds the
   * rest (committed rev and state, pending ops). A view installed by anything else (`refresh`
   * after another tab's write) has none, and is read.
   */
  private readonly sendingOf = new WeakMap<DocLayers, { sending: Change | null }>();
  /** The committed states of the closed docs it last applied server changes to (see `ClosedStates`). */
  private readonly closedStates = new ClosedStates();
  /** Pending-op lists known to be in path order (built by `mintOnce`, or checked once). */
  private readonly pathOrdered = new WeakSet<readonly JSONPatchOp[]>();
  /** What each open doc's next stamp may not go below. */
  private readonly stamps = new StampFloors();

  constructor(private readonly ctx: AlgorithmContext) {}

  /**
   * An edit's freshly recorded ops, each stamped with its `ts`: the clock, never below a stamp
   * the open doc has given or seen (`StampFloors`), so a clock stepped back cannot make the
   * user's later edit lose to their earlier one.
   */
  stamped(doc: PatchesDoc<object>, ops: readonly JSONPatchOp[]): JSONPatchOp[] {
    const ts = this.stamps.stamp(doc, this.ctx.clock(), () => doc._layers().local);
    return ops.map((op): JSONPatchOp => ({ ...op, ts }));
  }

  /**
   * A handle just opened on `stored`: its stamp floor starts from the one the store keeps with
   * the doc (`StoredDoc.stampFloor`), so an edit after a reopen or a reload is stamped after
   * what the doc committed before, whatever the clock did meanwhile.
   */
  opened(doc: PatchesDoc<object>, stored: Pick<StoredDoc, 'stampFloor'> | undefined): void {
    this.stamps.raise(doc, stored?.stampFloor);
  }

  /**
   * Shows new layers on the open doc, its stamp floor first raised to the local ops among them it
   * may not have seen (`seen`, by default all: another tab's, read from the store), so the edits
   * recorded again on them, and the next ones, are stamped after them.
   */
  private install(doc: PatchesDoc<object>, layers: DocLayers, options: Parameters<PatchesDoc<object>['_update']>[1], seen: Iterable<JSONPatchOp> = layers.local.flat()): void {
    this.stamps.saw(doc, seen);
    doc._update(layers, options);
  }

  mint(docId: string, change: OptimisticChange): Promise<Change[]> {
    return retryOnConflict(() => this.mintOnce(docId, change), () => this.refresh(docId));
  }

  private async mintOnce(docId: string, minted: OptimisticChange): Promise<Change[]> {
    const { store } = this.ctx;
    const doc = this.ctx.getOpenDoc(docId);
    // The edit as the doc holds it now: re-recorded if the view moved since `change()`.
    const change = doc?._optimistic().find(c => c.id === minted.id) ?? minted;
    // The edit was recorded on the open doc's view: if the store moved past that view (another
    // tab's pending ops or commit), the write conflicts, the view follows the store and the edit
    // is recorded again on it (refresh), so a stale whole-object write cannot erase the other tab's.
    // The write is guarded by the view's pending ops, so those are what it consolidates with: no read.
    const view = doc?._layers();
    const existing = view ? (view.local[1] ?? []) : await store.getPendingOps(docId);
    // Only the pending ops at, above or below the edit's paths take part (found by binary search).
    const sorted = this.inPathOrder(existing);
    const { opsToSave, pathsToDelete, opsToReturn } = consolidateOps(opsMeeting(sorted, change.ops.map(op => op.path)), change.ops);
    await store.savePendingOps(docId, opsToSave, pathsToDelete, view ? { pendingOps: existing, committedRev: view.committedRev, rewinds: view.rewinds ?? 0 } : { pendingOps: existing });
    if (doc) {
      // The new pending set, built in memory (no store read).
      const layers = doc._layers();
      const known = this.sendingOf.get(layers);
      // Without corrections the view already shows these ops (optimistically): no recompute per edit.
      const pending = afterWrite(sorted, opsToSave, pathsToDelete);
      this.pathOrdered.add(pending);
      // The edit is stamped after every op the view shows (`stamped`), so none of those outlives it.
      doc._update({ ...layers, local: [layers.local[0] ?? [], pending] }, { minted: [change.id], viewUnchanged: opsToReturn.length === 0 });
      if (known) this.sendingOf.set(doc._layers(), known);
    }
    if (opsToSave.length === 0 && pathsToDelete.length === 0) return [];
    const committedRev = doc ? doc.committedRev : await store.getCommittedRev(docId);
    return [createChange(change.ops, { id: change.id, baseRev: committedRev, rev: committedRev + 1, createdAt: this.ctx.clock() })];
  }

  /**
   * Pending ops in path order, as stores hand them out (checked once per list; a store of
   * someone else's that does not keep the order gets a sorted copy, its own list still guards the write).
   */
  private inPathOrder(ops: readonly JSONPatchOp[]): readonly JSONPatchOp[] {
    if (this.pathOrdered.has(ops)) return ops;
    const sorted = isInPathOrder(ops) ? ops : [...ops].sort(byPathOrder);
    this.pathOrdered.add(sorted);
    return sorted;
  }

  async hasPending(docId: string): Promise<boolean> {
    if (hasUnsavedEdits(this.ctx, docId)) return true;
    // A view installed after this algorithm's own (guarded) write holds what it wrote: its pending
    // ops and the in-flight change. Another instance's later write starts a refresh, read as below.
    const layers = this.ctx.getOpenDoc(docId)?._layers();
    const known = layers && this.sendingOf.get(layers);
    if (layers && known) return known.sending !== null || (layers.local[1]?.length ?? 0) > 0;
    const editedSince = watchEdits(this.ctx, docId);
    // Pending ops and the sending change in one read: read apart, another tab's send moving the
    // ops from one to the other between the reads could be seen in neither.
    const queue = await readQueue(this.ctx.store, docId);
    return (queue !== undefined && (queue.pendingOps.length > 0 || queue.sending !== null)) || editedSince();
  }

  getPendingToSend(docId: string): Promise<Change[]> {
    return retryOnConflict(() => this.pendingToSendOnce(docId), () => this.refresh(docId));
  }

  private async pendingToSendOnce(docId: string): Promise<Change[]> {
    const { store } = this.ctx;
    // An open doc whose view this algorithm installed after its own write holds the queue (as
    // `hasPending` says); the guarded write below finds any other tab's write since. Else a read.
    const layers = this.ctx.getOpenDoc(docId)?._layers();
    const known = layers && this.sendingOf.get(layers);
    const queue = layers && known ? { sending: known.sending, pendingOps: layers.local[1] ?? [], committedRev: layers.committedRev } : await readQueue(store, docId);
    if (!queue) return [];
    const { sending, pendingOps: ops, committedRev } = queue;
    // A retry resends the same change (same id) so the server can recognise it. After the server
    // went back in time it goes out on the rev the doc is at now.
    if (sending) return [sending.baseRev > committedRev ? { ...sending, baseRev: committedRev, rev: committedRev + 1 } : sending];
    if (ops.length === 0) return [];
    const change = createChange(ops, { baseRev: committedRev, rev: committedRev + 1, createdAt: this.ctx.clock() });
    await store.saveSendingChange(docId, change, { sendingId: null, pendingOps: ops, committedRev });
    // The open doc's layers must follow the move: a later mint builds on them. Ops another tab
    // saved that the view has not heard of yet are shown now (a refresh after this would find the
    // layers equal and skip), and unsaved edits are recorded again on them.
    const doc = this.ctx.getOpenDoc(docId);
    if (doc) {
      const layers = doc._layers();
      const seen = deepEqual(layers.local.flat(), ops);
      this.install(doc, { ...layers, local: [change.ops, []] }, seen ? { viewUnchanged: true } : { rerecord: true }, seen ? [] : ops);
      this.sendingOf.set(doc._layers(), { sending: change });
    }
    return [change];
  }

  async isQueued(docId: string, changeId: string): Promise<boolean> {
    return (await this.ctx.store.getSendingChange(docId))?.id === changeId;
  }

  async replacePending(): Promise<boolean> {
    // The store keeps the one sending change whole: a reply clears it only once every piece was
    // answered (`DocSync`), so pieces a dropped connection left unsent are sent again.
    return false;
  }

  applyServerChanges(docId: string, changes: Change[], sent?: Change[]): Promise<Change[]> {
    // Stored, replayed and applied with every row before the rows below it, whatever the server's order.
    const ordered = changes.map(parentsFirst);
    return retryOnConflict(() => this.applyOnce(docId, ordered, sent), () => this.refresh(docId));
  }

  /** Brings an open doc's view in line with the store after another instance wrote it (`readViewSince`). */
  async refresh(docId: string): Promise<void> {
    const news = await readViewSince(this.ctx, docId, {});
    if (!news) return;
    const { doc, layers: current, stored, committedState: state } = news;
    // Another tab's writes raised the stored floor (its edits, the rows its connection applied).
    this.stamps.raise(doc, stored.stampFloor);
    const layers = layersOf({ ...stored, state }, state);
    // Unless the committed state moved, only the local layers can differ.
    if (!committedUnchanged(news) || !deepEqual(current.local[0] ?? [], layers.local[0])) {
      // The leading tab's send of this tab's edits, confirmed, often changes nothing shown here.
      this.install(doc, layers, { rerecord: true, keepIfEqual: true });
      return;
    }
    // Another tab's write of a few pending ops (an offline session it is making): those are applied on the view, not all.
    const before = current.local[1] ?? [];
    const onTop = opsOnTop(before, layers.local[1]);
    if (onTop?.length === 0 || (!onTop && deepEqual(before, layers.local[1]))) return;
    this.install(doc, layers, { rerecord: true, onTop }, onTop ?? layers.local.flat());
  }

  private async applyOnce(docId: string, changes: Change[], sent?: Change[]): Promise<Change[]> {
    const doc = this.ctx.getOpenDoc(docId);
    const layers = doc?._layers();
    const known = layers && this.sendingOf.get(layers);
    if (!doc || !layers || !known) return this.applyOn(await this.readForApply(docId, layers), doc, docId, changes, sent);
    const stored: StoredDoc = { docId, algorithm: 'lww', state: layers.committedState, committedRev: layers.committedRev, pending: [], pendingOps: layers.local[1] ?? [], sending: known.sending, rewinds: layers.rewinds };
    try {
      return await this.applyOn(stored, doc, docId, changes, sent);
    } catch (error) {
      this.sendingOf.delete(layers);
      throw redoOnRead(docId, error);
    }
  }

  private async applyOn(stored: StoredDoc | undefined, doc: PatchesDoc<object> | undefined, docId: string, changes: Change[], sent?: Change[]): Promise<Change[]> {
    const { store } = this.ctx;
    if (!stored) return [];
    const committedState = stored.state;
    // Only a send the store still holds is ours: a doc untracked (its data purged) and tracked
    // again while the send was out holds nothing of it, and the reply is a server change like any
    // other (applied across a gap, it would be a head rev with only its own ops: fuzz finding O).
    const sentIds = new Set((sent ?? []).filter(c => c.id === stored.sending?.id).map(c => c.id));
    const alreadyApplied = await this.appliedOwnChanges(docId, changes, sentIds, stored.committedRev);

    // A healthy server answers a commit at or past the rev it was sent on.
    const sentOn = Math.max(-1, ...(sent ?? []).map(c => c.baseRev));
    const reply = changes.find(c => sentIds.has(c.id));
    if (reply && reply.rev < sentOn) throw new ServerRevisionRegressedError(docId, stored.committedRev, reply.rev);

    let cursor = stored.committedRev;
    const effective: Change[] = [];
    for (const change of changes) {
      if (alreadyApplied.has(change.id)) {
        continue; // another tab on this store received it first (it was broadcast to that tab's connection)
      } else if (sentIds.has(change.id)) {
        // The reply to our own send applies even when its revs look old.
      } else if (change.rev <= cursor && change.baseRev < cursor) {
        continue; // stale re-delivery
      } else if (change.baseRev > cursor) {
        throw new MissingChangesError(cursor + 1, change.rev, cursor);
      }
      effective.push(change);
      cursor = Math.max(cursor, change.rev);
    }
    const clearSending = stored.sending !== null && sentIds.has(stored.sending.id);
    if (effective.length === 0 && !clearSending) return [];

    const ops: JSONPatchOp[] = effective.flatMap(c => c.ops);
    let failed = false;
    const state = applyPatch(committedState ?? {}, ops, { mode: 'lenient', onError: () => (failed = true) });
    const expect = { committedRev: stored.committedRev, sendingId: stored.sending?.id ?? null, rewinds: stored.rewinds ?? 0 };
    // An op that failed (skipped, or a failed test voiding the rest) would replay differently in
    // another grouping: the store then writes the state whole.
    await store.applyServerChanges(docId, { state, rev: cursor, changes: effective, clearSending, expect, replayable: !failed });
    const after: StoredDoc = { ...stored, state, committedRev: cursor, sending: clearSending ? null : stored.sending };
    if (doc) {
      this.stamps.saw(doc, ops);
      // Our own send confirmed, nothing else: the view may already show it all (see `keepIfEqual`).
      const ownOnly = effective.every(c => c.id === stored.sending?.id);
      this.install(doc, layersOf(after, state), { rerecord: true, keepIfEqual: ownOnly });
      this.sendingOf.set(doc._layers(), { sending: after.sending });
    } else {
      // Kept only as the strict replay of the rows up to the rev it is at (a late reply lands below it).
      const last = effective[effective.length - 1];
      this.closedStates.keep(docId, state, !failed && last?.rev === cursor ? effective : []);
    }
    return effective;
  }

  /**
   * Our own sent changes the store already holds. With one connection the reply to a send always
   * comes before any later broadcast, so an own change with an old rev was never applied here;
   * with several tabs on one store another tab may have applied it (and later revs) from its own
   * connection, and applying it again would overwrite those later revs.
   * A reply older than the store's rev is such a late one: the store's later state, from the same
   * server, holds the commit (a resend's reply folds the rows since its baseRev into one change at
   * the last of their revs, and another tab may have caught up through a change of another id, so
   * the history need not name it). A reply at the store's rev is one if the history names it.
   */
  private async appliedOwnChanges(docId: string, changes: Change[], sentIds: Set<string>, committedRev: number): Promise<Set<string>> {
    const old = changes.filter(c => sentIds.has(c.id) && c.rev <= committedRev);
    const applied = new Set(old.filter(c => c.rev < committedRev).map(c => c.id));
    const atHead = old.filter(c => c.rev === committedRev);
    if (atHead.length === 0) return applied;
    const since = Math.min(...atHead.map(c => Math.min(c.baseRev, c.rev - 1)));
    const history = new Set((await this.ctx.store.listChanges(docId, since)).map(c => c.id));
    for (const c of atHead) if (history.has(c.id)) applied.add(c.id);
    return applied;
  }

  /**
   * What applying server changes needs. An open doc already holds its committed state, so only
   * the small parts are read: a full `getDoc` clones the whole state (O(doc)) on IndexedDB.
   */
  private async readForApply(docId: string, view: DocLayers | undefined): Promise<StoredDoc | undefined> {
    const { store } = this.ctx;
    if (!view) return this.closedStates.read(store, docId, {});
    const queue = await readQueue(store, docId);
    if (!queue) return undefined;
    // Another instance moved the committed state on: the open doc's copy is old, read the stored
    // one. (One that took it back and forth again to the same rev fails the guard, which names
    // the view's rewind count.)
    if (queue.committedRev !== view.committedRev) return store.getDoc(docId);
    return { ...queue, rewinds: view.rewinds, state: view.committedState };
  }

  rebaseOntoServer(docId: string, snapshot: PatchesSnapshot): Promise<RegressedRevs | undefined> {
    return retryOnConflict(() => this.rebaseOnce(docId, snapshot), () => this.refresh(docId));
  }

  private async rebaseOnce(docId: string, snapshot: PatchesSnapshot): Promise<RegressedRevs | undefined> {
    const { store } = this.ctx;
    const stored = await store.getDoc(docId);
    if (!stored) return undefined;
    const rev = snapshot.changes.reduce((max, c) => Math.max(max, c.rev), snapshot.rev);
    if (rev >= stored.committedRev) return undefined;
    // Timestamped writes need no rebase: pending ops and the in-flight change stay as they are
    // (the latter goes out on the new rev, see getPendingToSend) and the server judges them again.
    const state = applyPatch(snapshot.state ?? {}, opsParentsFirst(snapshot.changes), { mode: 'lenient' });
    const rewinds = stored.rewinds ?? 0;
    await store.saveDoc(docId, { state, rev }, { committedRev: stored.committedRev, rewinds });
    // The write went back from the rev the guard named: the store counted one more rewind.
    const doc = this.ctx.getOpenDoc(docId);
    if (doc) this.install(doc, layersOf({ ...stored, committedRev: rev, rewinds: rewinds + 1 }, state), { rerecord: true });
    return { localRev: stored.committedRev, serverRev: rev };
  }

  installSnapshot(docId: string, snapshot: PatchesSnapshot): Promise<InstallResult> {
    return retryOnConflict(() => this.installOnce(docId, snapshot), () => this.refresh(docId));
  }

  private async installOnce(docId: string, snapshot: PatchesSnapshot): Promise<InstallResult> {
    const { store } = this.ctx;
    const stored = await store.getDoc(docId);
    if (!stored) return 'stale';
    const rev = snapshot.changes.reduce((max, c) => Math.max(max, c.rev), snapshot.rev);
    if (rev <= stored.committedRev) return 'stale';
    const state = applyPatch(snapshot.state ?? {}, opsParentsFirst(snapshot.changes), { mode: 'lenient' });
    await store.saveDoc(docId, { state, rev }, { committedRev: stored.committedRev, rewinds: stored.rewinds ?? 0 });
    const doc = this.ctx.getOpenDoc(docId);
    if (doc) {
      this.stamps.saw(doc, snapshot.changes.flatMap(c => c.ops));
      this.install(doc, layersOf({ ...stored, state, committedRev: rev }, state), { rerecord: true });
    }
    return 'installed';
  }
}

/** The view layers of an LWW doc: committed state, then the in-flight change, then pending ops. */
function layersOf(stored: StoredDoc, committedState: unknown): DocLayers {
  return {
    committedState,
    committedRev: stored.committedRev,
    local: [stored.sending?.ops ?? [], stored.pendingOps],
    rewinds: stored.rewinds,
  };
}
