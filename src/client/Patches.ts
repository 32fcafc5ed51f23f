import { EMPTY, Observable, Subject, Subscription, asyncScheduler, concatMap, defer, finalize, take, timer, type ObservableInput, type SchedulerLike } from 'rxjs';
import type { AnyDoc, Algorithm, Change, SizeCalculator, Unsubscriber } from '../types.js';
import { DocNotTrackedError, OpenDocConflictError, StoreError, StoreLostError, StoreOutdatedError } from '../errors.js';
import { deepEqual } from '../algorithms/deepEqual.js';
import { asStoreError } from './asStoreError.js';
import type { PatchesStore, StoreChange } from '../stores/PatchesStore.js';
import type { AlgorithmContext, ClientAlgorithm } from './ClientAlgorithm.js';
import { KeyedQueue } from '../util/KeyedQueue.js';
import { LWWAlgorithm } from './LWWAlgorithm.js';
import { OTAlgorithm } from './OTAlgorithm.js';
import { PatchesDoc } from './PatchesDoc.js';
import { EditSaves } from './EditSaves.js';
import { DocReferences, type Opening } from './DocReferences.js';
import { listen, listenErrors, type ErrorContext } from './listen.js';
import { queueInView } from './queueInView.js';
import { unsentWork } from '../stores/unsentWork.js';
import { backoffRetry } from '../operators/backoffRetry.js';

/** How a failed read of the store's tracked docs (the first, or one following another instance), or of an open doc after another instance's write, is retried: after 1 s, doubling, at most every 30 s, until it is read. */
const LIST_RETRY = { initialDelay: 1000, factor: 2, maxDelay: 30_000 } as const;

/** Options shared by every document of a `Patches` instance. */
export interface PatchesDocOptions {
  /** Per-change storage limit in bytes: a larger local change is split into several when minted. */
  maxStorageBytes?: number | undefined;
  /** Measures sizes for `maxStorageBytes` (default: UTF-8 bytes of the JSON). */
  sizeCalculator?: SizeCalculator | undefined;
  /** Network limit per `commitChanges` frame; `PatchesSync` falls back to it. */
  maxPayloadBytes?: number | undefined;
  /** Freeze doc states (immer auto-freeze). Off by default; see the README for its cost. */
  freeze?: boolean | undefined;
}

/** Constructor options of `Patches`. */
export interface PatchesOptions {
  /** The one store holding OT and LWW docs. */
  store: PatchesStore;
  /** User metadata spread into every OT change (e.g. `{ user: { id, name } }`). */
  metadata?: Record<string, unknown> | undefined;
  /** Options for every document. */
  docOptions?: PatchesDocOptions | undefined;
  /** Algorithm of docs opened or tracked without one (default `'ot'`). */
  defaultAlgorithm?: Algorithm | undefined;
  /** Clock for change and LWW op timestamps (default `Date.now`); inject one in tests. */
  clock?: (() => number) | undefined;
  /** Scheduler of the retries of a failed read of the store's tracked docs, or of an open doc, following another instance's change (default `asyncScheduler`); a `TestScheduler` in tests. */
  scheduler?: SchedulerLike | undefined;
}

/** Options of `openDoc`. */
export interface OpenDocOptions {
  /**
   * Algorithm for a doc not tracked yet (a tracked doc keeps its own). An open of a doc already
   * open or opening that names another algorithm than its handle's rejects (`OpenDocConflictError`).
   */
  algorithm?: Algorithm | undefined;
  /**
   * Extra metadata for this doc's changes, merged over `Patches` metadata; kept while the doc is
   * open. An open of a doc already open or opening that gives other metadata (by value) than an
   * earlier open gave rejects (`OpenDocConflictError`); one that gives it when none was is taken
   * for the doc's later edits.
   */
  metadata?: Record<string, unknown> | undefined;
}

/** Options of `closeDoc`. */
export interface CloseDocOptions {
  /**
   * Close the doc whatever the number of `openDoc` calls still holding it. Each of them, the
   * caller's own too, still owes its plain `closeDoc` (see `closeDoc`): a view closes its own
   * reference with a plain one.
   */
  force?: boolean | undefined;
}

/** A local change was persisted and is ready to send. */
export interface LocalChangeEvent {
  docId: string;
  changes: Change[];
}

/** Docs started being tracked. */
export interface TrackEvent {
  docIds: string[];
  algorithm: Algorithm;
}

/** An error with the doc it concerns. */
export interface PatchesErrorEvent {
  error: Error;
  docId?: string;
  /**
   * For an edit whose save failed: the ids of the edits rolled back, the failed one first, then
   * every later edit of the doc not saved yet (made on a view that showed it: rolled back with it).
   */
  rolledBack?: string[];
}

/**
 * The conductor: tracks documents, opens `PatchesDoc` handles, persists their local changes in
 * the store, and announces everything `PatchesSync` needs as observables (and as callbacks).
 *
 * @example
 * import { Patches, InMemoryStore } from 'patches-rx';
 * const patches = new Patches({ store: new InMemoryStore(), metadata: { user: { id: 'u1' } } });
 * const doc = await patches.openDoc<{ title?: string }>('notes');
 * doc.change(draft => { draft.title = 'Hello'; });
 */
