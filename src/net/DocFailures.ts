import { EMPTY, catchError, tap, type Observable } from 'rxjs';
import { StatusError } from '../errors.js';
import type { ClientAlgorithm } from '../client/ClientAlgorithm.js';
import { classifyError } from './errorPolicy.js';
import type { SyncedDocs } from './SyncedDocs.js';
import type { DocRetries } from './DocRetries.js';
import type { ChangeBudgets } from './ChangeBudgets.js';

/** What `DocFailures` acts through, given by `PatchesSync`. */
export interface DocFailuresOptions {
  /** The per-doc statuses (`synced$`). */
  docs: SyncedDocs;
  /** The docs' retry timers. */
  retries: DocRetries;
  /** The docs' change budgets, which a 413 shrinks. */
  budgets: ChangeBudgets;
  /** The sync logic of a tracked doc's algorithm (`undefined`: the doc is no longer tracked). */
  algorithmOf(docId: string): ClientAlgorithm | undefined;
  /** Pulls everything since the committed rev and applies it (`DocSync.catchUp$`). */
  catchUp$(docId: string, algorithm: ClientAlgorithm): Observable<unknown>;
  /** Makes the server's state the doc's (`DocSync.reload$`). */
  reload$(docId: string, algorithm: ClientAlgorithm): Observable<unknown>;
  /** The doc was deleted on the server (`DocDeletes.remote$`). */
  deleted$(docId: string): Observable<unknown>;
  /** Asks for a sync run of the doc. */
  requestSync(docId: string): void;
  /** Reports an error the policy says is one (a dropped connection is state, not an error: `PatchesSync.report`). */
  report(error: unknown, docId: string): void;
  /** Reports the error whatever its kind: a doc's transient failure once its quick retries are used up. */
  reportAlways(error: unknown, docId: string): void;
}

/**
 * What happens to a doc whose sync failed, as the error policy (`classifyError`) decides: a
 * change refused as too large is cut finer and sent again; a lost connection settles the doc
 * (the next one resyncs it); a transient failure is retried quietly until the quick retries are
 * used up, then said once; a gap pulls what is missing; a change that will not apply reloads the
 * server's state; a delete on the server goes the remote-delete way; what retrying may fix is
 * retried with the doc's backoff, reported once per streak; and what it cannot fix is reported,
 * its edits probed again later. An error that repeats is reported once per doc per connection by
 * its kind (protocol §5.3), not once per edit: the doc's kinds are forgotten when it syncs, is
 * forgotten, or the connection drops.
 *
 * @example
 * const failures = new DocFailures({ docs, retries, budgets, algorithmOf, catchUp$, reload$, deleted$, requestSync, report, reportAlways });
 * run$.pipe(catchError(error => failures.handle$(docId, error)));
 */
export class DocFailures {
  /**
   * The errors reported on this connection for each doc whose run failed for good or reloaded it,
   * by name (and code, for a server's refusal): each once per doc per connection (protocol §5.3),
   * not per edit; another kind still is (a reload after an `ApplyChangesError` that finds the doc
   * is LWW on the server).
   */
  private readonly failedHere = new Map<string, Set<string>>();

  constructor(private readonly options: DocFailuresOptions) {}

