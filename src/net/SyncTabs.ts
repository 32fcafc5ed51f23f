import { BehaviorSubject, EMPTY, Observable, ReplaySubject, Subject, Subscription, catchError, combineLatest, concat, defer, distinctUntilChanged, filter, ignoreElements, map, switchMap, take, tap, type ObservableInput, type SchedulerLike } from 'rxjs';
import type { PatchesStore } from '../stores/PatchesStore.js';
import type { StoreOutdatedError } from '../errors.js';
import { createId } from '../algorithms/createId.js';
import { leadership$ } from '../streams/leadership.js';
import { pageAway$, type PageLifecycleTarget } from '../streams/pageAway.js';
import { openStoreChannel, type StoreChannel } from '../streams/storeChanges.js';
import type { PatchesSyncState, SyncedDoc } from '../types.js';
import { postedError, revivedError, type PostedError } from './postedError.js';

/** How the tabs of one app share one connection (`PatchesSyncOptions.tabs`). */
export interface SyncTabsOptions {
  /** Share one connection between the tabs on the same store (default `true` for a store other instances can write, e.g. `IndexedDBStore`); `false`: this tab keeps its own. */
  enabled?: boolean | undefined;
  /** What the tabs share (default: the store's database name); the tabs of each schema version of the store (`PatchesStore.schemaVersion`) share it apart. */
  name?: string | undefined;
  /** Which tab leads (default `leadership$` over Web Locks, or its lease fallback); injectable for tests. */
  leadership$?: Observable<boolean> | undefined;
  /** Where the leader announces its state (default a `BroadcastChannel` per name; `null`: nowhere). */
  channel?: StoreChannel | null | undefined;
  /** The page whose lifecycle events (`pagehide`, `pageshow`; `freeze`, `resume` on its `document`) this tab follows (default `window` where there is one; `null`: none); injectable for tests. */
  page?: PageLifecycleTarget | null | undefined;
}

/** What `PatchesSync` tells the `SyncTabs` it makes (not an app's option). */
export interface SyncTabsSetup {
  /** Scheduler of the fallback lease's timers. */
  scheduler?: SchedulerLike | undefined;
  /** Whether this tab wants a connection from the start (default `true`; `want()` changes it). */
  wanted?: boolean | undefined;
}

/**
 * The leader's connection state as it is posted (an error with its class and fields: see
 * `PostedError`); `gone` on its last word, as it stops leading.
 */
type PostedState = { connected: boolean; syncing: 'initial' | 'updating' | null | PostedError; gone?: true };

/**
 * What the leader announces: its connection state and every doc's sync status (`'state'`), then
 * only the entries changed since (`'changes'`): posting the whole map on every change cost each
 * tab a structured clone of every tracked doc's entry per keystroke. `epoch` names the leading
 * tab and `seq` numbers its announcements, so a follower applies changes only onto the map they
 * follow from, and otherwise asks for the whole map again (`'resend'`). (A tab of an earlier
 * version reads only `'state'`.) Besides these, a starting tab says `'hello'` (the others
 * `'here'`), and a follower's `connect()` asks the leader to connect (`'connect'`).
 */
type LeaderNews =
  | { type: 'state'; name: string; epoch?: string; seq?: number; state: PostedState; synced: Record<string, SyncedDoc> }
  | { type: 'changes'; name: string; epoch: string; seq: number; state: PostedState; changed: Record<string, SyncedDoc>; removed: string[] };

/** What a follower last heard from the leader: its state, its whole map as announced so far, and what that announcement removed. */
interface Mirrored {
  state: PostedState;
  synced: Record<string, SyncedDoc>;
  removed: readonly string[];
}

/** What the leader's state looks like to a follower. */
export type MirroredState = Pick<PatchesSyncState, 'connected' | 'syncing'>;