export class Patches {
  readonly store: PatchesStore;
  readonly metadata: Record<string, unknown>;
  readonly docOptions: PatchesDocOptions;
  readonly defaultAlgorithm: Algorithm;
  /** The per-algorithm sync logic, keyed by algorithm name. */
  readonly algorithms: Readonly<Record<Algorithm, ClientAlgorithm>>;
  /** The LWW one, which also stamps each edit's ops. */
  private readonly lww: LWWAlgorithm;
  /**
   * Resolves once the docs already tracked in the store are known, or their read failed: then a
   * `StoreError` reaches `errors$` (once) and the read is retried, with backoff and before any
   * `trackDocs`, `untrackDocs`, `deleteDoc` or `openDoc`, until the docs come (on `tracked$`); if
   * that read fails again, the call rejects with a `StoreError` and changes nothing.
   */
  readonly ready: Promise<void>;

  private readonly tracked = new Map<string, Algorithm>();
  /** Whether the store's list of tracked docs was read (the first read may fail: see `ready`). */
  private listRead = false;
  /** The retries of a read of the store's list of tracked docs that failed (`listingFailed`), until one reads it. */
  private listRetries: Subscription | undefined;
  private readonly openDocs = new Map<string, PatchesDoc<object>>();
  /** The references `openDoc` and `doc$` hold on the handles, and the `closeDoc` calls owed. */
  private readonly references = new DocReferences({
    openHandle: docId => this.openDocs.get(docId),
    load: (docId, options, opening) => this.load(docId, options, opening),
    closeHandle: docId => this.closeHandle(docId),
  });
  /**
   * Docs being closed: no longer open to the app (`openDoc` waits for the close, then loads a new
   * handle), but their edits still being saved see the handle (rebased entries, its head).
   */
  private readonly closing = new Map<string, { doc: PatchesDoc<object>; done: Promise<void> }>();
  private readonly docMetadata = new Map<string, Record<string, unknown>>();
  private readonly queue = new KeyedQueue();
  /** Changes of the tracked set, one at a time (see `trackingChange`). */
  private readonly trackingQueue = new KeyedQueue();
  private readonly clock: () => number;
  private readonly refreshQueued = new Set<string>();
  /** Per doc, the retries of a refresh whose read failed (`refreshFailed`), until one reads the store. */
  private readonly refreshRetries = new Map<string, Subscription>();
  private readonly scheduler: SchedulerLike;
  /** Docs another instance untracked or deleted: their next refresh reads them whole. */
  private readonly readWhole = new Set<string>();
  /** Docs another instance untracked or deleted, until this one has followed (see `followTracking`). */
  private readonly leftElsewhere = new Set<string>();
  private readonly storeSubscription = new Subscription();
  /** `close()` was called: `openDoc` rejects from then on. */
  private isClosed = false;
  /** The store said on `outdated$` that it can no longer be used (reported then: `storeOutdated`). */
  private outdatedSaid = false;
  /** Saves the open docs' edits (their owner), and reports a failed save. */
  private readonly saves = new EditSaves({
    queue: this.queue,
    prepareOps: (doc, ops) => (doc.algorithm === 'lww' ? this.lww.stamped(doc, ops) : ops),
    mint: (doc, change) => this.algorithms[doc.algorithm].mint(doc.id, change),
    saved: (docId, changes) => this.changeSubject.next({ docId, changes }),
    savedNothing: docId => this.savedNothingSubject.next(docId),
    failed: (error, docId, rolledBack) => this.reportError(error, docId, rolledBack),
  });

  private readonly changeSubject = new Subject<LocalChangeEvent>();
  private readonly trackSubject = new Subject<TrackEvent>();
  private readonly untrackSubject = new Subject<string[]>();
  private readonly deleteSubject = new Subject<string>();
  private readonly serverCommitSubject = new Subject<LocalChangeEvent>();
  private readonly errorSubject = new Subject<PatchesErrorEvent>();
  private readonly otherWriteSubject = new Subject<string>();
  private readonly savedNothingSubject = new Subject<string>();

  /** Local changes, after they are in the store. */
  readonly changes$: Observable<LocalChangeEvent> = this.changeSubject.asObservable();
  /** Newly tracked docs. */
  readonly tracked$: Observable<TrackEvent> = this.trackSubject.asObservable();
  /** Docs no longer tracked (their local data is purged). */
  readonly untracked$: Observable<string[]> = this.untrackSubject.asObservable();
  /** Docs deleted locally, by this instance or another on the same database (a tombstone waits for the server delete). */
  readonly deleted$: Observable<string> = this.deleteSubject.asObservable();
  /**
   * Server changes newly committed to the store. A doc installed from a server snapshot (its first
   * load, or a catch-up by snapshot: `PatchesSyncOptions.catchUpBySnapshot`) lists no changes.
   */
  readonly serverCommits$: Observable<LocalChangeEvent> = this.serverCommitSubject.asObservable();
  /**
   * Errors that no promise could carry: a failed background store write, and, once, a store that
   * can no longer be used (`StoreOutdatedError`; a `StoreLostError` with the open docs' unsent edits).
   */
  readonly errors$: Observable<PatchesErrorEvent> = this.errorSubject.asObservable();
  /** Docs another instance on the same store (another tab) wrote to; emitted once their open handles follow the store. */
  readonly otherWrites$: Observable<string> = this.otherWriteSubject.asObservable();
  /**
   * Docs where a local edit was saved as nothing (a server change rebased it away before it was
   * saved): no `changes$` event follows that edit, so whoever counted it as pending re-reads the doc.
   */
  readonly savedNothing$: Observable<string> = this.savedNothingSubject.asObservable();

