import {
  BehaviorSubject,
  EMPTY,
  Observable,
  Subject,
  Subscription,
  asyncScheduler,
  catchError,
  concat,
  concatMap,
  defer,
  distinctUntilChanged,
  filter,
  finalize,
  firstValueFrom,
  from,
  ignoreElements,
  last,
  map,
  merge,
  mergeMap,
  of,
  retry,
  skip,
  switchMap,
  tap,
  throwError,
  timer,
  type SchedulerLike,
} from 'rxjs';
import type { Algorithm, Change, PatchesSyncState, SizeCalculator, SyncedDoc, Unsubscriber } from '../types.js';
import { AuthError, StoreOutdatedError, SyncOptionError } from '../errors.js';
import type { Patches } from '../client/Patches.js';
import { listen, listenErrors, type ErrorContext } from '../client/listen.js';
import { hasUnsavedEdits } from '../client/unsavedEdits.js';
import type { ClientAlgorithm } from '../client/ClientAlgorithm.js';
import { InOrderEmitter } from '../util/InOrderEmitter.js';
import { currentThenChanges } from '../util/currentThenChanges.js';
import { dispatchByAlgorithm } from '../operators/dispatchByAlgorithm.js';
import { serialGate } from '../operators/serialGate.js';
import { online$ as browserOnline$ } from '../streams/online.js';
import { wakeups$ } from '../streams/wakeups.js';
import { PatchesConnection, isCalledOff, type LivenessOptions, type WebSocketOptions } from './PatchesConnection.js';
import { SyncedDocs } from './SyncedDocs.js';
import { DocSync } from './DocSync.js';
import { docIdOf, isDocChanges } from './wireShapes.js';
import { classifyError, steadyRetryDelay } from './errorPolicy.js';
import { DocRetries } from './DocRetries.js';
import { DocFailures } from './DocFailures.js';
import { ChangeBudgets } from './ChangeBudgets.js';
import { SyncTabs, type SyncTabsOptions } from './SyncTabs.js';
import { OwnEdits } from './OwnEdits.js';
import { DocDeletes, type RemoteDocDeletedEvent } from './DocDeletes.js';
import { StoredEntries } from './StoredEntries.js';
import { ServerSubscriptions } from './ServerSubscriptions.js';
import { DocHolds } from './DocHolds.js';
import { RunWaits } from './RunWaits.js';
import { RunPlans } from './RunPlans.js';
import { BorrowedStatus } from './BorrowedStatus.js';

export type { RemoteDocDeletedEvent } from './DocDeletes.js';

/** Options of `PatchesSync` (the seed's, plus injection points for tests and hosts). */
export interface PatchesSyncOptions {
  /**
   * Maps tracked doc ids to the ids to subscribe to (e.g. many sub-docs to one root). A doc it
   * throws for subscribes as itself, and `onError` hears a `SyncOptionError` (once per doc per connection).
   */
  subscribeFilter?: ((docIds: string[]) => string[]) | undefined;
  /** WebSocket options: `protocol` (sub-protocols, e.g. an auth token) and a `WebSocketCtor` for Node. */
  websocket?: WebSocketOptions | undefined;
  /** Maximum bytes per `commitChanges` frame (default 1 MB). */
  maxPayloadBytes?: number | undefined;
  /** Per-change storage limit (falls back to `patches.docOptions.maxStorageBytes`). */
  maxStorageBytes?: number | undefined;
  /** Custom size calculator for the limits (falls back to `patches.docOptions.sizeCalculator`). */
  sizeCalculator?: SizeCalculator | undefined;
  /**
   * Online/offline signal (default: the window's `online`/`offline` events; always online in
   * Node). One that errors counts as online from then on (`onError` hears a `SyncOptionError`).
   */
  online$?: Observable<boolean> | undefined;
  /** Scheduler for reconnect backoff, retries and RPC timeouts (inject a TestScheduler's to drive time). */
  scheduler?: SchedulerLike | undefined;
  /** Random source for reconnect jitter (default `Math.random`). */
  random?: (() => number) | undefined;
  /** Reconnect backoff: first delay in ms (default 1000). */
  reconnectDelay?: number | undefined;
  /** Reconnect backoff: the cap in ms (default 30 000). */
  maxReconnectDelay?: number | undefined;
  /** Per-call RPC timeout in ms (default 30 000). */
  rpcTimeout?: number | undefined;
  /** Dead-connection detection thresholds (busy 5 s + 5 s, idle 35 s + 5 s by default), or `false` to turn it off. */
  liveness?: LivenessOptions | false | undefined;
  /** Page-lifecycle wake-ups that probe or reconnect at once (default: the window's, see `wakeups$`; none in Node). One that errors is silent from then on (`onError` hears a `SyncOptionError`). */
  wake$?: Observable<unknown> | undefined;
  /**
   * Tabs on one store share one connection, held by the leading tab (the default with a store
   * other tabs can write, e.g. `IndexedDBStore`); `{ enabled: false }`: one connection per tab.
   */
  tabs?: SyncTabsOptions | undefined;
  /**
   * Catch a doc far behind up by the server's state at the head instead of every change since,
   * where the server offers it and the state is the smaller (default `true`; an OT doc with
   * nothing pending, on a patches-rx server). The skipped changes are then not heard one by one:
   * `patches.onServerCommit` hears none for that catch-up, as for a first load. `false` asks for
   * every change, as an app that lists them (an activity feed) needs.
   */
  catchUpBySnapshot?: boolean | undefined;
}

