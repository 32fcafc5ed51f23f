import { BehaviorSubject, NEVER, Observable, Subject, filter, finalize, firstValueFrom, of, startWith, timeout, timer, toArray, take, type Subscription } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { SyncTabs } from '../../src/net/SyncTabs.js';
import { leadership$, type LockManagerLike } from '../../src/streams/leadership.js';
import { InMemoryStore } from '../../src/stores/InMemoryStore.js';
import type { PatchesStore } from '../../src/stores/PatchesStore.js';
import { AuthError, StoreOutdatedError } from '../../src/errors.js';
import type { PatchesSyncState, SyncedDoc } from '../../src/types.js';
import { ChannelHub } from '../helpers/channelHub.js';
import { FakeLocks } from '../helpers/fakeLocks.js';
import { FakePage } from '../helpers/fakePage.js';
import { createTestScheduler } from '../helpers/marbles.js';

const store = new InMemoryStore();
const entry = (committedRev: number): SyncedDoc => ({ committedRev, hasPending: false, status: 'synced' });

describe('SyncTabs', () => {
  it('should lead alone (no coordination) for a store nobody else writes', async () => {
    const tabs = new SyncTabs(store);
    expect(tabs.leading).toBe(true);
    const online$ = new Subject<boolean>();
    const gate = firstValueFrom(tabs.gate(online$).pipe(take(2), toArray()));
    online$.next(true);
    online$.next(false);
    expect(await gate).toEqual([true, false]);
    tabs.close();
  });

  it('should let the lock go when the app closes it as it learns it leads, so another tab leads (found in review)', async () => {
    const locks = new FakeLocks();
    const tabsOf = () => new SyncTabs(store, { enabled: true, name: 'app', leadership$: leadership$({ name: 'app', locks }), channel: null });
    const first = tabsOf();
    first.leading$.subscribe(leading => {
      if (leading) first.close(); // the app destroys its sync there
    });
    const second = tabsOf();
    // The fake's grants are promise callbacks: one macrotask runs every one of them that can run.
    await new Promise(resolve => setImmediate(resolve));
    expect(second.leading).toBe(true);
    second.close();
  });

  it('should open the connection only while online and leading', async () => {
    const leadership$ = new BehaviorSubject(false);
    const tabs = new SyncTabs(store, { enabled: true, name: 'app', leadership$, channel: null });
    const online$ = new BehaviorSubject(true);
    const seen: boolean[] = [];
    const subscription = tabs.gate(online$).subscribe(open => seen.push(open));
    leadership$.next(true);
    online$.next(false);
    online$.next(true);
    leadership$.next(false);
    subscription.unsubscribe();
    tabs.close();
    expect(seen).toEqual([false, true, false, true, false]);
  });

  it("should show the leader's state and synced map in a follower, and let a follower's connect() through once a leader is known", async () => {
    const hub = new ChannelHub();
    const leaderTabs = new SyncTabs(store, { enabled: true, name: 'app', leadership$: new BehaviorSubject(true), channel: hub.channel() });
    const followerTabs = new SyncTabs(store, { enabled: true, name: 'app', leadership$: new BehaviorSubject(false), channel: hub.channel() });
    const shown: { state: unknown; synced: unknown }[] = [];
    const following = firstValueFrom(followerTabs.followingLeader$());
    const leaderState$ = new BehaviorSubject<PatchesSyncState>({ online: true, connected: false, syncing: null });
    const leaderSynced$ = new BehaviorSubject<Record<string, SyncedDoc>>({});
    const none$ = new BehaviorSubject<PatchesSyncState>({ online: true, connected: false, syncing: null });
    const followerMirror = followerTabs.mirror(none$, new BehaviorSubject({}), (state, synced) => shown.push({ state, synced }));
    const leaderMirror = leaderTabs.mirror(leaderState$, leaderSynced$, () => shown.push({ state: 'the leader must not show', synced: {} }));
    await following;

    leaderState$.next({ online: true, connected: true, syncing: 'initial' });
    leaderSynced$.next({ a: entry(3) });
    leaderState$.next({ online: true, connected: true, syncing: new Error('pass failed') });

    expect(shown.map(s => s.state)).toEqual([
      { connected: false, syncing: null },
      { connected: true, syncing: 'initial' },
      { connected: true, syncing: 'initial' },
      { connected: true, syncing: new Error('pass failed') },
    ]);
    expect(shown.at(-1)?.synced).toEqual({ a: entry(3) });
    followerMirror.unsubscribe();
    leaderMirror.unsubscribe();
    leaderTabs.close();
    followerTabs.close();
  });

  /** A tab of the app 'app' on `hub`, leading or not. */
  const tabOn = (hub: ChannelHub, leading: boolean) => new SyncTabs(store, { enabled: true, name: 'app', leadership$: new BehaviorSubject(leading), channel: hub.channel() });
  /** A leader's mirror, announcing `synced$` (connected, idle). */
  const announcing = (tabs: SyncTabs, synced$: BehaviorSubject<Record<string, SyncedDoc>>) =>
    tabs.mirror(new BehaviorSubject<PatchesSyncState>({ online: true, connected: true, syncing: null }), synced$, () => undefined);
  /** A follower's mirror, collecting the synced maps it is shown. */
  function showing(tabs: SyncTabs): { shown: unknown[]; subscription: Subscription } {
    const shown: unknown[] = [];
    const subscription = tabs.mirror(new BehaviorSubject<PatchesSyncState>({ online: true, connected: false, syncing: null }), new BehaviorSubject({}), (_state, synced) => shown.push({ ...synced }));
    return { shown, subscription };
  }

  it('should answer a tab that starts after the leader announced itself', async () => {
    const hub = new ChannelHub();
    const leaderTabs = tabOn(hub, true);
    const mirror = announcing(leaderTabs, new BehaviorSubject<Record<string, SyncedDoc>>({ a: entry(1) }));
    // Starts later: its hello makes the leader announce again.
    const late = tabOn(hub, false);
    const { shown, subscription } = showing(late);
    await firstValueFrom(late.followingLeader$());
    expect(shown).toEqual([{ a: entry(1) }]);
    for (const done of [subscription, mirror]) done.unsubscribe();
    for (const tabs of [leaderTabs, late]) tabs.close();
  });

  it('should announce nothing while it leads alone, and its state once another tab says hello', async () => {
    const hub = new ChannelHub();
    const leaderTabs = tabOn(hub, true);
    const synced$ = new BehaviorSubject<Record<string, SyncedDoc>>({ a: entry(1) });
    const mirror = announcing(leaderTabs, synced$);
    synced$.next({ a: entry(2) });
    synced$.next({ a: entry(3) });
    expect(hub.posted.filter(m => (m as { type: string }).type === 'state')).toEqual([]);

    const late = tabOn(hub, false);
    const { shown, subscription } = showing(late);
    await firstValueFrom(late.followingLeader$());
    synced$.next({ a: entry(4) });
    expect(shown).toEqual([{ a: entry(3) }, { a: entry(4) }]);
    for (const done of [subscription, mirror]) done.unsubscribe();
    for (const tabs of [leaderTabs, late]) tabs.close();
  });

  // A lone tab's status map then builds no snapshot per update (SyncedDocs): 1,000 docs opened one
  // by one built 2,000 of up to 1,000 keys, half of the loop's time.
  it('should not listen to its map while it leads alone, and announce it whole once another tab says hello', async () => {
    const hub = new ChannelHub();
    const leaderTabs = tabOn(hub, true);
    const synced$ = new BehaviorSubject<Record<string, SyncedDoc>>({ a: entry(1) });
    let listening = 0;
    const counted$ = new Observable<Record<string, SyncedDoc>>(subscriber => {
      listening++;
      const subscription = synced$.subscribe(subscriber);
      return () => (listening--, subscription.unsubscribe());
    });
    const mirror = leaderTabs.mirror(new BehaviorSubject<PatchesSyncState>({ online: true, connected: true, syncing: null }), counted$, () => undefined);
    synced$.next({ a: entry(2) });
    expect(listening).toBe(0);

    const late = tabOn(hub, false);
    const { shown, subscription } = showing(late);
    await firstValueFrom(late.followingLeader$());
    expect(listening).toBe(1);
    synced$.next({ a: entry(3) });
    expect(shown).toEqual([{ a: entry(2) }, { a: entry(3) }]);
    expect(hub.posted.filter(m => (m as { type: string }).type === 'state')).toHaveLength(1);
    for (const done of [subscription, mirror]) done.unsubscribe();
    expect(listening).toBe(0);
    for (const tabs of [leaderTabs, late]) tabs.close();
  });

  // Three tabs, two leading a moment (the lease's overlap): the first word a new leader hears may be
  // the other leader's announcement, posted for a third tab before it answers this one's hello.
  it("should start announcing when the first word it hears from another tab is that tab's announcement", () => {
    const hub = new ChannelHub();
    const leaderTabs = tabOn(hub, true);
    const synced$ = new BehaviorSubject<Record<string, SyncedDoc>>({ a: entry(1) });
    const mirror = announcing(leaderTabs, synced$);
    const other = hub.channel();
    other.addEventListener('message', () => undefined);
    other.postMessage({ type: 'state', name: 'app', state: { connected: true, syncing: null }, synced: {} });
    synced$.next({ a: entry(2) });
    // The leader's own announcements (the other's carries no epoch): its whole map, then the change.
    const announced = hub.posted.filter((m) => 'epoch' in (m as object));
    expect(announced).toEqual([expect.objectContaining({ type: 'state', synced: { a: entry(1) } }), expect.objectContaining({ type: 'changes', changed: { a: entry(2) } })]);
    mirror.unsubscribe();
    leaderTabs.close();
  });

  it('should announce nothing as it starts to lead until this tab has made its state and map its own, then the map it has (found in review)', async () => {
    const hub = new ChannelHub();
    const leaderTabs = tabOn(hub, true);
    const synced$ = new BehaviorSubject<Record<string, SyncedDoc>>({});
    const read = new Subject<void>();
    let owned = 0;
    const mirror = leaderTabs.mirror(new BehaviorSubject<PatchesSyncState>({ online: true, connected: false, syncing: null }), synced$, () => undefined, () => (owned++, read));
    const follower = tabOn(hub, false);
    const { shown, subscription } = showing(follower);
    expect(owned).toBe(1);
    expect(hub.posted.filter(m => ['state', 'changes'].includes((m as { type: string }).type))).toEqual([]);
    // Its docs' entries are read: the first announcement has them.
    synced$.next({ a: entry(1), b: entry(2) });
    read.complete();
    expect(shown).toEqual([{ a: entry(1), b: entry(2) }]);
    for (const done of [subscription, mirror]) done.unsubscribe();
    for (const tabs of [leaderTabs, follower]) tabs.close();
  });

  it('should announce the whole map once, then only the entries that changed and those removed', async () => {
    const hub = new ChannelHub();
    const leaderTabs = tabOn(hub, true);
    const [a1, b1, a2] = [entry(1), entry(1), entry(2)];
    const synced$ = new BehaviorSubject<Record<string, SyncedDoc>>({ a: a1, b: b1 });
    const mirror = announcing(leaderTabs, synced$);
    const follower = tabOn(hub, false);
    const { shown, subscription } = showing(follower);
    await firstValueFrom(follower.followingLeader$());
    synced$.next({ a: a2, b: b1 });
    synced$.next({ a: a2 });

    const announced = hub.posted.filter(m => ['state', 'changes'].includes((m as { type: string }).type));
    expect(announced.map(m => ({ type: (m as { type: string }).type, synced: (m as { synced?: unknown }).synced, changed: (m as { changed?: unknown }).changed, removed: (m as { removed?: unknown }).removed }))).toEqual([
      { type: 'state', synced: { a: entry(1), b: entry(1) }, changed: undefined, removed: undefined },
      { type: 'changes', synced: undefined, changed: { a: entry(2) }, removed: [] },
      { type: 'changes', synced: undefined, changed: {}, removed: ['b'] },
    ]);
    // The follower shows the whole map each time.
    expect(shown).toEqual([{ a: entry(1), b: entry(1) }, { a: entry(2), b: entry(1) }, { a: entry(2) }]);
    for (const done of [subscription, mirror]) done.unsubscribe();
    for (const tabs of [leaderTabs, follower]) tabs.close();
  });

  it('should not apply changes that do not follow on from what it shows, and ask the leader for the whole map again', async () => {
    const hub = new ChannelHub();
    const leaderTabs = tabOn(hub, true);
    const synced$ = new BehaviorSubject<Record<string, SyncedDoc>>({ a: entry(1) });
    const mirror = announcing(leaderTabs, synced$);
    const follower = tabOn(hub, false);
    const { shown, subscription } = showing(follower);
    await firstValueFrom(follower.followingLeader$());
    // Changes from another run of announcements (a leader that went away, say): not ours to apply.
    const stranger = hub.channel();
    stranger.postMessage({ type: 'changes', name: 'app', epoch: 'another', seq: 2, state: { connected: true, syncing: null }, changed: { z: entry(9) }, removed: [] });
    synced$.next({ a: entry(2) });

    const types = hub.posted.map(m => (m as { type: string }).type);
    expect(types.slice(types.indexOf('changes'))).toEqual(['changes', 'resend', 'state', 'changes']);
    expect(shown).toEqual([{ a: entry(1) }, { a: entry(1) }, { a: entry(2) }]);
    for (const done of [subscription, mirror]) done.unsubscribe();
    for (const tabs of [leaderTabs, follower]) tabs.close();
  });

  it('should number its announcements on from where it was when it leads again, never from the start', async () => {
    const hub = new ChannelHub();
    const leadership$ = new BehaviorSubject(true);
    const leaderTabs = new SyncTabs(store, { enabled: true, name: 'app', leadership$, channel: hub.channel() });
    const synced$ = new BehaviorSubject<Record<string, SyncedDoc>>({ a: entry(1) });
    const mirror = announcing(leaderTabs, synced$);
    const follower = tabOn(hub, false);
    const { subscription } = showing(follower);
    await firstValueFrom(follower.followingLeader$());
    synced$.next({ a: entry(2) });
    leadership$.next(false);
    leadership$.next(true);
    synced$.next({ a: entry(3) });

    const announced = hub.posted.filter(m => ['state', 'changes'].includes((m as { type: string }).type)) as Array<{ type: string; seq: number }>;
    // Leading again starts with the whole map, numbered on: a follower that missed some can never take the next for its own.
    // (3: stepping down, it said its connection was gone.)
    expect(announced.map(m => [m.type, m.seq])).toEqual([['state', 1], ['changes', 2], ['changes', 3], ['state', 4], ['changes', 5]]);
    for (const done of [subscription, mirror]) done.unsubscribe();
    for (const tabs of [leaderTabs, follower]) tabs.close();
  });

  it('should let a tab that leads after the others started know of them (they answer its hello)', async () => {
    const hub = new ChannelHub();
    // The follower starts first, while no tab leads: its hello reaches nobody.
    const early = tabOn(hub, false);
    const { shown, subscription } = showing(early);
    const leaderTabs = tabOn(hub, true);
    const mirror = announcing(leaderTabs, new BehaviorSubject<Record<string, SyncedDoc>>({ a: entry(7) }));
    await firstValueFrom(early.followingLeader$());
    expect(shown).toEqual([{ a: entry(7) }]);
    for (const done of [subscription, mirror]) done.unsubscribe();
    for (const tabs of [leaderTabs, early]) tabs.close();
  });
});