  constructor(options: PatchesOptions) {
    this.store = options.store;
    this.metadata = options.metadata ?? {};
    this.docOptions = options.docOptions ?? {};
    this.defaultAlgorithm = options.defaultAlgorithm ?? 'ot';
    this.clock = options.clock ?? Date.now;
    this.scheduler = options.scheduler ?? asyncScheduler;
    const ctx: AlgorithmContext = {
      store: this.store,
      queue: this.queue,
      getOpenDoc: id => this.openDocs.get(id) ?? this.closing.get(id)?.doc,
      metadataFor: id => ({ ...this.metadata, ...this.docMetadata.get(id) }),
      clock: this.clock,
      historyReplaced: id => this.readWhole.delete(id),
      maxStorageBytes: this.docOptions.maxStorageBytes,
      sizeCalculator: this.docOptions.sizeCalculator && this.saves.noted(this.docOptions.sizeCalculator),
    };
    this.lww = new LWWAlgorithm(ctx);
    this.algorithms = { ot: new OTAlgorithm(ctx), lww: this.lww };
    this.ready = this.store.listDocs().then(
      docs => {
        for (const doc of docs) this.tracked.set(doc.docId, doc.algorithm);
        this.listRead = true;
      },
      // Left unread, the docs the store tracks would never sync (their pending changes stay unsent).
      error => this.listingFailed(error),
    );
    if (this.store.changes$) this.storeSubscription.add(this.store.changes$.subscribe(change => this.followStore(change)));
    // A PatchesSync on this instance is made after it, and subscribes to the store after it: the
    // unsent edits are on the error before the sync reports it.
    if (this.store.outdated$) this.storeSubscription.add(this.store.outdated$.pipe(take(1)).subscribe(error => this.storeOutdated(error)));
  }

  /** Ids of the tracked docs. */
  get trackedDocs(): ReadonlySet<string> {
    return new Set(this.tracked.keys());
  }

  /** The algorithm of a tracked doc. */
  getDocAlgorithm(docId: string): Algorithm | undefined {
    return this.tracked.get(docId);
  }

  /** The open handle of a doc, if it is open. */
  getOpenDoc<T extends object = AnyDoc>(docId: string): PatchesDoc<T> | undefined {
    return this.openDocs.get(docId) as unknown as PatchesDoc<T> | undefined;
  }

  /** Runs `task` in the doc's serial queue (used by PatchesSync so store steps never interleave). */
  runExclusive<R>(docId: string, task: () => Promise<R>): Promise<R> {
    return this.queue.run(docId, task);
  }

  /**
   * Tracks docs so they sync even when not open. Already-tracked ids keep their algorithm.
   * Rejects with a `StoreError` if the store fails, or its list of tracked docs still cannot be read.
   *
   * @example
   * await patches.trackDocs(['a', 'b']);          // OT
   * await patches.trackDocs(['presence'], 'lww');
   */
  async trackDocs(docIds: string[], algorithm: Algorithm = this.defaultAlgorithm): Promise<void> {
    await this.ready;
    await this.trackingChange(() => this.track(docIds, algorithm));
  }

  /** In a change of the tracked set: tracks those of the docs not tracked yet, with `algorithm`. */
  private async track(docIds: string[], algorithm: Algorithm): Promise<void> {
    await this.catchUpListing();
    const fresh = [...new Set(docIds)].filter(id => !this.tracked.has(id));
    if (fresh.length === 0) return;
    await this.store.trackDocs(fresh, algorithm);
    for (const id of fresh) this.tracked.set(id, algorithm);
    this.trackSubject.next({ docIds: fresh, algorithm });
  }

  /**
   * Stops tracking docs: closes them and purges their local data. If the store fails to, the
   * promise rejects with a `StoreError` and the docs stay tracked (closed): call it again. An
   * `openDoc` of these docs called before this and not yet resolved rejects with a
   * `DocNotTrackedError`, even if this call then fails; one called after it opens the doc anew.
   */
  async untrackDocs(docIds: string[]): Promise<void> {
    // Decided now, not when the change of the tracked set runs: an openDoc called after this one
    // wins, and gets a new handle (an open one is taken away at once, as closeDoc does).
    for (const id of docIds) this.callOff(id, 'untracked', true);
    await this.ready;
    await this.trackingChange(async () => {
      await this.catchUpListing();
      const known = new Map<string, Algorithm>();
      for (const id of docIds) {
        const algorithm = this.tracked.get(id);
        if (algorithm) known.set(id, algorithm);
      }
      if (known.size === 0) return;
      const ids = [...known.keys()];
      for (const id of ids) {
        this.tracked.delete(id);
        await this.closeHandle(id);
      }
      try {
        await this.store.untrackDocs(ids);
      } catch (error) {
        // The store still tracks them: so does this instance, and a retry untracks them.
        for (const [id, algorithm] of known) this.tracked.set(id, algorithm);
        throw asStoreError(error, `Could not untrack ${ids.map(id => `"${id}"`).join(', ')}`);
      }
      this.untrackSubject.next(ids);
    });
  }

