import { EMPTY, Subject, Subscription, asyncScheduler, catchError, concatMap, defer, from, of, tap, throwError, type Observable, type SchedulerLike } from 'rxjs';
import { StatusError, StoreConflictError } from '../errors.js';
import type { Patches } from '../client/Patches.js';
import type { Change } from '../types.js';
import type { PatchesConnection } from './PatchesConnection.js';
import { purgeDeletedDoc } from './purgeDeletedDoc.js';
import { DocRetries } from './DocRetries.js';
import { classifyError } from './errorPolicy.js';

/** A doc deleted on the server, with the local changes that were discarded. */
export interface RemoteDocDeletedEvent {
  readonly docId: string;
  readonly pendingChanges: Change[];
}

/** What `DocDeletes` needs of the `PatchesSync` it works for. */
export interface DocDeletesDeps {
  /** The Patches instance whose docs are deleted. */
  patches: Patches;
  /** The connection `deleteDoc` goes over. */
  connection: PatchesConnection;
  /** Whether a request can go out now (online, connected, leading). */
  canSend(): boolean;
  /** Whether the PatchesSync is destroyed: a remote delete not yet begun then drops nothing. */
  destroyed(): boolean;
  /** Forgets what the sync keeps for a doc the server deleted (retries, status entry, received changes, own-edit mark, subscription): called as the doc is dropped, once purged. */
  forget(docId: string): void;
  /** Runs a sync of the doc. */
  requestSync(docId: string): void;
  /** Reports an error, through the sync's error policy. */
  report(error: unknown, docId?: string): void;
  /** Scheduler of the retries of a refused local delete. Default `asyncScheduler`. */
  scheduler?: SchedulerLike;
}

/**
 * Deletes, both ways, for `PatchesSync`: a local delete is sent to the server and its tombstone
 * removed once the server confirms; a delete made on the server drops the doc here and hands its
 * unsent work to `remoteDocDeleted$`. Neither drops an edit unseen: the tombstone's removal
 * keeps a doc tracked again meanwhile (it syncs, to learn the server's verdict), and the remote
 * drop is guarded by the work it read (`purgeDeletedDoc`).
 *
 * @example
 * const deletes = new DocDeletes({ patches, connection, canSend, destroyed, forget, requestSync, report });
 * deletes.remoteDocDeleted$.subscribe(({ docId, pendingChanges }) => keep(docId, pendingChanges));
 * deletes.remote$('notes').subscribe(); // the server said 'notes' is gone
 */
export class DocDeletes {
  private readonly handedOver = new Subject<RemoteDocDeletedEvent>();
  private readonly dropping = new Set<Promise<void>>();
  /** Per doc, the remote deletes purged so far: a purge asked for before another one ran finds nothing left to hand over. */
  private readonly purged = new Map<string, number>();
  /** Each doc deleted on the server, with the unsent work dropped with it. */
  readonly remoteDocDeleted$: Observable<RemoteDocDeletedEvent> = this.handedOver.asObservable();

  /** Local deletes the server refused on a connection that stays open, asked again with the docs' backoff. */
  private readonly retries: DocRetries;
  /** Remote deletes whose purge failed (the store failed a moment), purged again with the docs' backoff. */
  private readonly purgeRetries: DocRetries;
  private readonly retrying = new Subscription();

  constructor(private readonly deps: DocDeletesDeps) {
    const scheduler = deps.scheduler ?? asyncScheduler;
    this.retries = new DocRetries(docId => this.retrying.add(this.local$(docId).subscribe()), scheduler);
    this.purgeRetries = new DocRetries(docId => {
      // Dropped meanwhile otherwise (untracked here, or another tab followed): nothing left to purge.
      if (!deps.patches.getDocAlgorithm(docId)) return this.purgeRetries.clear(docId);
      this.retrying.add(this.remote$(docId).subscribe());
    }, scheduler);
  }