describe('SyncTabs mirror fed back into the follower state (as PatchesSync does)', () => {
  it("should show a leader's error once, not re-make it on every own state change, and keep following (fuzz finding K)", () => {
    const hub = new ChannelHub();
    const leaderTabs = new SyncTabs(store, { enabled: true, name: 'app', leadership$: new BehaviorSubject(true), channel: hub.channel() });
    const followerTabs = new SyncTabs(store, { enabled: true, name: 'app', leadership$: new BehaviorSubject(false), channel: hub.channel() });
    const leaderState$ = new BehaviorSubject<PatchesSyncState>({ online: true, connected: false, syncing: null });
    const leaderMirror = leaderTabs.mirror(leaderState$, new BehaviorSubject({}), () => undefined);
    // The follower's own state$, set like PatchesSync.setState: a new value only when a field differs.
    const followerState$ = new BehaviorSubject<PatchesSyncState>({ online: true, connected: false, syncing: null });
    let shows = 0;
    const followerMirror = followerTabs.mirror(followerState$, new BehaviorSubject({}), state => {
      shows++;
      const current = followerState$.value;
      if (current.connected !== state.connected || current.syncing !== state.syncing) followerState$.next({ ...current, ...state });
    });

    leaderState$.next({ online: true, connected: false, syncing: new Error('socket hang up') });
    const shownError = followerState$.value.syncing;
    expect(shownError).toEqual(new Error('socket hang up'));
    expect(shows).toBeLessThan(10);
    // The follower's own connection says something: the leader's state is shown again, the same error object.
    followerState$.next({ ...followerState$.value, connected: false, syncing: null });
    expect(followerState$.value.syncing).toBe(shownError);

    leaderState$.next({ online: true, connected: true, syncing: null });
    expect(followerState$.value).toEqual({ online: true, connected: true, syncing: null });
    followerMirror.unsubscribe();
    leaderMirror.unsubscribe();
    leaderTabs.close();
    followerTabs.close();
  });
});