  /**
   * Runs a change of the tracked set (this instance's, or following another instance's) after the
   * ones before it: following reads the store's list, and a list read while this instance
   * tracked, untracked or deleted a doc would undo that (bring the doc back, or drop the new one).
   */
  private trackingChange<R>(task: () => Promise<R>): Promise<R> {
    return this.trackingQueue.run('tracking', task);
  }

  /**
   * In a change of the tracked set: if a read of the store's list is owed (the first read failed,
   * or one following another instance, whose retries wait: `listingFailed`), reads it now, so the
   * change is decided on the docs the store tracks (an untrack finds them, a track keeps their
   * algorithm). If it fails again the change rejects with a `StoreError`: decided without the
   * list, an untrack would find nothing to untrack and a track could record a doc the store tracks
   * as LWW as an OT one. The retries go on.
   */
  private async catchUpListing(): Promise<void> {
    if (this.listRead && !this.listRetries) return;
    await this.followTracking().catch(error => {
      throw asStoreError(error, 'Could not read the docs the store tracks');
    });
  }

  /**
   * The store's list of tracked docs could not be read: first thing (`ready`), or following
   * another instance's track, untrack or delete, which left so keeps the tracked set behind the
   * store until its next such change (docs it tracked neither synced nor listed here, docs it
   * untracked or deleted still open here, their edits refused by the store). Reported once, the
   * list is read again (`retryRead`) until a read of it succeeds: a retry's, or one a change of
   * the tracked set or a later message made.
   */
  private listingFailed(error: unknown): void {
    // Retrying already (the first read, or an earlier message, failed too): those retries read the latest.
    if (this.listRetries) return;
    if (error instanceof StoreOutdatedError) return this.readOutdated(error);
    this.reportError(asStoreError(error, 'Could not read the docs the store tracks; retrying'));
    this.listRetries = this.retryRead(
      () => this.trackingChange(() => this.followTracking()),
      noop,
      () => (this.listRetries = undefined),
    );
  }

  /**
   * Makes a read of the store that failed again, after `LIST_RETRY.initialDelay` and then with its
   * backoff (`backoffRetry`), until one succeeds (`read` emits or resolves: `succeeded`); not after
   * `close()`, nor on an outdated store, whose every call fails (said once, `storeOutdated`).
   * `ended` is told when the retries end, whichever way. Returns them, for a read made otherwise
   * that succeeded to end them, or `undefined` when there are none.
   */
  private retryRead(read: () => ObservableInput<unknown>, succeeded: () => void, ended: () => void): Subscription | undefined {
    if (this.isClosed) return undefined;
    const retried = defer(read).pipe(
      backoffRetry({ ...LIST_RETRY, scheduler: this.scheduler, repeatOnComplete: false, retryIf: error => !this.isClosed && !(error instanceof StoreOutdatedError) }),
    );
    const retries = timer(LIST_RETRY.initialDelay, this.scheduler)
      .pipe(
        concatMap(() => retried),
        finalize(ended),
      )
      .subscribe({ next: succeeded, error: noop });
    this.storeSubscription.add(retries);
    return retries.closed ? undefined : retries;
  }

  /**
   * Opens a doc (tracking it if needed) and takes a reference on it: the same instance is returned
   * while it is open, and it stays open until `closeDoc` was called once for each `openDoc` that
   * resolved with it (or is forced, or the doc is untracked, deleted or `close()`d). Two views of
   * one doc can each open it and close it when they go: the other keeps its open handle. Match
   * every call with one `closeDoc`, also one that rejected or whose doc was closed under it
   * (forced, untracked, deleted): that `closeDoc` is owed, and releases no later open's reference.
   *
   * The later call wins: an untrack or delete called after it (here, in another tab, or on the
   * server) before its handle is ready makes it reject with a `DocNotTrackedError` (`deleted`
   * says which), even if that untrack or delete then fails and the doc stays tracked: the open
   * never tracks it again, and takes no reference (its `closeDoc` is owed). One called after
   * `untrackDocs` or `deleteDoc` (even in the same turn) opens the doc anew, with a new handle. A
   * `closeDoc` before its handle is ready releases one reference of the open under way: the last
   * one released makes it resolve with the handle closed. After `close()` it rejects with a
   * `StoreError`. For a reference held as long as a subscription, see `doc$`.
   *
   * Every open of a doc shares its one handle, with one algorithm and one metadata: an open of a
   * doc already open or being opened (by an `openDoc` not yet resolved too) that names another
   * `algorithm`, or gives `metadata` other than an earlier open gave, rejects with an
   * `OpenDocConflictError` (it takes no reference; its `closeDoc` is owed). So does the first open
   * of a doc tracked already with another algorithm than it names (a tracked doc keeps its
   * algorithm). Metadata given when no earlier open gave any applies to the doc's later edits.
   *
   * @example
   * const doc = await patches.openDoc<MyDoc>('project-notes');
   * const counter = await patches.openDoc('counter', { algorithm: 'lww' });
   * await patches.closeDoc('project-notes'); // when the view showing it goes
   */
  async openDoc<T extends object = AnyDoc>(docId: string, options: OpenDocOptions = {}): Promise<PatchesDoc<T>> {
    this.refuseIfClosed(docId);
    const opening = this.references.open(docId, options);
    const doc = opening.doc ?? (await opening.handle);
    const refusal = this.joinRefusal(opening, doc, options);
    if (refusal) {
      // It takes no reference; its closeDoc is owed, as any rejected open's.
      const released = this.references.refused(opening);
      if (released) await released;
      throw refusal;
    }
    return doc as unknown as PatchesDoc<T>;
  }

