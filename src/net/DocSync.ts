import { EMPTY, catchError, concatMap, defer, endWith, from, ignoreElements, map, of, takeWhile, tap, throwError, type Observable } from 'rxjs';
import type { Change, CommitChangesResult, PatchesSnapshot, PatchesState } from '../types.js';
import type { ApplyCommittedOptions } from '../algorithms/applyCommittedChanges.js';
import { applyPatch } from '../algorithms/applyPatch.js';
import { JSONRPCError, MissingChangesError, ServerRevisionRegressedError, StatusError } from '../errors.js';
import { mayBeRevisionRegression } from './revisionRegression.js';
import type { ClientAlgorithm } from '../client/ClientAlgorithm.js';
import type { Patches } from '../client/Patches.js';
import { breakChangesIntoBatches } from '../algorithms/batching/breakChangesIntoBatches.js';
import { retryOnConflict } from '../client/retryOnConflict.js';
import type { BatchChangesOptions } from '../operators/batchChanges.js';
import type { PatchesConnection } from './PatchesConnection.js';
import type { SyncedDocs } from './SyncedDocs.js';
import type { StoredEntries } from './StoredEntries.js';
import type { ChangeBudgets } from './ChangeBudgets.js';
import { asSnapshot, changeList } from './wireShapes.js';
import { expandAcks } from './expandAcks.js';
import { mismatchInCatchUp, mismatchInSnapshot } from './algorithmMismatch.js';
import { ReceivedChanges } from './ReceivedChanges.js';

/** One `commitChanges` batch of a flush, and the changes of ours its reply answers (see `DocSync.pendingBatches`). */
export interface PlannedBatch {
  batch: Change[];
  answers: Change[];
}

/** What one doc's sync run needs from PatchesSync. */
export interface DocSyncDeps {
  patches: Patches;
  connection: PatchesConnection;
  docs: SyncedDocs;
  /** The status entries as the store has them (a closed doc's rev after a write). */
  entries: StoredEntries;
  /** Size limits for `commitChanges` frames. */
  limits: Omit<BatchChangesOptions, 'docId' | 'maxStorageBytes'>;
  /** Each doc's storage budget per change now, whether a 413 shrank it, and the changes a 413 named (read only here). */
  budgets: Pick<ChangeBudgets, 'of' | 'isShrunk' | 'refused'>;
  /**
   * The storage budget `Patches` cuts OT changes to as they are made (`maxStorageBytes`), when it
   * measures them as the sync does: a change over a budget at least as large can only have grown
   * by a rebase since (see `pendingBatches`).
   */
  mintBudget?: number | undefined;
  /** Asks the doc's serial gate for one more run (collapsed with any other request). */
  requestSync: (docId: string) => void;
  /** Reports an error through PatchesSync's error policy (`onError`). */
  report: (error: unknown, docId: string) => void;
  /** Whether an OT doc with nothing local may be caught up by a snapshot (default false; see `PatchesSyncOptions.catchUpBySnapshot`). */
  catchUpBySnapshot?: boolean;
}

/**
 * The steps of one doc's sync run, each an observable: flush pending changes in batches (the
 * reply carries the catch-up), catch up (`getChangesSince`, or `getDoc` for a doc never synced),
 * apply server changes through the doc's algorithm. (PatchesSync's `settle` asks for a follow-up
 * run when work remains.)
 * PatchesSync decides when a run happens (its serial gate) and what an error means (its policy).
 */
export class DocSync {
  /** Changes lately broadcast to us, which a compact commit reply names by id (see `expandAcks`). */
  readonly received = new ReceivedChanges();
  /** Per OT doc, the ids of the changes `pendingBatches` last planned to send (see there). */
  private readonly planned = new Map<string, ReadonlySet<string>>();

  constructor(private readonly deps: DocSyncDeps) {}

