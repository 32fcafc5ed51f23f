import { EMPTY, asyncScheduler, catchError, concat, concatMap, defer, finalize, ignoreElements, merge, of, share, tap, timer, type Observable, type SchedulerLike, type Subscription } from 'rxjs';
import type { PatchesConnection } from './PatchesConnection.js';
import { SyncOptionError } from '../errors.js';
import { classifyError, steadyRetryDelay } from './errorPolicy.js';

/**
 * Most ids in one `subscribe` or `unsubscribe` call. The reference server refuses a whole call of
 * more than `maxSubscriptions` ids (10,000 by default): a client tracking more sent them in one
 * call, retried it forever, and heard no change to any doc (found in review). In calls of this
 * many, a refusal costs only its own ids; calls made together still share a batch frame.
 */
export const MAX_IDS_PER_CALL = 1000;

/** What `ServerSubscriptions` needs of the `PatchesSync` it works for. */
export interface ServerSubscriptionsDeps {
  /** The connection `subscribe` and `unsubscribe` go over. */
  connection: PatchesConnection;
  /**
   * Maps tracked doc ids to the ids to subscribe to (`PatchesSyncOptions.subscribeFilter`);
   * default: themselves. A doc it throws for subscribes as itself (reported once per doc per connection).
   */
  subscribeFilter?: (docIds: string[]) => string[];
  /** Whether a request can go out now (online, connected, leading). */
  canSend(): boolean;
  /** Reports an error (with the doc it concerns), through the sync's error policy. */
  report(error: unknown, docId?: string): void;
  /** Scheduler whose next turn closes a group of ids (see `subscribe$`), and of the retries. Default `asyncScheduler`. */
  scheduler?: SchedulerLike;
  /** Ids a retried `subscribe` got granted: their docs may have missed changes meanwhile. */
  resubscribed?(ids: string[]): void;
  /** Most ids in one `subscribe` or `unsubscribe` call (default `MAX_IDS_PER_CALL`). */
  idsPerCall?: number;
}

/** Ids gathering for one `subscribe` call, and that call, shared by everyone who asked. */
interface Group {
  readonly ids: Set<string>;
  readonly call$: Observable<unknown>;
}

/**
 * The doc ids this connection is subscribed to on the server (for `changesCommitted` and
 * `docDeleted`): subscribes what tracked docs need, through `subscribeFilter`, once each, and
 * unsubscribes what no tracked doc needs any more. A new connection starts with none.
 *
 * @example
 * const subscriptions = new ServerSubscriptions({ connection, canSend, report });
 * subscriptions.subscribe$(['notes', 'todo']).subscribe(); // one `subscribe` call
 * subscriptions.subscribe$(['draft']).subscribe();          // while it is awaited: gathers until the next turn
 * subscriptions.unneeded$(['todo']).subscribe();            // `unsubscribe` ['notes']
 */
export class ServerSubscriptions {
  private subscribed = new Set<string>();
  /** `subscribe` calls awaiting their reply. */
  private awaited = 0;
  private gathering: Group | undefined;
  /** Per id, the `subscribe` calls awaiting their reply that ask for it. */
  private readonly asking = new Map<string, number>();
  /** Ids asked for that no tracked doc needed any more by the time of the reply: unsubscribed then. */
  private unwanted = new Set<string>();
  /** Ids whose `subscribe` failed on this connection, asked for again when `retry` fires. */
  private failed = new Set<string>();
  private retry: Subscription | undefined;
  /** Failed `subscribe` calls in a row (the retry's backoff; reported on the first). */
  private failures = 0;
  /** Docs whose `subscribeFilter` error was reported on this connection (`null`: a throw no doc alone repeated). */
  private filterReported = new Set<string | null>();

  constructor(private readonly deps: ServerSubscriptionsDeps) {}

  /** A new connection: the server holds no subscription of ours. */
  reset(): void {
    this.subscribed = new Set();
    this.unwanted = new Set();
    this.gathering = undefined;
    this.failed = new Set();
    this.retry?.unsubscribe();
    this.retry = undefined;
    this.failures = 0;
    this.filterReported = new Set();
  }