  /**
   * An open of a doc already open or opening (`opening` started by another call) gets the one
   * handle, with the algorithm and metadata it has: one that asks for another algorithm (the first
   * open too: the doc may be tracked with another), or gives
   * metadata other than an earlier open gave, is refused (`OpenDocConflictError`), not handed a
   * handle that ignores them (found in review). Metadata given when none was is taken for the
   * doc's later edits.
   */
  private joinRefusal(opening: Opening, doc: PatchesDoc<object>, options: OpenDocOptions): OpenDocConflictError | undefined {
    // The first open too: a doc tracked already keeps its algorithm, so its handle may not have the one asked for.
    if (options.algorithm && options.algorithm !== doc.algorithm) return new OpenDocConflictError(doc.id, 'algorithm', doc.algorithm, options.algorithm);
    if (options === opening.options) return undefined;
    if (!options.metadata) return undefined;
    const current = this.docMetadata.get(doc.id);
    if (current && !deepEqual(current, options.metadata)) return new OpenDocConflictError(doc.id, 'metadata', current, options.metadata);
    if (!current && this.openDocs.get(doc.id) === doc) this.docMetadata.set(doc.id, options.metadata);
    return undefined;
  }

  /**
   * The doc as an observable: each subscription opens it (a reference, as `openDoc` takes), emits
   * the handle once it is open (at once if it is open already) and never completes; unsubscribing
   * releases that reference (as `closeDoc` does, closing the doc if it was the last), also before
   * the open resolved. Errors with what `openDoc` rejects with. A doc closed otherwise (untracked,
   * deleted, a forced `closeDoc`) completes its handle's `state$`, not this, and owes nothing (no
   * `closeDoc` releases a subscription's reference). With `switchMap` over ids, only the current
   * doc stays open.
   *
   * @example
   * import { switchMap } from 'rxjs';
   * const title$ = docId$.pipe(
   *   switchMap(id => patches.doc$<MyDoc>(id)), // the doc switched away from is closed
   *   switchMap(doc => doc.state$),
   * );
   */
  doc$<T extends object = AnyDoc>(docId: string, options: OpenDocOptions = {}): Observable<PatchesDoc<T>> {
    return new Observable<PatchesDoc<T>>(subscriber => {
      let opening: Opening;
      try {
        this.refuseIfClosed(docId);
        opening = this.references.hold(docId, options);
      } catch (error) {
        subscriber.error(error);
        return;
      }
      let held = true;
      const emit = (doc: PatchesDoc<object>) => {
        if (subscriber.closed) return; // unsubscribed meanwhile: its reference is released
        const refusal = this.joinRefusal(opening, doc, options);
        if (!refusal) return subscriber.next(doc as unknown as PatchesDoc<T>);
        // Refused as openDoc is: its reference goes now.
        held = false;
        this.references.release(opening, 1).catch(error => this.reportError(error, docId));
        subscriber.error(refusal);
      };
      // An open doc is emitted at once (an async pipe shows it in the same check).
      if (opening.doc) emit(opening.doc);
      else opening.handle.then(emit, error => subscriber.error(error));
      // Nobody awaits this close: what it fails with goes where errors no promise carries go.
      return () => {
        if (held) void this.references.release(opening, 1).catch(error => this.reportError(error, docId));
      };
    });
  }

  /** An open after `close()` is refused. */
  private refuseIfClosed(docId: string): void {
    if (this.isClosed) throw new StoreError(`Cannot open "${docId}": this Patches instance is closed`, docId);
  }

  /**
   * Releases a reference `openDoc` took: the doc closes when its last one is released (or with
   * `force`, whatever their number); it stays tracked and keeps syncing, but its handle stops
   * updating. The handle is no longer open from the call on: an `openDoc` meanwhile waits for the
   * close and returns a new one. A doc still opening is closed as its open resolves (that
   * `openDoc` gets the handle closed); the promise resolves then. On a doc not open, or once
   * every reference is released, it does nothing (it waits for a close under way); it never
   * releases a `doc$` subscription's reference.
   *
   * An `openDoc` whose reference was dropped without its `closeDoc` (a forced one, an untrack or
   * delete here, in another tab or on the server), or that rejected, owes its `closeDoc`: the next
   * plain `closeDoc` calls of the doc pay those off (doing nothing else) before one releases a
   * reference of a later open, so no view's doc is closed under it by another view's late
   * `closeDoc`. A holder that never makes its owed call keeps a later open of the doc open one
   * `closeDoc` longer (a handle left open, never one closed under a view). `close()` forgets them.
   *
   * @example
   * const a = await patches.openDoc('notes'); // one view
   * const b = await patches.openDoc('notes'); // another view: the same handle
   * await patches.closeDoc('notes');          // the first view goes: b is still open
   * await patches.closeDoc('notes');          // the last one: closed
   */
  closeDoc(docId: string, options: CloseDocOptions = {}): Promise<void> {
    // Releasing nothing, it waits for a close under way.
    return this.references.close(docId, options.force === true) ?? this.closing.get(docId)?.done ?? Promise.resolve();
  }