  /**
   * The doc's pending changes cut into `commitChanges` batches under the size limits. Run it as one
   * step of the doc's queue (`runExclusive`): when cutting changed the queue, the pieces are stored
   * in that same step, so the store holds exactly what is sent (a retry resends the same ids) and
   * no server change applied after the read is undone by writing back the queue as it was before
   * it (same ids, ops not yet rebased over it). Each batch comes with what its reply answers: the
   * batch itself, or, where the store keeps the cut change whole (LWW), nothing until the last
   * batch, whose reply answers that change (so a connection lost halfway leaves it to be resent).
   *
   * An OT change planned before is never cut again, however large a rebase made it (found in
   * review): it may be committed already (sent whole, its reply lost), and the server knows it
   * only by its id, which a cut gives to the first piece alone: the others, with fresh ids, would
   * be committed a second time. So a change is cut only the first time this instance plans it, or
   * once the server refused that very change as too large (a 413 naming it, `refused`: not
   * committed). What this instance planned is kept in memory, with no store write per send; what
   * another instance sent (a tab that led before this one, this page before a reload, a tab with
   * a connection of its own) is not known here, except that a change over a storage budget no
   * smaller than the one it was cut to as it was made (`mintBudget`) grew by a rebase, and may
   * have been sent whole: it is not cut for storage either (a 413 would name it, and cut it then).
   *
   * An LWW change is never stored cut (the store keeps the one sending change whole), so every
   * send cuts it again: its pieces are named after their content (`pieceIds: 'derived'`), the same
   * in every run, tab and page load with the same budgets, and the server, which knows a change by
   * its id alone, recognises a piece it committed before its reply was lost (found in review:
   * under a fresh id it was committed again, its stamp clamped to the server's clock of then, and
   * overwrote another user's later write when the client's clock ran ahead). The first piece keeps
   * the change's id while it is a prefix of whole ops under the configured budgets; under a budget
   * a 413 shrank it is named after its content too, or a later cut under the configured budget (a
   * reload) would make a longer first piece the server takes for the shorter one it committed.
   */
  pendingBatches(docId: string, algorithm: ClientAlgorithm): Promise<PlannedBatch[]> {
    // Another instance (a tab with its own connection) may cut or rebase the queue between the
    // read and the write: the guarded write is refused, the doc follows the store, and it is redone.
    return retryOnConflict(async () => {
      const pending = await algorithm.getPendingToSend(docId);
      // An LWW server stores every write as a replace, which cannot append: a split array is filled by index.
      const fillArrays = algorithm.name === 'lww';
      // An LWW write sent twice is the same write: only OT changes are kept whole.
      const ot = algorithm.name === 'ot';
      const before = ot ? this.planned.get(docId) : undefined;
      const refused = this.deps.budgets.refused(docId);
      const budget = this.deps.budgets.of(docId);
      const { mintBudget } = this.deps;
      const grownSinceMade = ot && budget !== undefined && mintBudget !== undefined && mintBudget <= budget;
      const keepWhole = before?.size || grownSinceMade ? (change: Change, cut: 'storage' | 'wire') => refused?.has(change.id) !== true && (before?.has(change.id) === true || (cut === 'storage' && grownSinceMade)) : undefined;
      // LWW pieces are named after their content, so a resend cut the same way carries the same ids
      // (see `BreakChangesOptions.pieceIds`); under a budget a 413 shrank, the first piece too.
      const pieceIds = ot ? 'fresh' : this.deps.budgets.isShrunk(docId) ? 'derivedFirst' : 'derived';
      // A queue of OT changes without ops (a store written by something else: `change()` makes none,
      // a rebase drops what it empties) has nothing to send: the server would drop them and commit
      // nothing, a round trip for no rev. They leave the queue below (the write of what is sent:
      // nothing), and the run catches up instead. Only a queue of nothing but them: beside other
      // changes they cost no round trip, and a queue's head names its batches (`batchId`), which an
      // upload another tab or build began, its reply lost, must keep to be known as one upload.
      const toSend = ot && pending.every(c => c.ops.length === 0) ? [] : pending;
      const batches = breakChangesIntoBatches(toSend, { ...this.deps.limits, maxStorageBytes: budget, docId, fillArrays, keepWhole, pieceIds });
      const pieces = batches.flat();
      const stored = pieces.length === pending.length || (await algorithm.replacePending(docId, pieces, pending));
      if (ot) {
        if (pieces.length > 0) this.planned.set(docId, new Set(pieces.map(c => c.id)));
        else this.planned.delete(docId);
      }
      return batches.map((batch, i) => ({ batch, answers: stored ? batch : i === batches.length - 1 ? pending : [] }));
    }, () => algorithm.refresh(docId));
  }