describe('SyncTabs between tabs', () => {
  const tabOn = (hub: ChannelHub, leadership$: BehaviorSubject<boolean>) => new SyncTabs(store, { enabled: true, name: 'app', leadership$, channel: hub.channel() });
  const idle = (): BehaviorSubject<PatchesSyncState> => new BehaviorSubject<PatchesSyncState>({ online: true, connected: true, syncing: null });

  it('should hand a follower the docs each announcement removed, once per announcement', async () => {
    const hub = new ChannelHub();
    const leaderTabs = tabOn(hub, new BehaviorSubject(true));
    const synced$ = new BehaviorSubject<Record<string, SyncedDoc>>({ a: entry(1), b: entry(1) });
    const leaderMirror = leaderTabs.mirror(idle(), synced$, () => undefined);
    const follower = tabOn(hub, new BehaviorSubject(false));
    const own$ = new BehaviorSubject<Record<string, SyncedDoc>>({});
    const removed: string[][] = [];
    const followerMirror = follower.mirror(idle(), own$, (_state, _synced, gone) => removed.push([...gone]));
    await firstValueFrom(follower.followingLeader$());
    synced$.next({ a: entry(1) });
    // The follower's own map changes: the leader's is shown again, with nothing removed this time.
    own$.next({ a: entry(1) });
    expect(removed).toEqual([[], ['b'], []]);
    for (const done of [followerMirror, leaderMirror]) done.unsubscribe();
    for (const tabs of [leaderTabs, follower]) tabs.close();
  });

  it("should not take in another leader's announcements while it leads (two lead a moment): each one's made the other announce again, without end", async () => {
    const hub = new ChannelHub();
    const a = tabOn(hub, new BehaviorSubject(true));
    const synced$ = new BehaviorSubject<Record<string, SyncedDoc>>({ x: entry(1) });
    const aMirror = a.mirror(idle(), synced$, () => undefined);
    const b$ = new BehaviorSubject(false);
    const b = tabOn(hub, b$);
    const bMirror = b.mirror(idle(), new BehaviorSubject<Record<string, SyncedDoc>>({ x: entry(1) }), () => undefined);
    await firstValueFrom(b.followingLeader$());
    const before = hub.posted.length;
    b$.next(true); // the lease's overlap: a froze, b took over, a woke up
    synced$.next({ x: entry(2) });
    const types = hub.posted.slice(before).map(m => (m as { type: string }).type);
    // b's whole map as it starts to lead, and a's change: nothing answers them.
    expect(types).toEqual(['state', 'changes']);
    for (const done of [aMirror, bMirror]) done.unsubscribe();
    for (const tabs of [a, b]) tabs.close();
  });

  it('should ask the whole map of the leader of now when it stops leading, and tell its followers its connection is gone', async () => {
    const hub = new ChannelHub();
    const a$ = new BehaviorSubject(true);
    const a = tabOn(hub, a$);
    const aMirror = a.mirror(idle(), new BehaviorSubject<Record<string, SyncedDoc>>({ x: entry(1) }), () => undefined);
    const c = tabOn(hub, new BehaviorSubject(false));
    const shown: unknown[] = [];
    const cMirror = c.mirror(idle(), new BehaviorSubject({}), state => shown.push(state));
    await firstValueFrom(c.followingLeader$());
    a$.next(false);
    expect(shown).toEqual([
      { connected: true, syncing: null },
      { connected: false, syncing: null },
    ]);
    expect(hub.posted.map(m => (m as { type: string }).type).slice(-2)).toEqual(['changes', 'resend']);
    for (const done of [aMirror, cMirror]) done.unsubscribe();
    for (const tabs of [a, c]) tabs.close();
  });

  it("should show the leader's error as the class it is, with its fields (an AuthError and its code)", async () => {
    const hub = new ChannelHub();
    const leaderTabs = tabOn(hub, new BehaviorSubject(true));
    const state$ = new BehaviorSubject<PatchesSyncState>({ online: true, connected: false, syncing: new AuthError('Connection refused', 4401, { closeCode: 4401, closeReason: 'Unauthorized' }) });
    const leaderMirror = leaderTabs.mirror(state$, new BehaviorSubject({}), () => undefined);
    const follower = tabOn(hub, new BehaviorSubject(false));
    let syncing: PatchesSyncState['syncing'] = null;
    const followerMirror = follower.mirror(idle(), new BehaviorSubject({}), state => (syncing = state.syncing));
    await firstValueFrom(follower.followingLeader$());
    expect(syncing).toBeInstanceOf(AuthError);
    expect(syncing).toMatchObject({ name: 'AuthError', message: 'Connection refused', code: 4401, closeCode: 4401, closeReason: 'Unauthorized' });
    for (const done of [followerMirror, leaderMirror]) done.unsubscribe();
    for (const tabs of [leaderTabs, follower]) tabs.close();
  });

  it("should pass a follower's connect() to the tab that leads, and to no other", async () => {
    const hub = new ChannelHub();
    const leaderTabs = tabOn(hub, new BehaviorSubject(true));
    const other = tabOn(hub, new BehaviorSubject(false));
    const follower = tabOn(hub, new BehaviorSubject(false));
    const asked: string[] = [];
    const subscriptions = [leaderTabs.connectAsked$.subscribe(() => asked.push('leader')), other.connectAsked$.subscribe(() => asked.push('other'))];
    follower.askToConnect();
    leaderTabs.askToConnect(); // the leader connects by itself
    expect(asked).toEqual(['leader']);
    for (const done of subscriptions) done.unsubscribe();
    for (const tabs of [leaderTabs, other, follower]) tabs.close();
  });

  it('should give the lead up for good when its store is outdated (a newer build upgraded it), and say so once', () => {
    const outdated$ = new Subject<StoreOutdatedError>();
    const outdatedStore = Object.assign(new InMemoryStore(), { outdated$ }) as PatchesStore;
    let held = false;
    // The lock: held while subscribed.
    const lock$ = NEVER.pipe(
      startWith(true),
      finalize(() => (held = false)),
    );
    const hub = new ChannelHub();
    const tabs = new SyncTabs(outdatedStore, { enabled: true, name: 'app', leadership$: new Observable<boolean>(subscriber => ((held = true), lock$.subscribe(subscriber))), channel: hub.channel() });
    const seen: boolean[] = [];
    const reported: Error[] = [];
    const subscriptions = [tabs.leading$.subscribe(leading => seen.push(leading)), tabs.outdated$.subscribe(error => reported.push(error))];
    expect(held).toBe(true);
    const error = new StoreOutdatedError('app', 3, 4);
    outdated$.next(error);
    outdated$.next(new StoreOutdatedError('app', 3, 5));
    expect(seen).toEqual([true, false]);
    expect(held).toBe(false);
    expect(reported).toEqual([error]);
    // Asked to connect, it stays out too.
    tabs.askToConnect();
    expect(hub.posted.map(m => (m as { type: string }).type)).toEqual(['hello']);
    for (const done of subscriptions) done.unsubscribe();
    tabs.close();
  });

  it('should not lead at all when its store is outdated before it starts, even without tab coordination', () => {
    const outdatedStore = Object.assign(new InMemoryStore(), { outdated$: new BehaviorSubject(new StoreOutdatedError('app', 3, 4)) }) as PatchesStore;
    const tabs = new SyncTabs(outdatedStore, { enabled: false });
    expect(tabs.leading).toBe(false);
    tabs.close();
  });
});