  /** What happens to a doc whose sync failed: the error policy decides. */
  handle$(docId: string, error: unknown): Observable<unknown> {
    const { docs, retries, budgets } = this.options;
    // A change the server refused as too large: cut the queue finer and send it again at once.
    if (budgets.shrink(docId, error)) {
      this.options.requestSync(docId);
      return EMPTY;
    }
    const action = classifyError(error);
    switch (action) {
      case 'network':
        // The disconnect settles every doc; this one may fail first.
        docs.settleSyncing([docId]);
        return EMPTY;
      case 'transient':
        // The socket may still be open, so no reconnect will resync this doc: retry it, quietly
        // until the quick retries are used up, then say so once (the doc's edits are not reaching
        // the server) and probe again in the background. The other docs' runs go on.
        docs.settleSyncing([docId]);
        const outcome = retries.schedule(docId);
        if (outcome !== 'scheduled') docs.update([docId], { status: 'error' });
        if (outcome === 'exhausted') this.options.reportAlways(error, docId);
        return EMPTY;
      case 'deleted':
        return this.options.deleted$(docId);
      case 'untracked':
        // The doc left the database while its sync ran; following the store drops its entry.
        retries.clear(docId);
        return EMPTY;
      case 'refetch':
        docs.update([docId], { status: 'error' });
        this.options.report(error, docId);
        return this.refetch$(docId);
      case 'reload':
        docs.update([docId], { status: 'error' });
        this.reportOnce(error, docId);
        return this.reload$(docId);
      case 'retry':
        docs.update([docId], { status: 'error' });
        this.retryLater(docId, error);
        return EMPTY;
      case 'fail':
        docs.update([docId], { status: 'error' });
        this.reportOnce(error, docId);
        // Edits waiting on it: the server (its permissions, its limits) may change its mind.
        if (docs.get(docId)?.hasPending) retries.probeLater(docId);
        return EMPTY;
    }
  }

  /**
   * A store read at the end of a successful run failed: reported once per streak, the doc's run
   * retried with its backoff. Any other error than the policy's `retry` (the doc untracked meanwhile,
   * an outdated store) is the run's, as before: thrown.
   */
  retryRead(docId: string, error: unknown): void {
    if (classifyError(error) !== 'retry') throw error;
    this.retryLater(docId, error);
  }

  /** The doc synced, or is no longer tracked here: its errors are reported again. */
  forget(docId: string): void {
    this.failedHere.delete(docId);
  }

  /** The connection dropped: every doc's errors are reported again on the next one. */
  disconnected(): void {
    this.failedHere.clear();
  }

  /** After a gap: pull everything since the committed rev and apply it, then a run sends what is pending. */
  private refetch$(docId: string): Observable<unknown> {
    return this.thenRun$(docId, algorithm => this.options.catchUp$(docId, algorithm)).pipe(
      catchError(error => {
        this.options.report(error, docId);
        return EMPTY;
      }),
    );
  }

  /** After a committed change failed to apply: the server's state becomes the doc's (`DocSync.reload$`), then a run sends what is pending. */
  private reload$(docId: string): Observable<unknown> {
    return this.thenRun$(docId, algorithm => this.options.reload$(docId, algorithm)).pipe(
      // A reload that failed too (the doc moved on meanwhile, say) is tried again with the doc's backoff.
      catchError(error => {
        if (classifyError(error) !== 'reload') return this.handle$(docId, error);
        this.options.retries.schedule(docId);
        return EMPTY;
      }),
    );
  }

  /** Runs a repair `step` on a tracked doc's algorithm, then asks for a sync run of the doc. */
  private thenRun$(docId: string, step: (algorithm: ClientAlgorithm) => Observable<unknown>): Observable<unknown> {
    const algorithm = this.options.algorithmOf(docId);
    if (!algorithm) return EMPTY;
    return step(algorithm).pipe(tap({ complete: () => this.options.requestSync(docId) }));
  }

  /** A failure the policy retries: reported once per streak, the doc's run retried with its backoff. */
  private retryLater(docId: string, error: unknown): void {
    if (!this.options.retries.has(docId)) this.options.report(error, docId);
    this.options.retries.schedule(docId);
  }

  /** Reports a doc's error unless one of its kind was reported for the doc on this connection (see `failedHere`). */
  private reportOnce(error: unknown, docId: string): void {
    // A server's refusals are told apart by code: a 403 and a 413 are two things to say.
    const kind = error instanceof StatusError ? `${error.name} ${error.code}` : error instanceof Error ? error.name : 'Error';
    const reported = this.failedHere.get(docId) ?? new Set<string>();
    if (reported.has(kind)) return;
    this.failedHere.set(docId, reported.add(kind));
    this.options.report(error, docId);
  }
}