/**
 * One connection per browser: the tabs on one store that want a connection (`want`) elect a
 * leader (`leadership$`); only the leader's `PatchesSync` connects (`gate`), and it announces its
 * state and `synced` map, which the other tabs show as theirs (`mirror`), whether they want a
 * connection or not. A tab that stops wanting one lets the lead go to a tab that does. A
 * follower's edits reach the leader through the shared store and its channel, and its
 * `connect()` through the channel (`askToConnect`). When the leader
 * goes away another tab leads and connects, and finds every pending change in the store. A tab
 * whose page is away (`pageAway$`: kept in the back/forward cache, or frozen) gives the lead up
 * until it comes back, then follows whichever tab took it (or leads, if none did). A tab whose
 * store a newer build upgraded (`PatchesStore.outdated$`) gives the lead up for good. The lock,
 * the lease and the announcements are per schema version of the store, so the tabs of a newer
 * version elect their own leader whatever a tab of an older one does.
 *
 * @example
 * const tabs = new SyncTabs(patches.store, {});
 * const connectWhile$ = tabs.gate(online$); // online and leading
 */
export class SyncTabs {
  private readonly leadingSubject: BehaviorSubject<boolean>;
  private readonly subscription = new Subscription();
  private readonly name: string;
  private readonly channel: StoreChannel | null;
  private readonly ownsChannel: boolean;
  /** While following: what the leader announced last (undefined until a whole map came). */
  private readonly news = new BehaviorSubject<Mirrored | undefined>(undefined);
  /** While leading: the next announcement must be the whole map (a newcomer, a resend, a first peer). */
  private readonly wholeAsked = new BehaviorSubject<void>(undefined);
  private readonly connectAsked = new Subject<void>();
  /** Whether this tab wants a connection (`want`): only then does it ask for the lead. */
  private readonly wanted: BehaviorSubject<boolean>;
  private readonly outdatedSubject = new ReplaySubject<StoreOutdatedError>(1);
  /** Set when the store is outdated: this tab never leads nor follows again. */
  private retired = false;
  /** Names this tab's announcements (see `LeaderNews`). */
  private readonly epoch = createId();
  /**
   * The number of this tab's last announcement. It never starts again, also when the tab leads
   * anew: a follower that missed announcements (a frozen page) can never take later changes for
   * the ones right after what it shows.
   */
  private seq = 0;
  /** While leading: the map last announced; undefined: the next announcement is whole. */
  private announced: Readonly<Record<string, SyncedDoc>> | undefined;
  /** While following: the announcements the shown map follows from, or undefined while a whole map is awaited. */
  private followed: { epoch: string | undefined; seq: number | undefined } | undefined;
  /** A whole map was asked for (a hello or a resend) and has not come yet: do not ask again. */
  private awaitingWhole = true;
  /**
   * Whether another tab of this app has been heard (its hello, here or state): until then a leader
   * announces nothing, since a tab alone (the common case) would post every change to nobody.
   */
  private peerKnown = false;

  /** Whether this tab leads (always `true` when tabs do not coordinate, until the store is outdated). */
  readonly leading$: Observable<boolean>;
  /** While this tab leads: another tab's `connect()` (after an auth refusal, say) asks its connection to connect. */
  readonly connectAsked$: Observable<void> = this.connectAsked.asObservable();
  /** Once, after this tab gave the lead up for good: its store was upgraded by a newer build. */
  readonly outdated$: Observable<StoreOutdatedError> = this.outdatedSubject.asObservable();