  /**
   * Closes a doc's open handle (or waits for the one closing), never waiting for an open under
   * way: an untrack or a delete runs in the tracking queue, which that open waits for (it tracks
   * the doc), and makes it reject instead (`forget`).
   */
  private closeHandle(docId: string): Promise<void> {
    const doc = this.openDocs.get(docId);
    if (!doc) return this.closing.get(docId)?.done ?? Promise.resolve();
    this.openDocs.delete(docId);
    const done = (async () => {
      await doc.flush();
      await this.queue.settled(docId);
      this.docMetadata.delete(docId);
      doc._close();
    })().finally(() => this.closing.delete(docId));
    this.closing.set(docId, { doc, done });
    return done;
  }

  /**
   * Deletes a doc: closes and untracks it and leaves a local tombstone; `PatchesSync` deletes it
   * on the server (now, or on the next connection) and then removes the tombstone. If the store
   * fails to, the promise rejects with a `StoreError` and the doc stays tracked: call it again.
   * An `openDoc` of it called before this and not yet resolved rejects with a `DocNotTrackedError`
   * (`deleted: true`), even if this call then fails; one called after it opens a new doc.
   */
  async deleteDoc(docId: string): Promise<void> {
    this.callOff(docId, 'deleted', true); // as in untrackDocs: an openDoc called after this one wins
    await this.ready;
    await this.trackingChange(async () => {
      await this.catchUpListing();
      const algorithm = this.tracked.get(docId);
      // Untracked before its handle is closed, as in untrackDocs.
      this.tracked.delete(docId);
      await this.closeHandle(docId);
      try {
        await this.queue.run(docId, () => this.store.deleteDoc(docId));
      } catch (error) {
        // Not deleted: still tracked (closed), and a retry announces the untrack and the delete.
        if (algorithm) this.tracked.set(docId, algorithm);
        throw asStoreError(error, `Could not delete "${docId}"`, docId);
      }
      if (algorithm) this.untrackSubject.next([docId]);
      this.deleteSubject.next(docId);
    });
  }

  /** @internal PatchesSync reports newly durable server changes through this. */
  _announceServerCommit(docId: string, changes: Change[]): void {
    if (changes.length > 0) this.serverCommitSubject.next({ docId, changes });
  }

  /**
   * @internal PatchesSync drops a doc deleted on the server through this: in the doc's queue,
   * `purge` removes its data, then its handle closes, as one change of the tracked set (a list of
   * the store read meanwhile, to follow another instance, would bring the doc back). `purge` may
   * decline (resolve to `undefined`), or fail: the doc then stays as it is. `dropped` is called
   * in the same step as the doc leaves the tracked set, before anything else sees it gone.
   */
  async _dropDoc<R>(docId: string, purge: () => Promise<R | undefined>, dropped?: () => void): Promise<R | undefined> {
    await this.ready;
    return this.trackingChange(() =>
      this.queue.run(docId, async () => {
        const purged = await purge();
        if (purged === undefined) return undefined;
        this.forget(docId, 'deleted');
        this.dropHandle(docId);
        dropped?.();
        return purged;
      }),
    );
  }

  /** Calls `listener(docId, changes)` after each local change is persisted. */
  onChange(listener: (docId: string, changes: Change[]) => void): Unsubscriber {
    return listen(this.changes$, e => listener(e.docId, e.changes));
  }

  /** Calls `listener(docIds, algorithm)` when docs start being tracked. */
  onTrackDocs(listener: (docIds: string[], algorithm: Algorithm) => void): Unsubscriber {
    return listen(this.tracked$, e => listener(e.docIds, e.algorithm));
  }

  /** Calls `listener(docIds)` when docs stop being tracked. */
  onUntrackDocs(listener: (docIds: string[]) => void): Unsubscriber {
    return listen(this.untracked$, listener);
  }

  /** Calls `listener(docId)` when a doc is deleted locally (by this instance or another on the same database). */
  onDeleteDoc(listener: (docId: string) => void): Unsubscriber {
    return listen(this.deleted$, listener);
  }

  /** Calls `listener(docId, changes)` when server changes are newly committed to the store (none for a snapshot installed: see `serverCommits$`). */
  onServerCommit(listener: (docId: string, changes: Change[]) => void): Unsubscriber {
    return listen(this.serverCommits$, e => listener(e.docId, e.changes));
  }

  /**
   * Calls `listener(error, { docId })` for errors no promise could carry. For an edit whose save
   * failed, `rolledBack` lists the ids of the edits rolled back from the view: that one, then every
   * later edit of the doc not saved yet (they were made on a view that showed it), none of them saved.
   */
  onError(listener: (error: Error, context?: ErrorContext) => void): Unsubscriber {
    return listenErrors(this.errors$, listener);
  }

  /** Closes every doc (one still opening as its open resolves) and the store, and completes the observables. */
  async close(): Promise<void> {
    this.isClosed = true;
    this.storeSubscription.unsubscribe();
    for (const id of new Set([...this.openDocs.keys(), ...this.references.underWay(), ...this.closing.keys()])) await this.closeDoc(id, { force: true });
    this.references.forgetDebts();
    await this.store.close();
    for (const subject of [this.changeSubject, this.trackSubject, this.untrackSubject, this.deleteSubject, this.serverCommitSubject, this.errorSubject, this.otherWriteSubject, this.savedNothingSubject]) {
      (subject as Subject<unknown>).complete();
    }
  }