/** An error with the doc it concerns, as `error$` emits it. */
export interface SyncErrorEvent {
  readonly error: Error;
  readonly docId?: string;
  /** An edit whose save failed (relayed from `Patches`): the ids of the edits rolled back, the failed one first (`Patches.onError`). */
  readonly rolledBack?: string[];
}

const DEFAULT_MAX_PAYLOAD_BYTES = 1_000_000;

/** The connection state before anything happened; frozen like every state `state` hands out. */
const INITIAL_STATE: PatchesSyncState = Object.freeze({ online: true, connected: false, syncing: null });

/**
 * The sync coordinator: keeps a `Patches` instance's tracked docs in sync with a server over one
 * WebSocket, as an RxJS pipeline. It subscribes the tracked docs, catches each up, sends local
 * changes in batches, applies server changes through the doc's algorithm (OT or LWW), and reports
 * connection state (`state$`), per-doc state (`synced$`), errors and remote deletes.
 *
 * @example
 * import { Patches, InMemoryStore } from 'patches-rx';
 * import { PatchesSync } from 'patches-rx/net';
 * const patches = new Patches({ store: new InMemoryStore() });
 * const sync = new PatchesSync(patches, 'ws://localhost:8787');
 * sync.onStateChange(state => console.log(state));
 * await sync.connect();
 */
export class PatchesSync {
  private readonly stateSubject = new BehaviorSubject<PatchesSyncState>(INITIAL_STATE);
  /** A state set during an emission (a listener that disconnects when connected) is emitted after it, to everyone; `state` reads the latest. */
  private readonly stateEmitter = new InOrderEmitter<PatchesSyncState>(state => this.stateSubject.next(state));
  private readonly docs: SyncedDocs;
  private readonly errorSubject = new Subject<SyncErrorEvent>();
  private readonly syncRequests = new Subject<string>();
  private readonly runWaits = new RunWaits();
  private readonly subscription = new Subscription();
  private readonly scheduler: SchedulerLike;
  // The pieces it wires together.
  private readonly connection: PatchesConnection;
  private readonly tabs: SyncTabs;
  private readonly entries: StoredEntries;
  private readonly serverSubscriptions: ServerSubscriptions;
  private readonly docSync: DocSync;
  private readonly retries: DocRetries;
  private readonly budgets: ChangeBudgets;
  private readonly deletes: DocDeletes;
  private readonly failures: DocFailures;
  private readonly ownEdits = new OwnEdits();
  /** Docs being subscribed (see {@link subscribeThenSync$}). */
  private readonly subscribing = new DocHolds();
  /** The batches each run sends, planned once the edits saved just before it are in (see `RunPlans`). */
  private readonly plans: RunPlans;
  private passCount = 0;

  /** Connection-level state (frozen objects), the latest first, then each change; after `destroy()` the last one, then `complete`. */
  readonly state$: Observable<PatchesSyncState>;
  /** Per-document sync status: frozen snapshots, a new one on every change (an unchanged entry keeps its object); the latest first, after `destroy()` too. */
  readonly synced$: Observable<Readonly<Record<string, SyncedDoc>>>;
  /** Errors, with the doc they concern. */
  readonly error$: Observable<SyncErrorEvent> = this.errorSubject.asObservable();
  /** Whether this tab holds the connection for every tab on its store (always `true` without tab coordination; with it, only while this tab wants a connection: from `connect()` until `disconnect()`). */
  readonly leading$: Observable<boolean>;
  /** Docs deleted on the server: once per delete, with the unsent changes (`[]` when nothing was pending). */
  readonly remoteDocDeleted$: Observable<RemoteDocDeletedEvent>;