  /**
   * A doc deleted on the server: drop it locally and hand its discarded pending changes to the
   * listeners. Once begun this runs to the end even if the pipeline moves on (a lost leadership)
   * or the PatchesSync is destroyed meanwhile (`complete()` waits for the hand-over), so unsent
   * work is never dropped without it; one not yet begun when it is destroyed (a page closing)
   * drops nothing, and the next connection is told of the delete again. A purge that fails keeps
   * the doc as it was (tracked, open, its entry in `synced$`), is reported once, and is made again
   * with the docs' backoff until it is done (else the doc stayed until the next connection or edit).
   */
  remote$(docId: string): Observable<unknown> {
    const { patches } = this.deps;
    if (!patches.getDocAlgorithm(docId)) return EMPTY;
    return defer(() => {
      const before = this.purged.get(docId) ?? 0;
      const done: Promise<void> = patches
        ._dropDoc(
          docId,
          async () => {
            // The server's docDeleted and a sync run's 410 can both ask while the doc is tracked: the
            // second finds the first's purge done, with nothing to hand over. (Not whether this tab
            // still tracks it: a tab following another's re-track of the doc may not have yet, and
            // the edits made on it would be dropped unseen: found by the fuzz, tabs seed 38.)
            if (this.deps.destroyed() || (this.purged.get(docId) ?? 0) !== before) return undefined;
            this.dropping.add(done);
            const dropped = await purgeDeletedDoc(patches.store, docId);
            this.purged.set(docId, before + 1);
            return dropped;
          },
          // Once the doc is out of the tracked set, its view closed: its entry's removal, on
          // `synced$`, then says so (forgotten before the purge, the entry went while the doc was
          // still tracked and open, and nothing on `synced$` said when it was not: the fuzz's
          // quiet check, memory seed 98, waited for good). A purge that fails keeps it all.
          () => this.deps.forget(docId),
        )
        .then(
          pendingChanges => {
            this.purgeRetries.clear(docId);
            if (pendingChanges) this.handedOver.next({ docId, pendingChanges });
          },
          error => this.purgeFailed(docId, error),
        )
        .finally(() => this.dropping.delete(done));
      return done;
    });
  }

  /**
   * A local delete: tell the server now if possible (else the next full pass retries the
   * tombstone). One the server refuses on a connection that stays open is asked again, reported
   * once: a 503 or a 500 with the docs' backoff, a 403 every 8–10 minutes (the tombstone stayed
   * until the next connection).
   */
  local$(docId: string): Observable<unknown> {
    if (!this.deps.canSend()) return EMPTY;
    return this.deps.connection.call<void>('deleteDoc', [docId]).pipe(
      // Already gone on the server counts as deleted: a tombstone must not wait forever.
      catchError(error => (error instanceof StatusError && (error.code === 404 || error.code === 410) ? of(undefined) : throwError(() => error))),
      concatMap(() => from(this.confirmLocal(docId))),
      tap(() => this.retries.clear(docId)),
      catchError(error => {
        const action = classifyError(error);
        if (action === 'network') return EMPTY;
        if (!this.retries.has(docId)) this.deps.report(error, docId);
        // A refusal retrying cannot fix (403) is probed rarely, as a doc's sync is.
        if (action === 'fail') this.retries.probeLater(docId);
        else this.retries.schedule(docId);
        return EMPTY;
      }),
    );
  }

  /** Stops asking again (the connection is gone: the next one retries every tombstone; or destroyed). */
  stopRetries(): void {
    this.retries.clearAll();
  }

  /** Completes `remoteDocDeleted$` once the remote deletes already purging have handed their changes over; failed purges are not made again. */
  complete(): void {
    this.purgeRetries.clearAll();
    void Promise.allSettled(this.dropping).then(() => this.handedOver.complete());
  }

  /** A remote delete's purge failed: reported once per streak, and made again unless the store can no longer be used or the sync is done. */
  private purgeFailed(docId: string, error: unknown): void {
    if (!this.purgeRetries.has(docId)) this.deps.report(error, docId);
    // One under way at destroy (a page closing, its store too) may fail after it: no timer outlives the sync.
    if (this.deps.destroyed() || classifyError(error) === 'untracked') this.purgeRetries.clear(docId);
    else this.purgeRetries.schedule(docId);
  }

  /**
   * The server deleted a doc deleted here: remove its tombstone, unless the doc was tracked again
   * since; then it keeps its new data and syncs, to learn what the server holds now.
   */
  private async confirmLocal(docId: string): Promise<void> {
    try {
      await this.deps.patches.store.confirmDeleteDoc(docId, { deleted: true });
    } catch (error) {
      if (!(error instanceof StoreConflictError)) throw error;
      this.deps.requestSync(docId);
    }
  }
}
