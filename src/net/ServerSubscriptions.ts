import { EMPTY, catchError, tap, type Observable } from 'rxjs';
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
}

/**
 * The doc ids this connection is subscribed to on the server (for `changesCommitted` and
 * `docDeleted`): subscribes what tracked docs need, through `subscribeFilter`, once each, and
 * unsubscribes what no tracked doc needs any more. A new connection starts with none.
 *
 * @example
 * const subscriptions = new ServerSubscriptions({ connection, canSend, report });
 * subscriptions.subscribe$(['notes', 'todo']).subscribe(); // one `subscribe` call
 * subscriptions.unneeded$(['todo']).subscribe();            // `unsubscribe` ['notes']
 */
export class ServerSubscriptions {
  private subscribed = new Set<string>();

  constructor(private readonly deps: ServerSubscriptionsDeps) {}

  /** A new connection: the server holds no subscription of ours. */
  reset(): void {
    this.subscribed = new Set();
  }

  /** The server dropped the subscription itself (a doc it deleted). */
  forget(id: string): void {
    this.subscribed.delete(id);
  }

  /** One `subscribe` call for the ids (through `subscribeFilter`) not subscribed yet; failure is reported, not fatal. */
  subscribe$(docIds: string[]): Observable<unknown> {
    const ids = this.filter(docIds).filter(id => !this.subscribed.has(id));
    if (ids.length === 0) return EMPTY;
    return this.deps.connection.call<string[]>('subscribe', [ids]).pipe(
      tap(granted => {
        for (const id of Array.isArray(granted) ? granted : []) this.subscribed.add(id);
      }),
      catchError(error => {
        this.deps.report(error);
        return EMPTY;
      }),
    );
  }

  /** Unsubscribes what none of the `tracked` docs needs any more; a failure is ignored (the next connection starts afresh). */
  unneeded$(tracked: string[]): Observable<unknown> {
    const needed = new Set(this.filter(tracked));
    const drop = [...this.subscribed].filter(id => !needed.has(id));
    for (const id of drop) this.subscribed.delete(id);
    if (drop.length === 0 || !this.deps.canSend()) return EMPTY;
    return this.deps.connection.call('unsubscribe', [drop]).pipe(catchError(() => EMPTY));
  }

  private filter(docIds: string[]): string[] {
    return this.deps.subscribeFilter ? this.deps.subscribeFilter(docIds) : docIds;
  }
}