  /** Forgets what was planned for a doc no longer tracked here. */
  forget(docId: string): void {
    this.planned.delete(docId);
  }

  /** Sends the batches of `pendingBatches` in order; applies each reply as it comes. */
  flush$(docId: string, algorithm: ClientAlgorithm, planned: PlannedBatch[]): Observable<unknown> {
    return from(planned).pipe(
      concatMap(({ batch, answers }) => this.commit$(docId, algorithm, batch, answers)),
      // After a reload, or a reply that brought other clients' changes, the precomputed batches
      // hold ops written on a rev that is not the doc's any more: they are not sent (the server
      // would take the changes it just sent for the batch's own, and merge wrongly). The batch
      // before them was committed, so the run's settle asks for a follow-up that cuts the rebased
      // queue anew if anything is left of it (and none when nothing is).
      takeWhile(moved => !moved, true),
    );
  }

  /**
   * Commits one batch and applies the reply (`answers`: the changes of ours it answers, the batch
   * by default). Emits whether the doc moved under the batches after it: the server re-based the
   * batch onto its head (`docReloadRequired`), the reply brought other clients' changes, or it
   * skipped revisions we do not have, which are then pulled with `getChangesSince`.
   */
  commit$(docId: string, algorithm: ClientAlgorithm, batch: Change[], answers: Change[] = batch): Observable<boolean> {
    // A server that said so acknowledges our own changes it committed as sent by id (`CommitAck`); others echo them.
    const params = this.deps.connection.capabilities.compactAck ? [docId, batch, { compactAck: true }] : [docId, batch];
    return this.deps.connection.call<CommitChangesResult | Change[]>('commitChanges', params).pipe(
      concatMap(result => {
        const reloadRequired = !Array.isArray(result) && result?.docReloadRequired === true;
        const changes = Array.isArray(result) ? result : result?.changes;
        const received = (id: string) => this.received.get(docId, id);
        // Expanded inside `defer`: a compact ack naming a change we never received throws
        // MissingChangesError, which the pull below handles.
        const sentIds = new Set(batch.map(c => c.id));
        // Re-based onto the head verbatim: the rest of the queue, written on top of the batch,
        // follows it as it is (what others committed before it is not rebased into it). Read off
        // the reply as it came (acks and refs carry ids and revs too), so that the pull after a ref
        // to a change no longer held here knows it as well.
        const seenUpTo = reloadRequired ? placedAfter(changes, sentIds) : undefined;
        return defer(() => {
          const list = changeList(expandAcks(changes, batch, received), 'commitChanges');
          const othersCame = list.some(c => !sentIds.has(c.id));
          return this.apply$(docId, algorithm, list, answers, { seenUpTo }).pipe(ignoreElements(), endWith(reloadRequired || othersCame));
        }).pipe(
          catchError(error => (error instanceof MissingChangesError ? this.pullSince$(docId, algorithm, seenUpTo).pipe(ignoreElements(), endWith(true)) : throwError(() => error))),
        );
      }),
      // A refused baseRev: the server went back in time, or the batch is too far behind its head
      // for the server to transform. Either way the queue is rebased here and resent.
      catchError(error => (mayBeRevisionRegression(error) ? this.refusedBase$(docId, algorithm, batch, error) : throwError(() => error))),
    );
  }