  constructor(store: PatchesStore, options: SyncTabsOptions = {}, { scheduler, wanted = true }: SyncTabsSetup = {}) {
    const dbName = (store as { dbName?: unknown }).dbName;
    const enabled = options.enabled ?? (store.changes$ !== undefined && typeof dbName === 'string');
    // Per schema version: a tab whose store this build's upgrade closed can sync nothing, and
    // builds without the give-up fix held the lead (and were shown connected) until their tab
    // closed (found in review). Builds before the version was in the name hold the bare one.
    const name = options.name ?? (typeof dbName === 'string' ? dbName : 'patches-rx');
    this.name = store.schemaVersion === undefined ? name : `${name}:schema${store.schemaVersion}`;
    this.leadingSubject = new BehaviorSubject(!enabled);
    this.wanted = new BehaviorSubject(wanted);
    this.leading$ = this.leadingSubject.asObservable().pipe(distinctUntilChanged());
    this.ownsChannel = enabled && options.channel === undefined;
    this.channel = enabled ? (options.channel === undefined ? (openStoreChannel(`sync:${this.name}`) ?? null) : options.channel) : null;
    // A build whose store was upgraded by a newer one can neither sync nor show anything: the lead
    // goes (the lock with it) to a tab that can, here or in the newest build's tabs.
    const outdated = store.outdated$?.pipe(take(1)).subscribe(error => this.retire(error));
    if (outdated) this.subscription.add(outdated);
    if (!enabled || this.retired) return;
    const leads$ = options.leadership$ ?? leadership$({ name: `patches-rx:leader:${this.name}`, scheduler });
    // A page away (kept in the back/forward cache, or frozen) runs nothing for as long as the
    // browser likes: it must not hold the lead, or every tab waits for it. Nor must a tab that
    // wants no connection (its app has not called connect(), or called disconnect()): leading, it
    // kept every tab from syncing while another wanted to (found in review, tabs30 finding 2). So a
    // tab asks for the lock only while its page runs and it wants a connection, lets it go when
    // either ends, and asks again (behind the tabs already waiting) when both hold again. It closes
    // its socket first (leading false), then lets the lock go, so the next leader's socket does
    // not overlap it.
    let leadership: Subscription | undefined;
    const letGo = () => {
      this.leadingSubject.next(false);
      leadership?.unsubscribe();
      leadership = undefined;
    };
    const contends$ = combineLatest([pageAway$(options.page), this.wanted]).pipe(
      map(([away, wants]) => wants && !away),
      distinctUntilChanged(),
    );
    this.subscription.add(
      contends$.subscribe(contends => {
        if (!contends) letGo();
        else if (!this.retired && !leadership) leadership = leads$.subscribe(leading => this.leadingSubject.next(leading));
      }),
    );
    this.subscription.add(() => leadership?.unsubscribe());
    this.subscription.add(this.outdated$.subscribe(letGo));
    this.subscription.add(this.leading$.subscribe(leading => this.roleChanged(leading)));
    if (this.channel) {
      const channel = this.channel;
      const listener = ({ data }: { data: unknown }) => {
        const news = data as Partial<LeaderNews> | null;
        if (news?.name !== this.name || this.retired) return;
        const type = (news as { type?: string }).type;
        // Whatever comes is from another tab: the leader's announcements now have a reader.
        const firstPeer = !this.peerKnown;
        this.peerKnown = true;
        // A tab that just started asks: every tab says it is here (so a later leader knows of it).
        if (type === 'hello') channel.postMessage({ type: 'here', name: this.name });
        // The leader answers a newcomer (or its first peer, whatever its first word: another
        // leader's announcement, in the lease's overlap, or a follower that lost the thread) with a whole map.
        if (this.leading && (type === 'hello' || type === 'resend' || firstPeer)) {
          this.announced = undefined;
          this.wholeAsked.next();
        }
        if (type === 'state' || type === 'changes') {
          // Another tab's announcement while this one leads (both lead a moment, the lease's
          // overlap) is not this tab's to show: taken in, it made this tab announce again, and the
          // other too, without end.
          if (!this.leading) this.heard(news as LeaderNews);
          return;
        }
        if (type === 'connect' && this.leading) this.connectAsked.next();
      };
      channel.addEventListener('message', listener);
      this.subscription.add(() => channel.removeEventListener('message', listener));
      channel.postMessage({ type: 'hello', name: this.name });
    }
  }

  /** Whether this tab leads now. */
  get leading(): boolean {
    return this.leadingSubject.value;
  }

  /** Online and leading: when this tab's connection should be open. */
  gate(online$: Observable<boolean>): Observable<boolean> {
    return combineLatest([online$, this.leading$]).pipe(
      map(([online, leading]) => online && leading),
      distinctUntilChanged(),
    );
  }