  /** The server dropped the subscription itself (a doc it deleted). */
  forget(id: string): void {
    this.subscribed.delete(id);
  }

  /**
   * Subscribes the ids (through `subscribeFilter`) not subscribed yet, when subscribed to;
   * completes once the server answered. A failure is reported (once in a row), not fatal: the
   * ids are asked for again with the docs' backoff while the connection lasts, and
   * `resubscribed` names those granted then (else the docs would never hear another change,
   * silently: found by a fuzz of server errors). Nagle's rule, as
   * `batchRequests` has it for frames, but for calls, so with any server: with no `subscribe`
   * awaited the call goes at once; while one is, the ids asked for until the scheduler's next turn
   * go together in one call (docs opened one by one make two calls, not one each). Many ids go in
   * calls of `MAX_IDS_PER_CALL` at most, made together, so a refused call (a server's cap on the
   * docs a connection follows) costs only its own ids.
   */
  subscribe$(docIds: string[]): Observable<unknown> {
    return defer(() => {
      const ids = this.filter(docIds).filter(id => !this.subscribed.has(id));
      if (ids.length === 0) return EMPTY;
      for (const id of ids) this.unwanted.delete(id);
      if (this.gathering) {
        for (const id of ids) this.gathering.ids.add(id);
        return this.gathering.call$;
      }
      if (this.awaited === 0) return this.call$(ids);
      const gathered = new Set(ids);
      const call$ = timer(0, this.deps.scheduler ?? asyncScheduler).pipe(
        concatMap(() => {
          if (this.gathering?.ids === gathered) this.gathering = undefined;
          return this.call$([...gathered]);
        }),
        share(),
      );
      this.gathering = { ids: gathered, call$ };
      return call$;
    });
  }

  /** Unsubscribes what none of the `tracked` docs needs any more; a failure is ignored (the next connection starts afresh). */
  unneeded$(tracked: string[]): Observable<unknown> {
    const needed = new Set(this.filter(tracked));
    const drop = [...this.subscribed].filter(id => !needed.has(id));
    for (const id of drop) this.subscribed.delete(id);
    for (const id of this.failed) if (!needed.has(id)) this.failed.delete(id);
    // An id still being asked for is unsubscribed once the server has granted it.
    for (const id of this.asking.keys()) if (!needed.has(id)) this.unwanted.add(id);
    return this.unsubscribe$(drop);
  }

  private unsubscribe$(ids: string[]): Observable<unknown> {
    if (ids.length === 0 || !this.deps.canSend()) return EMPTY;
    return merge(...this.chunks(ids).map(chunk => this.deps.connection.call('unsubscribe', [chunk]).pipe(catchError(() => EMPTY))));
  }

  private chunks(ids: string[]): string[][] {
    const size = this.deps.idsPerCall ?? MAX_IDS_PER_CALL;
    const chunks: string[][] = [];
    for (let start = 0; start < ids.length; start += size) chunks.push(ids.slice(start, start + size));
    return chunks;
  }

  /**
   * Subscribes `ids` in calls of at most `idsPerCall` ids, made together; emits what each call
   * granted. The ids of the calls refused are reported (the first refusal of a run of them) and
   * asked for again later, once the last call has answered.
   */
  private call$(ids: string[]): Observable<unknown> {
    return defer(() => {
      const refused: string[] = [];
      let firstError: unknown;
      const calls = this.chunks(ids).map(chunk =>
        this.callOne$(chunk, error => {
          if (refused.length === 0) firstError = error;
          refused.push(...chunk);
        }),
      );
      const settle$ = defer(() => {
        if (refused.length === 0) this.failures = 0;
        else {
          if (this.failures++ === 0) this.deps.report(firstError);
          this.retryLater(refused);
        }
        return EMPTY;
      });
      return concat(merge(...calls), settle$);
    });
  }