  /**
   * A batch refused with 409 `{ scope: 'doc' }` (or a reply older than its base). Our server
   * says where its head is (`headRev`): behind the batch's base, it went back in time
   * (`recoverRegression$`); at or after it, the batch is too far behind for the server to
   * transform (its `maxTransformWork`), so the doc catches up (`catchUpToResend$`). The
   * @dabble/patches server says no `headRev`: the regression check comes first, and a server that
   * is not behind means the same as ours at or after the base. Emits true (the batches after it
   * are not sent: a follow-up run sends the rebased queue).
   */
  private refusedBase$(docId: string, algorithm: ClientAlgorithm, batch: Change[], refusal: unknown): Observable<boolean> {
    const base = batch[0]?.baseRev ?? 0;
    const headRev = refusal instanceof StatusError ? (refusal.data as { headRev?: unknown } | undefined)?.headRev : undefined;
    if (typeof headRev === 'number' && headRev >= base) return this.catchUpToResend$(docId, algorithm, batch, refusal);
    return this.recoverRegression$(docId, algorithm, refusal).pipe(
      ignoreElements(),
      endWith(true),
      // Not behind after all: the refusal (a 409, not a reply older than its base) asks for a catch-up.
      catchError(error => (error === refusal && refusal instanceof StatusError && headRev === undefined ? this.catchUpToResend$(docId, algorithm, batch, refusal) : throwError(() => error))),
    );
  }

  /**
   * After a refusal that a catch-up answers (protocol §5.4: reload, rebase the whole queue,
   * resend): pulls what was committed since the doc's rev, rebasing the pending queue over it on
   * this side, and asks for a follow-up run, which resends it on the new head, where the server's
   * transform meets only what was committed meanwhile. When the pull brought nothing past the
   * refused batch's base, a resend would be refused again: the refusal stands (the error policy's
   * backoff), so a server that refuses for another reason is not asked again at once, for good.
   * Unless the refused OT change left the queue meanwhile (OT stores exactly the pieces it sends):
   * the doc was untracked here or in another tab while the pull was on its way, so the pull applied
   * to nothing (found by the tabs fuzz: a refusal of a change held nowhere any more reached
   * onError). Nothing resends that change: the follow-up run sends what the doc holds now, if anything.
   */
  private catchUpToResend$(docId: string, algorithm: ClientAlgorithm, batch: Change[], refusal: unknown): Observable<boolean> {
    const base = batch[0]?.baseRev ?? 0;
    const stands = async () => (await this.deps.patches.store.getCommittedRev(docId)) <= base && (algorithm.name !== 'ot' || (await algorithm.isQueued(docId, batch[0].id)));
    return this.pullSince$(docId, algorithm).pipe(
      ignoreElements(),
      endWith(undefined),
      concatMap(() => from(stands())),
      concatMap(standing => {
        if (standing) return throwError(() => refusal);
        this.deps.requestSync(docId);
        return of(true);
      }),
    );
  }

  /**
   * Checks a hint that the server is behind the client with `getDoc`; if it is, rebuilds the doc
   * on the server's state keeping every local change (resent by a follow-up run) and reports a
   * `ServerRevisionRegressedError` once. If it is not, the hint's error stands.
   */
  recoverRegression$(docId: string, algorithm: ClientAlgorithm, hint: unknown): Observable<unknown> {
    return this.snapshot$(docId, algorithm).pipe(
      concatMap(snapshot => from(this.deps.patches.runExclusive(docId, () => algorithm.rebaseOntoServer(docId, snapshot)))),
      concatMap(revs => {
        // Not behind after all: the refusal stands, and a reply older than its base was just wrong.
        if (!revs) return throwError(() => (hint instanceof ServerRevisionRegressedError ? new JSONRPCError(-32603, `Inconsistent commitChanges reply for "${docId}": older than the rev the change was sent on`, hint) : hint));
        this.deps.report(new ServerRevisionRegressedError(docId, revs.localRev, revs.serverRev), docId);
        this.deps.requestSync(docId);
        return this.deps.entries.rev$(docId);
      }),
    );
  }