  /**
   * While leading, announces `state$` and `synced$` to the other tabs; while following, hands what
   * the leader announces to `show`: the leader's state, its whole map as this tab follows it (to
   * read during the call: it changes in place with the next announcement), and the docs the
   * announcement removed (once per announcement), and whether that was the leader's last word (it
   * stopped leading: nothing it said was syncing still is). The leader's map is shown again
   * whenever this tab's own state or map changes. Each time this tab starts to lead, `own` is
   * called first (at once, before anything is announced) and nothing is announced until what it
   * returns is done: what this tab showed of the old leader must not be announced as its own.
   */
  mirror(
    state$: Observable<PatchesSyncState>,
    synced$: Observable<Readonly<Record<string, SyncedDoc>>>,
    show: (state: MirroredState, synced: Record<string, SyncedDoc>, removed: readonly string[], gone: boolean) => void,
    own: () => ObservableInput<unknown> = () => EMPTY,
  ): Subscription {
    const channel = this.channel;
    if (!channel) return new Subscription();
    return this.leading$
      .pipe(
        switchMap(leading =>
          leading
            ? concat(
                defer(own).pipe(
                  ignoreElements(),
                  catchError(() => EMPTY),
                ),
                this.announce$(channel, state$, synced$),
              )
            : this.follow$(state$, synced$, show),
        ),
      )
      .subscribe();
  }

  /**
   * Whether this tab wants a connection (`PatchesSync.connect()` / `disconnect()`): a tab that
   * wants one asks for the lead (and leads once no other tab that wants one holds it); a tab that
   * stops wanting one closes its socket and lets the lead go, to a tab that wants one if any does.
   * Either way it shows the leader's state.
   */
  want(wanted: boolean): void {
    this.wanted.next(wanted);
  }

  /**
   * Asks the leading tab to connect (a follower's `connect()`: after an auth refusal the leader's
   * connection waits for one, with fresh credentials). Nothing to ask while this tab leads.
   */
  askToConnect(): void {
    if (!this.leading && !this.retired) this.channel?.postMessage({ type: 'connect', name: this.name });
  }

  /** The leader's side of `mirror`: every change of its state or map, once a peer is known; the whole map when asked. */
  private announce$(channel: StoreChannel, state$: Observable<PatchesSyncState>, synced$: Observable<Readonly<Record<string, SyncedDoc>>>): Observable<unknown> {
    return defer(() => {
      // Leading anew starts with the whole map.
      this.announced = undefined;
      // Alone, not even listened to: a tab's status map builds no snapshot nobody reads (`SyncedDocs`).
      // The first peer heard asks for the whole map (`wholeAsked`), which starts the announcements.
      return this.wholeAsked.pipe(
        filter(() => this.peerKnown),
        take(1),
        switchMap(() => combineLatest([state$, synced$, this.wholeAsked])),
      );
    }).pipe(
      tap(([state, synced]) => {
        const syncing = state.syncing instanceof Error ? postedError(state.syncing) : state.syncing;
        channel.postMessage(this.announcement({ connected: state.connected, syncing }, synced));
      }),
    );
  }

  /** The follower's side of `mirror`: what the leader announced, shown again on every change of this tab's own. */
  private follow$(
    state$: Observable<PatchesSyncState>,
    synced$: Observable<Readonly<Record<string, SyncedDoc>>>,
    show: (state: MirroredState, synced: Record<string, SyncedDoc>, removed: readonly string[], gone: boolean) => void,
  ): Observable<unknown> {
    if (this.retired) return EMPTY;
    // One mirrored state per announcement: `show` feeds this tab's own state$ back in here, so an
    // error re-made on every pass would be a new state each time, without end (fuzz finding K).
    let shown: { news: Mirrored; state: MirroredState } | undefined;
    return combineLatest([state$, synced$, this.news]).pipe(
      tap(([, , news]) => {
        if (!news) return;
        const gone = news.state.gone === true;
        if (shown?.news === news) return show(shown.state, news.synced, [], gone);
        const syncing = news.state.syncing;
        shown = { news, state: { connected: news.state.connected, syncing: syncing !== null && typeof syncing === 'object' ? revivedError(syncing) : syncing } };
        show(shown.state, news.synced, news.removed, gone);
      }),
    );
  }

