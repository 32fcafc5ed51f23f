import { EMPTY, asyncScheduler, catchError, concat, concatMap, defer, finalize, ignoreElements, of, share, timer, type Observable, type SchedulerLike } from 'rxjs';
import type { PatchesConnection } from './PatchesConnection.js';

/** What `ServerSubscriptions` needs of the `PatchesSync` it works for. */
export interface ServerSubscriptionsDeps {
  /** The connection `subscribe` and `unsubscribe` go over. */
  connection: PatchesConnection;
  /** Maps tracked doc ids to the ids to subscribe to (`PatchesSyncOptions.subscribeFilter`); default: themselves. */
  subscribeFilter?: (docIds: string[]) => string[];
  /** Whether a request can go out now (online, connected, leading). */
  canSend(): boolean;
  /** Reports an error, through the sync's error policy. */
  report(error: unknown): void;
  /** Scheduler whose next turn closes a group of ids (see `subscribe$`). Default `asyncScheduler`. */
  scheduler?: SchedulerLike;
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

  constructor(private readonly deps: ServerSubscriptionsDeps) {}

  /** A new connection: the server holds no subscription of ours. */
  reset(): void {
    this.subscribed = new Set();
    this.unwanted = new Set();
    this.gathering = undefined;
  }

  /** The server dropped the subscription itself (a doc it deleted). */
  forget(id: string): void {
    this.subscribed.delete(id);
  }

  /**
   * Subscribes the ids (through `subscribeFilter`) not subscribed yet, when subscribed to;
   * completes once the server answered. A failure is reported, not fatal. Nagle's rule, as
   * `batchRequests` has it for frames, but for calls, so with any server: with no `subscribe`
   * awaited the call goes at once; while one is, the ids asked for until the scheduler's next turn
   * go together in one call (docs opened one by one make two calls, not one each).
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
    // An id still being asked for is unsubscribed once the server has granted it.
    for (const id of this.asking.keys()) if (!needed.has(id)) this.unwanted.add(id);
    return this.unsubscribe$(drop);
  }

  private unsubscribe$(ids: string[]): Observable<unknown> {
    if (ids.length === 0 || !this.deps.canSend()) return EMPTY;
    return this.deps.connection.call('unsubscribe', [ids]).pipe(catchError(() => EMPTY));
  }

  private call$(ids: string[]): Observable<unknown> {
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
          this.deps.report(error);
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

  private filter(docIds: string[]): string[] {
    return this.deps.subscribeFilter ? this.deps.subscribeFilter(docIds) : docIds;
  }
}