  /**
   * Catches a doc up: `getDoc` for a doc never synced with nothing local, else `getChangesSince`
   * (a snapshot has no ops, so local changes could not be rebased over it).
   */
  catchUp$(docId: string, algorithm: ClientAlgorithm): Observable<unknown> {
    return from(Promise.all([this.deps.patches.store.getCommittedRev(docId), algorithm.hasPending(docId)])).pipe(
      concatMap(([rev, hasPending]) =>
        rev > 0 || hasPending
          ? this.pullSince$(docId, algorithm, undefined, !hasPending)
          : this.snapshot$(docId, algorithm).pipe(concatMap(snapshot => this.install$(docId, algorithm, snapshot))),
      ),
    );
  }

  /** Installs a snapshot as the doc's committed state (nothing local to rebase), and reports the new rev. */
  private install$(docId: string, algorithm: ClientAlgorithm, snapshot: PatchesSnapshot): Observable<unknown> {
    return from(this.deps.patches.runExclusive(docId, () => algorithm.installSnapshot(docId, snapshot))).pipe(
      tap(result => {
        // A change made while the snapshot was on its way goes out first.
        if (result === 'flush-first') this.deps.requestSync(docId);
      }),
      concatMap(() => this.deps.entries.rev$(docId)),
    );
  }

  /**
   * After a committed change failed to apply on the doc's committed state: takes the server's
   * state at its head (`getDoc`) as the committed state, with the changes up to it
   * (`getChangesSince`) as its history and what local changes are rebased over, instead of
   * applying them again (which would fail again, for good). Ours went wrong, or a server committed
   * ops that do not apply (a lenient one: the tail of its snapshot is applied leniently too).
   */
  reload$(docId: string, algorithm: ClientAlgorithm): Observable<unknown> {
    const { connection, patches } = this.deps;
    return this.snapshot$(docId, algorithm).pipe(
      map(headOf),
      concatMap(head =>
        from(patches.store.getCommittedRev(docId)).pipe(
          concatMap(rev => connection.call<unknown>('getChangesSince', [docId, rev])),
          // What was committed after the snapshot comes by broadcast, or in the next run.
          concatMap(changes => this.apply$(docId, algorithm, changeList(changes, 'getChangesSince').filter(c => c.rev <= head.rev), undefined, { head })),
        ),
      ),
    );
  }

  /**
   * Fetches every committed change after the doc's committed rev and applies them. If the doc's
   * local data went back while they were on their way (untracked and tracked again, here or in
   * another tab), they no longer join on: it pulls again from where the doc is now.
   * `nothingLocal`: the doc had no pending changes, so an OT doc asks a server that offers it
   * (`catchUpSnapshot`) for its state instead when that is smaller than the changes, and installs
   * it (a change made meanwhile goes out first, as on a first load).
   */
  pullSince$(docId: string, algorithm: ClientAlgorithm, seenUpTo?: number, nothingLocal = false): Observable<unknown> {
    const { connection } = this.deps;
    // A doc with nothing to rebase can take the server's state instead of a longer history.
    const orSnapshot = nothingLocal && algorithm.name === 'ot' && this.deps.catchUpBySnapshot === true && connection.capabilities.catchUpSnapshot === true;
    return from(this.deps.patches.store.getCommittedRev(docId)).pipe(
      concatMap(rev =>
        connection.call<unknown>('getChangesSince', orSnapshot ? [docId, rev, { orSnapshot: true }] : [docId, rev]).pipe(
          catchError(error => (mayBeRevisionRegression(error) ? this.recoverRegression$(docId, algorithm, error).pipe(ignoreElements()) : throwError(() => error))),
          concatMap(changes => {
            if (orSnapshot && !Array.isArray(changes)) return this.install$(docId, algorithm, checkedSnapshot(docId, algorithm, changes));
            const reply = changeList(changes, 'getChangesSince');
            return this.apply$(docId, algorithm, reply, undefined, { seenUpTo }).pipe(
              // A gap in the reply itself (the doc did not go back meanwhile, below) ends the run: an
              // LWW doc opened as OT is said so (see `algorithmMismatch`), any other gap stands.
              catchError(error => throwError(() => (error instanceof MissingChangesError && error.sinceRev >= rev && mismatchInCatchUp(docId, algorithm.name, reply, error)) || error)),
            );
          }),
          catchError(error => (error instanceof MissingChangesError && error.sinceRev < rev ? this.pullSince$(docId, algorithm, seenUpTo, nothingLocal) : throwError(() => error))),
        ),
      ),
    );
  }