  /**
   * What this tab followed is of no use once it leads. Once it follows again it tells its
   * followers its connection is gone (else they show it connected until another tab leads and
   * announces, maybe never), and asks for the whole map (the leader of now may have announced it
   * while this tab still led, and heard none).
   */
  private roleChanged(leading: boolean): void {
    if (leading) {
      this.followed = undefined;
      this.awaitingWhole = false;
      if (this.news.value) this.news.next(undefined);
    } else if (!this.awaitingWhole && this.followed === undefined) {
      if (this.announced) this.channel?.postMessage(this.announcement({ connected: false, syncing: null, gone: true }, this.announced));
      this.awaitingWhole = true;
      if (!this.retired) this.channel?.postMessage({ type: 'resend', name: this.name });
    }
  }

  /** The store is outdated: stop leading and following for good (the lead goes with `leadership$`), then say so. */
  private retire(error: StoreOutdatedError): void {
    if (this.retired) return;
    this.retired = true;
    this.leadingSubject.next(false);
    if (this.news.value) this.news.next(undefined);
    this.outdatedSubject.next(error);
  }

  /** The leader's next announcement: the whole map first (and when asked), then what changed since the last one. */
  private announcement(state: PostedState, synced: Readonly<Record<string, SyncedDoc>>): LeaderNews {
    const { name, epoch } = this;
    const last = this.announced;
    const seq = ++this.seq;
    this.announced = synced;
    if (!last) return { type: 'state', name, epoch, seq, state, synced: { ...synced } };
    // Entries are immutable values (a new object on every change): what changed is what is not the same object.
    const changed: Record<string, SyncedDoc> = {};
    for (const id in synced) if (synced[id] !== last[id]) changed[id] = synced[id];
    const removed: string[] = [];
    for (const id in last) if (!(id in synced)) removed.push(id);
    return { type: 'changes', name, epoch, seq, state, changed, removed };
  }

  /**
   * A follower takes in what the leader announced: a whole map replaces what it follows; changes
   * apply only onto the announcement right before them from the same leader, else the whole map
   * is asked for again (once until it comes).
   */
  private heard(news: LeaderNews): void {
    const last = this.news.value;
    if (news.type === 'state') {
      this.followed = { epoch: news.epoch, seq: news.seq };
      this.awaitingWhole = false;
      // What the map followed so far had and the whole one has not is removed.
      const removed = last ? Object.keys(last.synced).filter(id => !(id in news.synced)) : [];
      this.news.next({ state: news.state, synced: { ...news.synced }, removed });
      return;
    }
    const followed = this.followed;
    if (!last || !followed || followed.epoch !== news.epoch || followed.seq === undefined || news.seq !== followed.seq + 1) {
      if (!this.awaitingWhole) this.channel?.postMessage({ type: 'resend', name: this.name });
      this.awaitingWhole = true;
      return;
    }
    followed.seq = news.seq;
    // Applied in place: copying a map of thousands of keys per announcement cost more than the rest
    // of it (`show` reads the map while it is called, and keeps none).
    const synced = last.synced;
    for (const id in news.changed) synced[id] = news.changed[id];
    for (const id of news.removed) delete synced[id];
    this.news.next({ state: news.state, synced, removed: news.removed });
  }

  /**
   * Emits once this tab follows a leader that has announced itself (never while this tab leads;
   * completes without a value once closed): a follower is connected through the leader, whatever
   * the leader's own socket is doing (a leader wants a connection: one that stops wanting it lets
   * the lead go). Not a tab that last heard a leader's last word (it stopped leading): then this
   * tab may lead next, and its connect() goes by its own socket (else it resolved while no tab
   * was connected). An observable, not a promise: a lone tab never follows, and whoever stops
   * waiting must be able to let go of it.
   */
  followingLeader$(): Observable<void> {
    return combineLatest([this.leading$, this.news]).pipe(
      filter(([leading, news]) => !leading && news !== undefined && !news.state.gone),
      map(() => undefined),
      take(1),
    );
  }

  /** Gives the leadership up (the next tab takes over) and stops listening. */
  close(): void {
    this.subscription.unsubscribe();
    if (this.ownsChannel) this.channel?.close();
    this.leadingSubject.complete();
    this.news.complete();
    this.wholeAsked.complete();
    this.connectAsked.complete();
    this.wanted.complete();
    this.outdatedSubject.complete();
  }
}