/** A free lock: granted at once, on every request; each request and release noted in `events`. */
function freeLock(events: string[]): Observable<boolean> {
  return new Observable<boolean>(subscriber => {
    events.push('lock requested');
    subscriber.next(true);
    return () => events.push('lock released');
  });
}

describe('SyncTabs while its page is away (back/forward cache, frozen)', () => {
  /** Resolves once `tabs` leads. */
  const leads = (tabs: SyncTabs) => firstValueFrom(tabs.leading$.pipe(filter(Boolean)));

  it('should close its socket before it lets the lock go when its page is stored or frozen, and ask for the lock again when it comes back', () => {
    const events: string[] = [];
    const lock$ = freeLock(events);
    const page = new FakePage();
    const tabs = new SyncTabs(store, { enabled: true, name: 'app', leadership$: lock$, channel: null, page });
    const gate = tabs.gate(of(true)).subscribe(open => events.push(open ? 'socket open' : 'socket closed'));
    page.store();
    page.restore();
    page.freeze();
    page.resume();
    expect(events).toEqual([
      ...['lock requested', 'socket open'],
      ...['socket closed', 'lock released', 'lock requested', 'socket open'],
      ...['socket closed', 'lock released', 'lock requested', 'socket open'],
    ]);
    gate.unsubscribe();
    tabs.close();
  });

  it('should hand the lead to another tab while its page is in the back/forward cache, and follow that tab once restored', async () => {
    const hub = new ChannelHub();
    const locks = new FakeLocks();
    const tabOn = (page: FakePage) => new SyncTabs(store, { enabled: true, name: 'app', leadership$: leadership$({ name: 'app', locks }), channel: hub.channel(), page });
    const [pageA, pageB] = [new FakePage(), new FakePage()];
    const a = tabOn(pageA);
    await leads(a);
    const b = tabOn(pageB);
    const state$ = new BehaviorSubject<PatchesSyncState>({ online: true, connected: true, syncing: null });
    const mirrors = [a, b].map(tabs => tabs.mirror(state$, new BehaviorSubject({}), () => undefined));

    pageA.store();
    expect(a.leading).toBe(false);
    await leads(b);
    pageA.restore();
    await firstValueFrom(a.followingLeader$());
    expect([a.leading, b.leading]).toEqual([false, true]);
    // It asked for the lock again: it leads once the other tab goes.
    b.close();
    await leads(a);
    for (const done of mirrors) done.unsubscribe();
    a.close();
  });

  describe('with the lease (no Web Locks)', () => {
    let testScheduler: TestScheduler;
    const values = { f: false, t: true };
    beforeEach(() => (testScheduler = createTestScheduler()));
    const tabOn = (hub: ChannelHub, id: string, page: FakePage) =>
      new SyncTabs(store, { enabled: true, name: 'app', leadership$: leadership$({ name: 'app', locks: null, channel: hub.channel(), id, heartbeat: 10, leaseTimeout: 40, scheduler: testScheduler }), channel: null, page });

    it('should hand the lead to another tab while its page is frozen, and follow it once resumed', () => {
      testScheduler.run(({ expectObservable }) => {
        const hub = new ChannelHub();
        const pageA = new FakePage();
        const a = tabOn(hub, 'a', pageA);
        const b = tabOn(hub, 'b', new FakePage());
        testScheduler.schedule(() => pageA.freeze(), 50);
        testScheduler.schedule(() => pageA.resume(), 100);
        testScheduler.schedule(() => b.close(), 150);
        testScheduler.schedule(() => a.close(), 200);
        // a resigns as it freezes (50) and b leads a heartbeat later; resumed, a claims and hears b's heartbeat; b closes, a leads.
        expectObservable(a.leading$).toBe('f 9ms t 39ms f 109ms t 39ms |', values);
        expectObservable(b.leading$).toBe('f 59ms t 89ms |', values);
      });
    });

    it('should hand the lead to a tab that wants a connection when the leader stops wanting one, and ask for it again when it wants one again', () => {
      testScheduler.run(({ expectObservable }) => {
        const hub = new ChannelHub();
        const a = tabOn(hub, 'a', new FakePage());
        const b = tabOn(hub, 'b', new FakePage());
        testScheduler.schedule(() => a.want(false), 50);
        testScheduler.schedule(() => a.want(true), 100);
        testScheduler.schedule(() => b.want(false), 150);
        testScheduler.schedule(() => (a.close(), b.close()), 200);
        // a resigns at 50 and b leads a heartbeat later; a claims again at 100 and hears b's heartbeat; b resigns at 150, a leads at 160.
        expectObservable(a.leading$).toBe('f 9ms t 39ms f 109ms t 39ms |', values);
        expectObservable(b.leading$).toBe('f 59ms t 89ms f 49ms |', values);
      });
    });

    it('should lead again once resumed when no tab took the lead', () => {
      testScheduler.run(({ expectObservable }) => {
        const page = new FakePage();
        const a = tabOn(new ChannelHub(), 'a', page);
        testScheduler.schedule(() => page.freeze(), 50);
        testScheduler.schedule(() => page.resume(), 100);
        testScheduler.schedule(() => a.close(), 200);
        expectObservable(a.leading$).toBe('f 9ms t 39ms f 59ms t 89ms |', values);
      });
    });
  });

  it('should not ask for the lead again when its page comes back once its store is outdated', () => {
    const outdated$ = new Subject<StoreOutdatedError>();
    const outdatedStore = Object.assign(new InMemoryStore(), { outdated$ }) as PatchesStore;
    let requests = 0;
    const lock$ = new Observable<boolean>(subscriber => (requests++, subscriber.next(true)));
    const page = new FakePage();
    const tabs = new SyncTabs(outdatedStore, { enabled: true, name: 'app', leadership$: lock$, channel: null, page });
    page.freeze();
    outdated$.next(new StoreOutdatedError('app', 3, 4));
    page.resume();
    page.store();
    page.restore();
    expect(requests).toBe(1);
    expect(tabs.leading).toBe(false);
    tabs.close();
  });

  it('should stop listening to its page once closed', () => {
    const page = new FakePage();
    const tabs = new SyncTabs(store, { enabled: true, name: 'app', leadership$: of(true), channel: null, page });
    expect(page.listenerCount).toBeGreaterThan(0);
    tabs.close();
    expect(page.listenerCount).toBe(0);
  });
});