  constructor(
    private readonly patches: Patches,
    url: string,
    options: PatchesSyncOptions = {},
  ) {
    this.scheduler = options.scheduler ?? asyncScheduler;
    this.docs = new SyncedDocs();
    this.retries = new DocRetries(docId => this.syncRequests.next(docId), this.scheduler, options.random);
    this.budgets = new ChangeBudgets(options.maxStorageBytes ?? patches.docOptions.maxStorageBytes);
    // An app's online$ or wake$ that errors must not take the connection down with it: better
    // online (a failed attempt retries) than offline for good. One that errors as it is subscribed,
    // below, is reported once the constructor has returned, so that a listener added then hears it.
    let constructed = false;
    const reportOnline = (error: SyncOptionError) => {
      if (constructed) this.report(error);
      else this.subscription.add(this.scheduler.schedule(() => this.report(error)));
    };
    const online$ = outliving('online$', options.online$ ?? browserOnline$(typeof window === 'undefined' ? undefined : window), of(true), reportOnline);
    this.state$ = currentThenChanges(this.stateSubject).pipe(distinctUntilChanged(sameState));
    this.synced$ = this.docs.synced$;

    // State hears online/offline before the connection reacts to it: one coherent transition.
    this.subscription.add(online$.subscribe(online => this.setState({ online })));
    // Only the leading tab connects; the others show what it announces. A tab asks for the lead
    // only while it wants a connection: from connect() until disconnect().
    this.tabs = new SyncTabs(patches.store, options.tabs, { scheduler: options.scheduler, wanted: false });
    this.leading$ = this.tabs.leading$;
    // A follower's own edits stay pending in what it shows until a store read finds them gone (finding M).
    const unsaved = (id: string) => hasUnsavedEdits(this.patches, id);
    this.entries = new StoredEntries({ patches, docs: this.docs, ownEdits: this.ownEdits, report: (error, docId) => this.report(error, docId), scheduler: this.scheduler });
    // Docs the store already tracked when we were made get their entries now, not at first connect (seed: "added on tracking").
    const entriesRead = this.patches.ready.then(() => this.entries.add([...this.patches.trackedDocs], { onlyMissing: true }));
    // A follower shows the leader's state and map; leading, it makes them its own before it announces them.
    const borrowed = new BorrowedStatus({ patches, docs: this.docs, ownEdits: this.ownEdits, unsaved, entries: this.entries, entriesRead, setState: change => this.setState(change) });
    this.subscription.add(
      this.tabs.mirror(
        this.state$,
        this.synced$,
        (state, synced, removed, gone) => borrowed.show(state, synced, removed, gone),
        () => borrowed.own(),
      ),
    );
    // Another tab's connect() is this leader's to act on (after an auth refusal only a connect() reconnects).
    this.subscription.add(this.tabs.connectAsked$.subscribe(() => void this.connect().catch(() => undefined)));
    this.connection = new PatchesConnection(url, {
      websocket: options.websocket,
      online$: this.tabs.gate(online$),
      scheduler: this.scheduler,
      random: options.random,
      reconnectDelay: options.reconnectDelay,
      maxReconnectDelay: options.maxReconnectDelay,
      rpcTimeout: options.rpcTimeout,
      liveness: options.liveness,
      wake$: outliving('wake$', options.wake$ ?? wakeups$(), EMPTY, error => this.report(error)),
    });
    // The store was upgraded by a newer build: this tab gave the lead up; say so once (its store calls fail quietly, see errorPolicy).
    this.subscription.add(
      this.tabs.outdated$.subscribe(error => {
        this.setState({ connected: false, syncing: error });
        this.errorSubject.next({ error });
      }),
    );
    // Refused for auth: say so once; reconnecting waits for connect() with fresh credentials.
    this.subscription.add(
      this.connection.authError$.subscribe(error => {
        this.setState({ connected: false, syncing: error });
        this.errorSubject.next({ error });
      }),
    );
    this.serverSubscriptions = new ServerSubscriptions({
      connection: this.connection,
      subscribeFilter: options.subscribeFilter,
      canSend: () => this.canSend(),
      report: (error, docId) => this.report(error, docId),
      scheduler: this.scheduler,
      // Subscribed only now: what was committed meanwhile was not broadcast to us.
      resubscribed: ids => this.pullFor(ids),
    });
    this.docSync = new DocSync({
      patches,
      connection: this.connection,
      docs: this.docs,
      entries: this.entries,
      limits: {
        maxPayloadBytes: options.maxPayloadBytes ?? patches.docOptions.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES,
        sizeCalculator: options.sizeCalculator ?? patches.docOptions.sizeCalculator,
      },
      budgets: this.budgets,
      // Patches cuts changes to its budget as they are made; only with the sync's own measure is that the same cut.
      mintBudget: (options.sizeCalculator ?? patches.docOptions.sizeCalculator) === patches.docOptions.sizeCalculator ? patches.docOptions.maxStorageBytes : undefined,
      requestSync: docId => this.syncRequests.next(docId),
      report: (error, docId) => this.report(error, docId),
      catchUpBySnapshot: options.catchUpBySnapshot !== false,
    });
    this.deletes = new DocDeletes({
      patches,
      connection: this.connection,
      canSend: () => this.canSend(),
      destroyed: () => this.subscription.closed,
      forget: docId => {
        this.forgetDocs([docId]);
        this.serverSubscriptions.forget(docId);
      },
      requestSync: docId => this.syncRequests.next(docId),
      report: (error, docId) => this.report(error, docId),
      scheduler: this.scheduler,
    });
    this.remoteDocDeleted$ = this.deletes.remoteDocDeleted$;
    this.plans = new RunPlans({
      runExclusive: (docId, task) => patches.runExclusive(docId, task),
      unsaved,
      pendingBatches: (docId, algorithm) => this.docSync.pendingBatches(docId, algorithm),
      requestSync: docId => this.syncRequests.next(docId),
    });
    this.failures = new DocFailures({
      docs: this.docs,
      retries: this.retries,
      budgets: this.budgets,
      algorithmOf: docId => this.algorithmOf(docId),
      catchUp$: (docId, algorithm) => this.docSync.catchUp$(docId, algorithm),
      reload$: (docId, algorithm) => this.docSync.reload$(docId, algorithm),
      deleted$: docId => this.deletes.remote$(docId),
      requestSync: docId => this.syncRequests.next(docId),
      report: (error, docId) => this.report(error, docId),
      reportAlways: (error, docId) => this.errorSubject.next({ error: asError(error), docId }),
    });
    this.subscription.add(this.connection.connected$.pipe(switchMap(connected => (connected ? this.fullSync$() : this.disconnected$()))).subscribe());
    this.subscription.add(this.syncRequests.pipe(serialGate(id => id, id => this.syncDoc$(id))).subscribe(id => this.runWaits.finished(id)));
    this.subscription.add(this.serverChanges$().subscribe());
    this.subscription.add(this.connection.notifications$.pipe(filter(n => n.method === 'docDeleted'), mergeMap(n => this.deletes.remote$(docIdOf(n.params)))).subscribe());
    this.subscription.add(from(entriesRead).subscribe());
    // An error in one (un)tracking must not end the stream: every later one would go unsubscribed.
    this.subscription.add(this.patches.tracked$.pipe(mergeMap(e => this.tracked$(e.docIds).pipe(catchError(error => this.reported$(error))))).subscribe());
    this.subscription.add(this.patches.untracked$.pipe(mergeMap(ids => this.untracked$(ids).pipe(catchError(error => this.reported$(error))))).subscribe());
    this.subscription.add(this.patches.changes$.subscribe(e => this.localChange(e.docId)));
    this.subscription.add(merge(this.patches.otherWrites$, this.patches.savedNothing$, this.entries.unread$).pipe(mergeMap(id => this.reread$(id))).subscribe());
    this.subscription.add(this.patches.deleted$.pipe(mergeMap(id => this.deletes.local$(id))).subscribe());
    // An outdated store fails every call: it is reported once, above.
    this.subscription.add(this.patches.errors$.pipe(filter(e => !(e.error instanceof StoreOutdatedError))).subscribe(e => this.errorSubject.next(e)));
    constructed = true;
  }