  /**
   * The store can no longer be used (a newer build upgraded it, or it was lost): said once on
   * `errors$`. A lost one took the unsent edits with it: the open views' are handed over on the
   * error first (`StoreLostError.unsentChanges`), as they are now, before an edit made since is
   * refused and rolled back.
   */
  private storeOutdated(error: StoreOutdatedError): void {
    this.outdatedSaid = true;
    if (error instanceof StoreLostError) {
      for (const docId of new Set([...this.openDocs.keys(), ...this.closing.keys()])) {
        const doc = this.openDocs.get(docId) ?? this.closing.get(docId)!.doc;
        const changes = unsentWork(queueInView(doc));
        if (changes.length > 0) error._keepUnsent(docId, changes);
      }
    }
    this.reportError(error);
  }

  /**
   * A read failed on a store that can no longer be used: not retried (every call fails), and
   * reported unless the store said so itself (`storeOutdated`), so the app hears it once however
   * many of another tab's messages make this instance read the store again.
   */
  private readOutdated(error: StoreOutdatedError, docId?: string): void {
    if (!this.outdatedSaid) this.reportError(error, docId);
  }

  /**
   * Another instance (tab) wrote the store: open docs follow it and `otherWrites$` tells
   * PatchesSync; tracking changes are read back from the store (the message is only a hint).
   */
  private followStore(change: StoreChange): void {
    if (change.kind !== 'write') {
      // Tracked again by the time this instance looks, such a doc's new revs may repeat the old
      // ones: what changed since an open view's rev cannot be told from its history rows.
      if (change.kind === 'untrack' || change.kind === 'delete') {
        for (const docId of change.docIds) {
          this.readWhole.add(docId);
          this.leftElsewhere.add(docId);
        }
      }
      void this.trackingChange(() => this.followTracking()).catch(error => this.listingFailed(error));
      return;
    }
    for (const docId of change.docIds) {
      const algorithm = this.tracked.get(docId);
      // A burst of writes needs one refresh: one already queued will read the latest.
      if (!algorithm || this.refreshQueued.has(docId)) continue;
      this.refreshQueued.add(docId);
      this.queue
        .run(docId, () => {
          this.refreshQueued.delete(docId);
          return this.algorithms[algorithm].refresh(docId);
        })
        .then(
          () => {
            this.refreshRetries.get(docId)?.unsubscribe();
            this.otherWriteSubject.next(docId);
          },
          error => this.refreshFailed(docId, error),
        );
    }
  }

  /**
   * A refresh after another instance's write, or of a doc it untracked and tracked again, could
   * not read the store (it failed a moment): left so, the open view stays behind its store, and
   * `otherWrites$` unsaid (PatchesSync neither reads the doc's entry again nor sends another tab's
   * edits), until the doc's next write (found by the shared-idb fuzz with store faults). Reported
   * once, it is tried again (`retryRead`, as a failed read of the tracked docs is) until a refresh
   * reads the store (one after a later write ends the retries too); not on an outdated store. A
   * refresh after a failed one reads the doc whole: the failed read may have taken its mark to be
   * (`readWhole`, another instance untracked it meanwhile), and rows read since the view's rev
   * would then be another history's.
   */
  private refreshFailed(docId: string, error: unknown): void {
    this.readWhole.add(docId);
    // Retrying already (a write announced meanwhile failed too): those retries read the latest.
    if (this.refreshRetries.has(docId)) return;
    if (error instanceof StoreOutdatedError) return this.readOutdated(error, docId);
    this.reportError(error, docId);
    const retries = this.retryRead(
      () => {
        const algorithm = this.tracked.get(docId);
        if (!algorithm) return EMPTY;
        this.readWhole.add(docId);
        return this.queue.run(docId, () => this.algorithms[algorithm].refresh(docId));
      },
      () => this.otherWriteSubject.next(docId),
      () => this.refreshRetries.delete(docId),
    );
    if (retries) this.refreshRetries.set(docId, retries);
  }