describe('SyncTabs and whether its tab wants a connection (found in review, tabs30 finding 2)', () => {
  it('should ask for the lock only while its tab wants a connection and its page runs, and close its socket before it lets the lock go', () => {
    const events: string[] = [];
    const lock$ = freeLock(events);
    const page = new FakePage();
    const tabs = new SyncTabs(store, { enabled: true, name: 'app', leadership$: lock$, channel: null, page }, { wanted: false });
    const gate = tabs.gate(of(true)).subscribe(open => events.push(open ? 'socket open' : 'socket closed'));
    tabs.want(true);
    tabs.want(false);
    page.freeze();
    tabs.want(true); // its page is away: not yet
    page.resume();
    expect(events).toEqual(['socket closed', ...['lock requested', 'socket open'], ...['socket closed', 'lock released'], ...['lock requested', 'socket open']]);
    gate.unsubscribe();
    tabs.close();
  });

  it('should let another tab that wants a connection lead while it wants none, and wait behind it when it wants one again', async () => {
    const locks = new FakeLocks();
    const tabOf = () => new SyncTabs(store, { enabled: true, name: 'app', leadership$: leadership$({ name: 'app', locks }), channel: null }, { wanted: false });
    const [a, b] = [tabOf(), tabOf()];
    const leads = (tabs: SyncTabs) => firstValueFrom(tabs.leading$.pipe(filter(Boolean)));
    a.want(true);
    await leads(a);
    b.want(true);
    a.want(false);
    await leads(b);
    a.want(true);
    // The fake's grants are promise callbacks: one macrotask runs every one of them that can run.
    await new Promise(resolve => setImmediate(resolve));
    expect([a.leading, b.leading]).toEqual([false, true]);
    b.want(false);
    await leads(a);
    a.close();
    b.close();
  });
});