  /** Connection state: `{ online, connected, syncing }`, the latest, ahead of `state$` during an emission. Frozen: replaced, never changed. */
  get state(): PatchesSyncState {
    return this.stateEmitter.latest ?? this.stateSubject.value;
  }

  /** Per-document sync status, keyed by doc id. */
  get synced(): Readonly<Record<string, SyncedDoc>> {
    return this.docs.value;
  }

  /** The server URL; setting it while connected reconnects to the new one. */
  get url(): string {
    return this.connection.url;
  }

  set url(url: string) {
    this.connection.url = url;
  }

  /** Calls a server method directly (e.g. a custom RPC); emits the result once. */
  call<R>(method: string, ...params: unknown[]): Observable<R> {
    return this.connection.call<R>(method, params);
  }

  /**
   * Connects, and keeps reconnecting (with backoff) until `disconnect()`. Resolves once connected;
   * rejects if the first attempt fails (while reconnection carries on in the background). If
   * offline, waits until online. A `disconnect()` or `destroy()` before it connected rejects it
   * with a `NetworkError`, which is not reported to `onError` nor shown in `state.syncing`, even
   * when a later `connect()` wants the connection again (nothing waits for good); so does a
   * `connect()` after `destroy()`, at once.
   */
  async connect(): Promise<void> {
    // Destroyed: the connection rejects at once (a NetworkError, not reported: the caller's doing).
    if (this.subscription.closed) return this.connection.connect();
    // A new session's first pass is 'initial'; a connect() while one is wanted starts none.
    if (!this.connection.isWanted) this.passCount = 0;
    this.tabs.want(true); // asks for the lead (it waits while another tab that wants a connection holds it)
    this.tabs.askToConnect(); // after an auth refusal, the leader's connection waits for a connect()
    try {
      // Connected by this tab's own socket (at once if it is open), or through the leader's once
      // this tab follows; a tab that stops following (closed) goes by its own socket's outcome.
      // The first to come ends the other wait (found in review: a lone tab never follows, and a
      // follower's socket never opens: each connect() left one subscribed for good).
      await firstValueFrom(merge(this.connection.connect$(), this.tabs.followingLeader$()));
    } catch (error) {
      const err = asError(error);
      // Called off by disconnect() or destroy() before it opened: the caller's doing, nothing to
      // report, even when a later connect() wants the connection again by now (found in review:
      // toggling flashed "sync failed"). A failure the caller has disconnected since is not shown either.
      if (isCalledOff(err) || !this.connection.isWanted) throw err;
      this.setState({ connected: false, syncing: err });
      if (!(err instanceof AuthError)) this.errorSubject.next({ error: err });
      throw err;
    }
  }