  /** Brings the tracked set in line with the store after another instance tracked, untracked or deleted docs. */
  private async followTracking(): Promise<void> {
    await this.ready;
    const listed = await this.store.listDocs(true);
    this.listRead = true;
    // Read: retries of an earlier read that failed have nothing left to do.
    this.listRetries?.unsubscribe();
    const stored = listed.filter(doc => !doc.deleted);
    const live = new Map(stored.map(doc => [doc.docId, doc.algorithm]));
    // Untracked (or deleted) by another instance and tracked again before this one looked: its
    // local data was purged, so it is a new doc here too and its sync starts over (an open view
    // stays and reads it whole, unless it came back with the other algorithm).
    const renewed = new Set([...this.leftElsewhere].filter(id => this.tracked.has(id) && live.get(id) === this.tracked.get(id)));
    this.leftElsewhere.clear();
    // Gone: no longer listed, or listed under the other algorithm (untracked and tracked again so).
    const gone = [...this.tracked.keys()].filter(id => live.get(id) !== this.tracked.get(id));
    const tombstones = new Set(listed.filter(doc => doc.deleted).map(doc => doc.docId));
    for (const id of gone) {
      this.forget(id, tombstones.has(id) ? 'deleted' : 'untracked');
      this.dropHandle(id);
    }
    if (gone.length + renewed.size > 0) this.untrackSubject.next([...gone, ...renewed]);
    // An open view of a renewed doc shows what the store holds now (read whole) before its sync
    // starts over: its entry is built from the view. A read that fails is made again (whole), and
    // PatchesSync reads the entry again when it is (`refreshFailed`): left so, the view showed the
    // old history until the doc's next write.
    for (const id of renewed) {
      const algorithm = this.tracked.get(id)!;
      if (this.openDocs.has(id)) await this.queue.run(id, () => this.algorithms[algorithm].refresh(id)).catch(error => this.refreshFailed(id, error));
    }
    // Deleted by another instance: its tombstone waits for a server delete, which the instance
    // holding the connection (the leading tab) must send, not only the next full pass.
    for (const id of gone) if (tombstones.has(id)) this.deleteSubject.next(id);
    // A doc with no open view has nothing to read whole (opening one reads it whole anyway).
    for (const id of this.readWhole) if (!this.openDocs.has(id)) this.readWhole.delete(id);
    for (const algorithm of ['ot', 'lww'] as const) {
      const fresh = stored.filter(doc => doc.algorithm === algorithm && (!this.tracked.has(doc.docId) || renewed.has(doc.docId))).map(doc => doc.docId);
      for (const id of fresh) this.tracked.set(id, algorithm);
      if (fresh.length > 0) this.trackSubject.next({ docIds: fresh, algorithm });
    }
  }

  /**
   * Takes a doc out of the tracked set, and calls off the opens of it under way (`callOff`): a
   * delete on the server, or another instance's untrack or delete, as this instance follows it.
   */
  private forget(docId: string, how: 'untracked' | 'deleted'): void {
    this.tracked.delete(docId);
    this.callOff(docId, how);
  }

  /**
   * Makes every open of the doc under way reject (`load`), the ones it waits for too: an untrack
   * or delete came after them, and the later call wins. An `openDoc` called after this starts anew;
   * with `closing`, also after the doc's open handle, which starts closing now.
   */
  private callOff(docId: string, how: 'untracked' | 'deleted', closing = false): void {
    this.references.callOff(docId, how);
    if (closing && this.openDocs.has(docId)) {
      this.references.oweOpen(docId);
      this.closeHandle(docId).catch(noop); // the change of the tracked set awaits it
    }
  }

  /** Closes a doc's handle at once, with nothing left to save (its data is gone), and forgets its `openDoc` metadata. */
  private dropHandle(docId: string): void {
    this.references.oweOpen(docId);
    const doc = this.openDocs.get(docId);
    this.openDocs.delete(docId);
    this.docMetadata.delete(docId);
    doc?._close();
  }

  /**
   * Tracks a doc and reads its handle, unless it is untracked or deleted meanwhile; handed out
   * closed if `closeDoc` (or `close`) came meanwhile.
   */
  private async load(docId: string, options: OpenDocOptions, opening: Opening): Promise<PatchesDoc<object>> {
    // A handle still closing would be handed out closed: the new one is read after its last save.
    await this.closing.get(docId)?.done;
    await this.ready;
    await this.trackingChange(async () => {
      // Untracked or deleted since openDoc was called (`forget`, in an earlier change of the
      // tracked set): this open, called before, does not track it again.
      if (!opening.gone) await this.track([docId], options.algorithm ?? this.tracked.get(docId) ?? this.defaultAlgorithm);
    });
    if (opening.gone) throw new DocNotTrackedError(docId, opening.gone === 'deleted', 'open');
    const algorithm = this.tracked.get(docId) ?? this.defaultAlgorithm;
    if (options.metadata) this.docMetadata.set(docId, options.metadata);
    return this.queue.run(docId, async () => {
      const stored = await this.store.getDoc(docId);
      // Untracked or deleted meanwhile (`forget`): the later call wins, and a handle opened now
      // would be one whose every edit the store refuses. Such an open never hands out a handle,
      // so the one an openDoc called since starts (after it) is the only one.
      if (opening.gone || this.tracked.get(docId) !== algorithm) {
        this.docMetadata.delete(docId);
        throw new DocNotTrackedError(docId, opening.gone === 'deleted', 'open');
      }
      const local = algorithm === 'lww' ? [stored?.sending?.ops ?? [], stored?.pendingOps ?? []] : (stored?.pending ?? []).map(c => c.ops);
      const doc = new PatchesDoc<object>(
        docId,
        algorithm,
        { committedState: stored?.state ?? null, committedRev: stored?.committedRev ?? 0, local, localIds: stored?.pending.map(c => c.id) ?? [], rewinds: stored?.rewinds },
        this.saves,
        { freeze: this.docOptions.freeze },
      );
      if (algorithm === 'lww') this.lww.opened(doc, stored);
      if (opening.closed) {
        this.docMetadata.delete(docId);
        doc._close();
      } else {
        this.openDocs.set(docId, doc);
        this.references.opened(opening, doc);
      }
      return doc;
    });
  }

  private reportError(error: unknown, docId?: string, rolledBack?: string[]): void {
    this.errorSubject.next({ error: error instanceof Error ? error : new Error(String(error)), docId, ...(rolledBack?.length ? { rolledBack } : {}) });
  }
}

function noop(): void {}