  /** One `subscribe` call; a refusal (not a lost connection) goes to `refused`. */
  private callOne$(ids: string[], refused: (error: unknown) => void): Observable<unknown> {
    return defer(() => {
      this.awaited += 1;
      for (const id of ids) this.asking.set(id, (this.asking.get(id) ?? 0) + 1);
      return this.deps.connection.call<string[]>('subscribe', [ids]).pipe(
        concatMap(granted => {
          const late: string[] = [];
          for (const id of Array.isArray(granted) ? granted : []) {
            if (this.unwanted.has(id)) late.push(id);
            else this.subscribed.add(id);
          }
          return concat(this.unsubscribe$(late).pipe(ignoreElements()), of(granted));
        }),
        catchError(error => {
          // A lost connection subscribes everything anew on the next one.
          if (classifyError(error) !== 'network') refused(error);
          return EMPTY;
        }),
        finalize(() => {
          this.awaited -= 1;
          for (const id of ids) {
            const left = (this.asking.get(id) ?? 0) - 1;
            if (left > 0) this.asking.set(id, left);
            else {
              this.asking.delete(id);
              this.unwanted.delete(id);
            }
          }
        }),
      );
    });
  }

  /** Asks for `ids` again after the backoff of the failures so far; those granted then are `resubscribed`. */
  private retryLater(ids: string[]): void {
    for (const id of ids) this.failed.add(id);
    if (this.retry && !this.retry.closed) return;
    this.retry = timer(steadyRetryDelay(this.failures - 1), this.deps.scheduler ?? asyncScheduler)
      .pipe(
        concatMap(() => {
          // Fired: a failure of this call schedules the next retry.
          this.retry = undefined;
          const again = [...this.failed].filter(id => !this.subscribed.has(id));
          this.failed.clear();
          if (again.length === 0 || !this.deps.canSend()) return EMPTY;
          return this.call$(again).pipe(
            tap(granted => {
              const ids = (Array.isArray(granted) ? granted : []).filter((id): id is string => typeof id === 'string' && this.subscribed.has(id));
              if (ids.length > 0) this.deps.resubscribed?.(ids);
            }),
          );
        }),
      )
      .subscribe();
  }

  /** The ids the docs are subscribed through (`subscribeFilter`). */
  idsFor(docIds: string[]): string[] {
    return this.filter(docIds);
  }

  private filter(docIds: string[]): string[] {
    const subscribeFilter = this.deps.subscribeFilter;
    if (!subscribeFilter) return docIds;
    try {
      return filtered(subscribeFilter, docIds);
    } catch (error) {
      // The app's function threw: one doc it chokes on must not cost the others their
      // subscription (nor end the pipeline that asked), so each doc is asked alone, and one it
      // still throws for subscribes as itself, as with no filter: it keeps hearing changes.
      const ids = new Set<string>();
      let choked = false;
      for (const docId of docIds) {
        try {
          for (const id of filtered(subscribeFilter, [docId])) ids.add(id);
        } catch (own) {
          choked = true;
          ids.add(docId);
          this.filterFailed(own, docId);
        }
      }
      if (!choked) this.filterFailed(error);
      return [...ids];
    }
  }

  /** Reports a `subscribeFilter` that threw, once per doc (or once for a throw of no one doc) per connection. */
  private filterFailed(error: unknown, docId?: string): void {
    if (this.filterReported.has(docId ?? null)) return;
    this.filterReported.add(docId ?? null);
    const message = `subscribeFilter threw${docId === undefined ? '' : ` for "${docId}"`}: ${error instanceof Error ? error.message : String(error)}`;
    this.deps.report(new SyncOptionError('subscribeFilter', message, { cause: error }), docId);
  }
}

/** What `subscribeFilter` maps `docIds` to; throws what it throws, or a `TypeError` for anything but an array. */
function filtered(subscribeFilter: (docIds: string[]) => string[], docIds: string[]): string[] {
  const ids: unknown = subscribeFilter(docIds);
  if (!Array.isArray(ids)) throw new TypeError(`subscribeFilter returned ${typeof ids}, not an array of ids`);
  return ids;
}