  /**
   * Stops reconnecting and closes the socket. A leading tab lets the lead go with it, to a tab
   * that wants a connection if one does (it connects); a tab that follows shows the leader's
   * state still, and its edits still reach the server through the leader.
   */
  disconnect(): void {
    this.connection.disconnect();
    // The statuses the disconnect settled are emitted now, so a leader's last announcement, as
    // it lets the lead go, has them: else a tab that wants no connection showed a doc 'syncing'
    // for as long as no tab led.
    this.docs.flush();
    this.tabs.want(false);
  }

  /** Calls `listener(state)` whenever the connection state changes (not for the current value: read `state`). */
  onStateChange(listener: (state: PatchesSyncState) => void): Unsubscriber {
    return listen(this.state$.pipe(skip(1)), listener);
  }

  /** Calls `listener(synced)` whenever any document's sync status changes (not for the current value: read `synced`). */
  onSyncedChange(listener: (synced: Readonly<Record<string, SyncedDoc>>) => void): Unsubscriber {
    return listen(this.synced$.pipe(skip(1)), listener);
  }

  /** Calls `listener(error, { docId })` for every sync error (and `rolledBack` for an edit whose save failed, as `Patches.onError`). */
  onError(listener: (error: Error, context?: ErrorContext) => void): Unsubscriber {
    return listenErrors(this.error$, listener);
  }

  /** Calls `listener(docId, pendingChanges)` once when a doc is deleted on the server (`pendingChanges` is `[]` when nothing was pending). */
  onRemoteDocDeleted(listener: (docId: string, pendingChanges: Change[]) => void): Unsubscriber {
    return listen(this.remoteDocDeleted$, e => listener(e.docId, e.pendingChanges));
  }

  /** Disconnects and completes every observable (`remoteDocDeleted$` once a remote delete under way has handed its changes over). */
  destroy(): void {
    // Its statuses settled and announced (found in review: a leader's last announcement still
    // said 'syncing', the map due a microtask later, unheard), the lead let go.
    this.disconnect();
    this.subscription.unsubscribe();
    this.retries.clearAll();
    this.serverSubscriptions.reset();
    this.deletes.stopRetries();
    this.connection.destroy();
    this.tabs.close();
    this.stateEmitter.complete(() => this.stateSubject.complete());
    this.docs.complete();
    this.errorSubject.complete();
    // A purge already under way cannot be taken back: its hand-over still reaches the listeners.
    this.deletes.complete();
  }

  // ── The pipeline ──────────────────────────────────────────────────────────────────────────