describe('SyncTabs next to a tab of an older schema version of its store (found in review)', () => {
  /** A store of schema version 4 on database 'app' that other instances write, as `IndexedDBStore` is. */
  const schema4Store = Object.assign(new InMemoryStore(), { dbName: 'app', schemaVersion: 4, changes$: NEVER }) as PatchesStore;
  /** One hub per channel name, as a browser's `BroadcastChannel`s are. */
  let hubs: Map<string, ChannelHub>;
  const hubOf = (name: string) => hubs.get(name) ?? hubs.set(name, new ChannelHub()).get(name)!;
  const realChannel = Object.getOwnPropertyDescriptor(globalThis, 'BroadcastChannel');
  const realNavigator = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
  /** The host's globals: `navigator.locks` (or none) and a `BroadcastChannel` on `hubs`. */
  const host = (locks: FakeLocksByName | undefined) => {
    Object.defineProperty(globalThis, 'navigator', { value: { locks }, configurable: true, writable: true });
    Object.defineProperty(globalThis, 'BroadcastChannel', { value: function (name: string) { return hubOf(name).channel(); }, configurable: true, writable: true });
  };
  beforeEach(() => (hubs = new Map()));
  afterEach(() => {
    for (const [key, real] of [['navigator', realNavigator], ['BroadcastChannel', realChannel]] as const) {
      if (real) Object.defineProperty(globalThis, key, real);
      else delete (globalThis as Record<string, unknown>)[key];
    }
  });

  it("should lead apart while an older build's tab holds the lock it named without a version, and show only its own leader's state (Web Locks)", async () => {
    const locks = new FakeLocksByName();
    host(locks);
    // A tab of a schema-3 build that leads for good (builds before f526abf never gave the lead up)
    // and answers every hello with its state: connected.
    void locks.request('patches-rx:leader:app', {}, () => new Promise<void>(() => undefined));
    const old = hubOf('patches-rx:store:sync:app').channel();
    old.addEventListener('message', ({ data }) => {
      if ((data as { type?: string }).type === 'hello') old.postMessage({ type: 'state', name: 'app', state: { connected: true, syncing: null }, synced: { old: entry(9) } });
    });
    const [a, b] = [new SyncTabs(schema4Store), new SyncTabs(schema4Store)];
    await firstValueFrom(a.leading$.pipe(filter(Boolean), timeout({ first: 1000 })));
    const shown: { state: unknown; synced: unknown }[] = [];
    const mirrors = [
      a.mirror(new BehaviorSubject<PatchesSyncState>({ online: true, connected: false, syncing: null }), new BehaviorSubject({ mine: entry(1) }), () => undefined),
      b.mirror(new BehaviorSubject<PatchesSyncState>({ online: true, connected: false, syncing: null }), new BehaviorSubject({}), (state, synced) => shown.push({ state, synced: { ...synced } })),
    ];
    await firstValueFrom(b.followingLeader$().pipe(timeout({ first: 1000 })));
    expect([a.leading, b.leading]).toEqual([true, false]);
    expect(shown).toEqual([{ state: { connected: false, syncing: null }, synced: { mine: entry(1) } }]);
    for (const done of mirrors) done.unsubscribe();
    a.close();
    b.close();
  });

  it("should lead apart while an older build's tab heartbeats the lease it named without a version (no Web Locks)", () => {
    host(undefined);
    const testScheduler = createTestScheduler();
    testScheduler.run(({ expectObservable }) => {
      // A schema-3 build's leader: the lowest id, beating every 250 ms.
      const lease = hubOf('patches-rx:leader:app:lease').channel();
      const beats = timer(0, 250).subscribe(() => lease.postMessage({ lease: 'patches-rx:leader:app', type: 'heartbeat', id: '0' }));
      const tabs = new SyncTabs(schema4Store, {}, { scheduler: testScheduler });
      testScheduler.schedule(() => (beats.unsubscribe(), tabs.close()), 2000);
      expectObservable(tabs.leading$).toBe('f 249ms t 1749ms |', { f: false, t: true });
    });
  });
});

/** `navigator.locks`: one `FakeLocks` per lock name. */
class FakeLocksByName implements LockManagerLike {
  private readonly locks = new Map<string, FakeLocks>();

  request(name: string, options: { signal?: AbortSignal }, callback: () => Promise<void>): Promise<unknown> {
    const locks = this.locks.get(name) ?? this.locks.set(name, new FakeLocks()).get(name)!;
    return locks.request(name, options, callback);
  }
}