  /**
   * The doc's `getDoc` envelope, checked (`checkedSnapshot`).
   */
  private snapshot$(docId: string, algorithm: ClientAlgorithm): Observable<PatchesSnapshot> {
    return this.deps.connection.call<unknown>('getDoc', [docId]).pipe(map(value => checkedSnapshot(docId, algorithm, value)));
  }

  /**
   * Applies committed server changes through the doc's algorithm, and reports the new rev. An
   * open doc's view holds it (read inside the doc's exclusive section, right after the write; a
   * later write of another tab is reported after it, by the store read its announcement causes),
   * so only a closed doc's rev costs a store read.
   */
  apply$(docId: string, algorithm: ClientAlgorithm, changes: Change[], sent?: Change[], options?: ApplyCommittedOptions<unknown>): Observable<unknown> {
    if (changes.length === 0 && !sent) return EMPTY;
    const { patches } = this.deps;
    const applyHere = async () => ({ applied: await algorithm.applyServerChanges(docId, changes, sent, options), rev: patches.getOpenDoc(docId)?.committedRev });
    return from(patches.runExclusive(docId, applyHere)).pipe(
      tap(({ applied }) => patches._announceServerCommit(docId, applied)),
      concatMap(({ rev }) => (rev === undefined ? this.deps.entries.rev$(docId) : of(this.deps.docs.update([docId], { committedRev: rev })))),
    );
  }
}

/**
 * The rev a batch re-based onto the head (`docReloadRequired`) was placed after: just before its
 * first committed change, if one is in the reply (whole changes, acks or refs: each names its id
 * and rev).
 */
function placedAfter(reply: unknown, sentIds: ReadonlySet<string>): number | undefined {
  if (!Array.isArray(reply)) return undefined;
  const revs = (reply as Array<{ id?: unknown; rev?: unknown } | null>)
    .filter(entry => typeof entry?.id === 'string' && sentIds.has(entry.id) && typeof entry.rev === 'number')
    .map(entry => entry!.rev as number);
  return revs.length ? Math.min(...revs) - 1 : undefined;
}

/**
 * A snapshot envelope from the server, checked: one that shows the server keeps an OT doc as LWW
 * throws an `AlgorithmMismatchError` (see `algorithmMismatch`) instead of being installed (OT
 * would show the doc with its fields missing).
 */
function checkedSnapshot(docId: string, algorithm: ClientAlgorithm, value: unknown): PatchesSnapshot {
  const snapshot = asSnapshot(value);
  const mismatch = mismatchInSnapshot(docId, algorithm.name, snapshot);
  if (mismatch) throw mismatch;
  return snapshot;
}

/** A `getDoc` snapshot's state at its last rev, its own tail applied leniently (see `DocSync.reload$`). */
function headOf(snapshot: PatchesSnapshot): PatchesState<unknown> {
  const tail = snapshot.changes.filter(c => c.rev > snapshot.rev).sort((a, b) => a.rev - b.rev);
  const state = tail.reduce<unknown>((doc, c) => applyPatch(doc, c.ops, { mode: 'lenient' }), snapshot.state);
  return { state, rev: tail.length ? tail[tail.length - 1].rev : snapshot.rev };
}