  /** On every (re)connect: list the store, subscribe all tracked docs in one call, sync each, retry tombstones. */
  private fullSync$(): Observable<unknown> {
    return defer(() => {
      this.setState({ connected: true, syncing: this.passCount++ === 0 ? 'initial' : 'updating' });
      this.serverSubscriptions.reset();
      // The first pass must see the docs the store already tracks, even if connect() beat the listing.
      return from(this.patches.ready.then(() => this.patches.store.listDocs(true)));
    }).pipe(
      concatMap(docs => {
        const tracked = this.patches.trackedDocs;
        const active = docs.filter(d => !d.deleted && tracked.has(d.docId));
        const ids = active.map(d => d.docId);
        const tombstones = docs.filter(d => d.deleted).map(d => d.docId);
        // What the server accepts beyond the anchor (batches, compact acks) is asked beside the subscribe: no extra round trip.
        const subscribe$ = concat(from(this.entries.add(ids)), merge(this.connection.handshake$(), this.serverSubscriptions.subscribe$(ids)));
        return this.subscribeThenSync$(ids, subscribe$, tombstones.map(id => this.deletes.local$(id)));
      }),
      last(null, null),
      tap(() => this.setState({ syncing: null })),
      // A pass that failed on an open socket (a store read, a subscribe refused or unanswered) is
      // run again with the docs' backoff: no reconnect would redo it, and the docs wait for it.
      retry({ delay: (error: unknown, count: number) => this.passRetry$(error, count) }),
      catchError(error => {
        this.setState({ syncing: asError(error) });
        this.report(error);
        return EMPTY;
      }),
    );
  }

  /** When a failed pass runs again (reported on its first failure; shown in `state.syncing` until then); a lost connection redoes it instead. */
  private passRetry$(error: unknown, count: number): Observable<unknown> {
    if (classifyError(error) === 'network') return throwError(() => error);
    this.setState({ syncing: asError(error) });
    if (count === 1) this.report(error);
    return timer(steadyRetryDelay(count - 1), this.scheduler);
  }

  /** The connection dropped (or was closed): nothing is syncing any more. */
  private disconnected$(): Observable<never> {
    return defer(() => {
      const syncing = this.state.syncing;
      this.setState({ connected: false, syncing: syncing instanceof Error ? syncing : null });
      this.docs.settleSyncing();
      this.retries.clearAll();
      this.failures.disconnected();
      // The server holds none of our subscriptions now; the next connection subscribes anew (and retries the tombstones).
      this.serverSubscriptions.reset();
      this.deletes.stopRetries();
      return EMPTY;
    });
  }

  /**
   * Runs `subscribe$` (the docs' entries and their `subscribe`), then syncs each doc (and runs
   * `beside` alongside). A doc's run starts once the server holds its subscription, so a commit's
   * reply catches the doc up (what is committed after it is broadcast to us). An edit made
   * meanwhile asks for no run of its own, which would commit before the subscription and then
   * need a pull: this run sends it.
   */
  private subscribeThenSync$(docIds: string[], subscribe$: Observable<unknown>, beside: Observable<unknown>[] = []): Observable<unknown> {
    return defer(() => {
      const release = this.subscribing.hold(docIds);
      return concat(subscribe$, defer(() => (release(), merge(this.syncAll$(docIds), ...beside)))).pipe(finalize(release));
    });
  }

  /** Requests a sync of each doc and completes when every one of them has finished a run. */
  private syncAll$(docIds: string[]): Observable<never> {
    if (docIds.length === 0) return EMPTY;
    return new Observable<never>(subscriber => {
      // Listen before requesting: a doc that cannot sync reports done synchronously.
      const cancel = this.runWaits.all(docIds, () => subscriber.complete());
      for (const id of docIds) this.syncRequests.next(id);
      return cancel;
    });
  }

  /** One doc's sync: flush pending (the reply carries the catch-up), else catch up, else load. Emits the doc id once, never errors. */
  private syncDoc$(docId: string): Observable<string> {
    const work$ = defer(() => {
      const algorithm = this.algorithmOf(docId);
      if (!algorithm || !this.canSend()) return EMPTY;
      this.docs.update([docId], { status: 'syncing' });
      return this.plans.planned$(docId, algorithm).pipe(
        concatMap(planned =>
          concat(
            (planned.length > 0 ? this.docSync.flush$(docId, algorithm, planned) : this.docSync.catchUp$(docId, algorithm)).pipe(ignoreElements()),
            defer(() => this.settle(docId, algorithm, planned[0]?.batch[0]?.id)),
          ),
        ),
      );
    });
    return concat(work$.pipe(ignoreElements(), catchError(error => this.failures.handle$(docId, error).pipe(ignoreElements()))), of(docId));
  }

  /** Server changes pushed by `changesCommitted`, routed to each doc's algorithm. */
  private serverChanges$(): Observable<unknown> {
    return this.connection.notifications$.pipe(
      filter(n => n.method === 'changesCommitted'),
      // A malformed notification is ignored: it must never end the stream of broadcasts. When it
      // names a tracked doc, that doc pulls what it may have missed through a checked reply.
      map(n => n.params),
      tap(p => {
        const docId = docIdOf(p);
        if (!isDocChanges(p) && this.patches.getDocAlgorithm(docId) !== undefined) this.syncRequests.next(docId);
      }),
      filter((p): p is { docId: string; changes: Change[] } => isDocChanges(p) && this.patches.getDocAlgorithm(p.docId) !== undefined),
      // Kept as they arrive: a commit reply right behind this broadcast may name them by id.
      tap(p => this.docSync.received.add(p.docId, p.changes)),
      dispatchByAlgorithm(p => this.patches.getDocAlgorithm(p.docId) as Algorithm, {
        ot: p => this.receive$(p.docId, p.changes),
        lww: p => this.receive$(p.docId, p.changes),
      }),
    );
  }

  private receive$(docId: string, changes: Change[]): Observable<unknown> {
    const algorithm = this.algorithmOf(docId);
    if (!algorithm) return EMPTY;
    return this.docSync.apply$(docId, algorithm, changes).pipe(
      catchError(error => {
        // A gap: the doc's sync fetches what is missing. Anything else is the doc's error (a
        // change that will not apply reloads it; a store that failed retries it).
        if (classifyError(error) !== 'refetch') return this.failures.handle$(docId, error);
        this.syncRequests.next(docId);
        return EMPTY;
      }),
    );
  }

  /** Newly tracked docs: status entries, then (if connected) subscribe and sync them. */
  private tracked$(docIds: string[]): Observable<unknown> {
    const entries$ = from(this.entries.add(docIds));
    return this.canSend() ? this.subscribeThenSync$(docIds, concat(entries$, this.serverSubscriptions.subscribe$(docIds))) : entries$;
  }

  /** Untracked docs: drop their entries and the subscriptions no remaining doc needs. */
  private untracked$(docIds: string[]): Observable<unknown> {
    return defer(() => {
      this.forgetDocs(docIds);
      return this.serverSubscriptions.unneeded$([...this.patches.trackedDocs]);
    });
  }

  /** Forgets what the sync keeps for docs no longer tracked here: untracked, or dropped as deleted on the server. */
  private forgetDocs(docIds: string[]): void {
    for (const id of docIds) {
      this.retries.clear(id);
      this.budgets.reset(id);
      this.failures.forget(id);
      this.docSync.received.forget(id);
      this.docSync.forget(id);
    }
    this.ownEdits.forget(docIds);
    this.docs.remove(docIds);
  }

  /** Asks for a run of each tracked doc subscribed through `ids` (see `subscribeFilter`). */
  private pullFor(ids: string[]): void {
    const granted = new Set(ids);
    for (const docId of this.patches.trackedDocs) {
      if (this.serverSubscriptions.idsFor([docId]).some(id => granted.has(id))) this.syncRequests.next(docId);
    }
  }

  private localChange(docId: string): void {
    if (!this.patches.getDocAlgorithm(docId)) return;
    this.ownEdits.edited(docId);
    // No entry (its read failed): read it again, so the save indicator shows the doc at all (offline too).
    if (!this.docs.get(docId)) void this.entries.add([docId]);
    this.docs.update([docId], this.canSend() ? { hasPending: true, status: 'syncing' } : { hasPending: true });
    // A doc being subscribed is synced once it is (`subscribeThenSync$`), this edit with it. A
    // run that has not planned yet sends it (`RunPlans`): no follow-up run for it.
    if (this.canSend() && !this.subscribing.has(docId) && !this.plans.tookEdit(docId)) this.syncRequests.next(docId);
  }

  /**
   * The store changed under the doc's entry, which is read again: another tab wrote it (its
   * changes go out if this tab syncs), or a local edit was saved as nothing after a sync run that
   * ended while it was unsaved had counted it as pending (fuzz finding J), or a read of its entry
   * or its rev failed (`StoredEntries.unread$`).
   */
  private reread$(docId: string): Observable<unknown> {
    return this.entries.reread$(docId).pipe(
      tap(() => {
        if (this.canSend() && this.docs.get(docId)?.hasPending && !this.subscribing.has(docId)) this.syncRequests.next(docId);
      }),
    );
  }

  // ── Helpers ───────────────────────────────────────────────────────────────────────────────

  /**
   * Ends a successful run: the doc is 'synced', with `hasPending` from one store read. After a
   * flush that made progress (the head it sent, `sentHead`, is no longer queued), local changes
   * made meanwhile (an LWW edit while its predecessor was in flight, say) get one more run. No
   * progress, no follow-up: a server that never confirms cannot make the doc spin. A read here
   * that fails leaves the doc 'synced' and retries the run (`DocFailures.retryRead`), never
   * 'error': the run did not fail.
   */
  private async settle(docId: string, algorithm: ClientAlgorithm, sentHead: string | undefined): Promise<void> {
    // A doc whose entry could not be read (the store failed a moment) gets it now: updates never make one.
    if (!this.docs.get(docId)) await this.entries.add([docId]);
    // That read failed too (reported): the run is tried again later, or nothing would make the
    // entry and the doc would stay out of `synced` until the next connection.
    if (!this.docs.get(docId) && this.patches.getDocAlgorithm(docId)) {
      this.retries.schedule(docId);
      return;
    }
    this.failures.forget(docId);
    this.budgets.reset(docId);
    let hasPending: boolean;
    try {
      hasPending = await this.entries.hasPending(docId, algorithm);
    } catch (error) {
      // The run succeeded; only the read of what still waits failed (the store failed a moment).
      // The doc is 'synced', its `hasPending` left as it was (true after an edit: never "all
      // saved" unread), and the read is retried with the run's backoff, the failure reported once
      // (it used to paint the doc 'error' until the retry, ~1 s after a commit that succeeded).
      this.failures.retryRead(docId, error);
      this.docs.update([docId], { status: 'synced' });
      return;
    }
    // Shown at once: an edit announced after this read sets hasPending itself, and must not be overwritten.
    this.retries.clear(docId);
    this.docs.update([docId], { status: 'synced', hasPending });
    if (sentHead === undefined || !hasPending) return;
    let queued: boolean;
    try {
      queued = await algorithm.isQueued(docId, sentHead);
    } catch (error) {
      // Whether the flush made progress is unknown: the retry's run sends what still waits.
      return this.failures.retryRead(docId, error);
    }
    if (!queued) this.syncRequests.next(docId);
  }

  private algorithmOf(docId: string): ClientAlgorithm | undefined {
    const name = this.patches.getDocAlgorithm(docId);
    return name ? this.patches.algorithms[name] : undefined;
  }

  private canSend(): boolean {
    const { online, connected } = this.state;
    return online && connected && this.tabs.leading;
  }

  private setState(change: Partial<PatchesSyncState>): void {
    const next = { ...this.state, ...change };
    // Frozen: the state handed out is the one `canSend` reads, so a write to it must throw, not unplug sending.
    if (!sameState(this.state, next)) this.stateEmitter.next(Object.freeze(next));
  }

  /** Reports `error` (see `report`) and ends there: what a pipeline that must outlive it catches with. */
  private reported$(error: unknown): Observable<never> {
    this.report(error);
    return EMPTY;
  }

  private report(error: unknown, docId?: string): void {
    // A dropped connection, a timeout or a restarting server (503) is state, not an error: the
    // doc paths retry it, and the next connection redoes the rest (subscribe included). A doc
    // untracked while its sync ran is gone on purpose.
    const action = classifyError(error);
    if (action === 'network' || action === 'transient' || action === 'untracked') return;
    this.errorSubject.next({ error: asError(error), docId });
  }
}

function sameState(a: PatchesSyncState, b: PatchesSyncState): boolean {
  return a.online === b.online && a.connected === b.connected && a.syncing === b.syncing;
}

/**
 * An observable option of the app's (`online$`, `wake$`) that outlives its own error: the error is
 * reported once, as a `SyncOptionError`, and `fallback` stands for the option from then on.
 */
function outliving<T>(option: 'online$' | 'wake$', source$: Observable<T>, fallback: Observable<T>, report: (error: SyncOptionError) => void): Observable<T> {
  let reported = false;
  return source$.pipe(
    catchError((error: unknown) => {
      if (!reported) report(new SyncOptionError(option, `${option} errored: ${asError(error).message}; ${option === 'online$' ? 'counted as online' : 'no wake-ups'} from now on`, { cause: error }));
      reported = true;
      return fallback;
    }),
  );
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

