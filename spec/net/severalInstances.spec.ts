import 'fake-indexeddb/auto';
import { BehaviorSubject, firstValueFrom, filter, merge, type Observable, type Subject } from 'rxjs';
import { Patches } from '../../src/client/Patches.js';
import { IndexedDBStore } from '../../src/stores/IndexedDBStore.js';
import { InMemoryStore } from '../../src/stores/InMemoryStore.js';
import type { PatchesDoc } from '../../src/client/PatchesDoc.js';
import { AuthError, StatusError, StoreLostError, StoreOutdatedError } from '../../src/errors.js';
import { deleteDatabase } from '../helpers/rawIndexedDB.js';
import { IDB_MIGRATIONS } from '../../src/stores/idbSchema.js';
import { leadership$ } from '../../src/streams/leadership.js';
import { FakeLocks } from '../helpers/fakeLocks.js';
import { FakePage } from '../helpers/fakePage.js';
import { ChannelHub } from '../helpers/channelHub.js';
import type { StoreChannel } from '../../src/streams/storeChanges.js';
import type { Change } from '../../src/types.js';
import { docSynced, idle, startHarness, when, type SyncHarness, type TestClient } from '../helpers/syncHarness.js';
import { connectClient } from '../helpers/wsClient.js';
import { failingStore } from '../helpers/failingStore.js';
import { virtualTime } from '../helpers/marbles.js';

/**
 * Several `Patches` on one IndexedDB database in one process (fake-indexeddb): they behave like
 * tabs of one app — each sees the others' edits through the store's channel, and with a
 * connection each, every edit reaches the server exactly once.
 */

type Notes = { items?: string[]; marks?: Record<string, number> };

let dbCount = 0;

/** Lets the event loop turn until `done()` or 100 turns have passed (fake-indexeddb works in turns of the loop). */
async function turns(done: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !done(); i++) await new Promise(resolve => setImmediate(resolve));
}

describe('several Patches on one IndexedDBStore database', () => {
  let h: SyncHarness;
  const closing: Patches[] = [];

  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
    for (const patches of closing.splice(0)) await patches.close();
  });

  function tab(dbName: string, options: { ownConnection?: boolean } = {}): TestClient {
    const store = new IndexedDBStore(dbName);
    const client = h.client({ store, tabs: { enabled: !options.ownConnection } });
    closing.push(client.patches);
    return client;
  }

  /** Resolves once the tab's open doc has nothing pending (re-checked on every view, store-follow and status event). */
  function settled(t: TestClient, doc: PatchesDoc<Notes>): Promise<unknown> {
    return when(merge(doc.state$, t.patches.otherWrites$, t.sync.synced$), () => !doc.hasPending);
  }

  /** The server's state of a doc, read by a fresh client with its own store. */
  async function serverState(docId: string, algorithm: 'ot' | 'lww' = 'ot'): Promise<Notes> {
    const reader = h.client({ store: new InMemoryStore() });
    await reader.sync.connect();
    await reader.patches.trackDocs([docId], algorithm);
    await docSynced(reader.sync, docId, 1);
    return (await reader.patches.store.getDoc<Notes>(docId))!.state;
  }

  it("should show another instance's edit in an open doc without any sync, and say it is pending", async () => {
    const db = `instances-${++dbCount}`;
    const a = new Patches({ store: new IndexedDBStore(db) });
    const b = new Patches({ store: new IndexedDBStore(db) });
    closing.push(a, b);
    const docA = await a.openDoc<Notes>('notes');
    const docB = await b.openDoc<Notes>('notes');
    const seen = firstValueFrom(docB.state$.pipe(filter(state => state.items?.[0] === 'from A')));
    docA.change(draft => {
      draft.items = ['from A'];
    });
    expect((await seen).items).toEqual(['from A']);
    expect(docB.hasPending).toBe(true);

    // B's edit is written on top of A's, in one queue.
    docB.change(draft => {
      draft.items!.push('from B');
    });
    await docB.flush();
    const pending = await b.store.getPendingChanges('notes');
    expect(pending.map(c => c.baseRev)).toEqual([0, 0]);
    expect(await firstValueFrom(docA.state$.pipe(filter(state => state.items?.length === 2)))).toEqual({ items: ['from A', 'from B'] });
  });

  // Found by the shared-idb fuzz with store faults (seeds 81454, 81470 under load): a read that
  // follows another instance's write failed a moment and was never made again, so the open doc, or
  // its status entry, stayed behind the store until the doc's next write.
  it("should show another instance's edit in the status map when its read there failed a moment, read again later", async () => {
    const db = `instances-${++dbCount}`;
    const scheduler = virtualTime();
    const storeB = failingStore(new IndexedDBStore(db));
    const a = new Patches({ store: new IndexedDBStore(db) });
    const b = h.client({ store: storeB, tabs: { enabled: false }, scheduler });
    closing.push(a, b.patches);
    const docA = await a.openDoc<Notes>('notes');
    const docB = await b.patches.openDoc<Notes>('notes');
    await when(b.sync.synced$, synced => synced.notes !== undefined);
    const aborted = Object.assign(new Error('The transaction was aborted.'), { name: 'AbortError' });
    storeB.failNext('getCommittedRev', aborted);

    docA.change(draft => void (draft.items = ['from A']));
    await turns(() => scheduler.actions.length > 0);
    expect(b.errors).toEqual([aborted]);
    expect(docB.state.items).toEqual(['from A']);
    // Left so, b said "all saved" with A's edit waiting in the store.
    expect(b.sync.synced.notes.hasPending).toBe(false);
    scheduler.flush();
    await turns(() => b.sync.synced.notes.hasPending);

    expect(b.sync.synced.notes).toEqual({ committedRev: 0, hasPending: true, status: 'unsynced' });
    expect(b.errors).toHaveLength(1);
  });

  // Found in review (real Chromium, and here): a tab's edit made during another tab's burst of
  // quick edits lost every race of its read-then-write against the other's appends, was given up
  // after 50 tries and rolled back, with a StoreError.
  it("should save an edit made while another instance writes a burst of edits to the same doc", async () => {
    const db = `instances-${++dbCount}`;
    const a = new Patches({ store: new IndexedDBStore(db) });
    const b = new Patches({ store: new IndexedDBStore(db) });
    closing.push(a, b);
    const errors: unknown[] = [];
    a.onError(error => errors.push(error));
    b.onError(error => errors.push(error));
    const docA = await a.openDoc<Notes>('burst');
    const docB = await b.openDoc<Notes>('burst');
    docA.change(draft => void (draft.items = []));
    await docA.flush();
    await when(docB.state$, s => s.items !== undefined);

    for (let i = 0; i < 200; i++) docA.change(draft => void draft.items!.push(`a${i}`));
    docB.change(draft => void (draft.marks = { b: 1 }));
    await Promise.all([docA.flush(), docB.flush()]);

    expect(errors).toEqual([]);
    const stored = await a.store.getDoc<Notes>('burst');
    expect(stored!.pending).toHaveLength(202);
    expect(docB.state.marks).toEqual({ b: 1 });
  });

  it('should learn of docs another instance tracks', async () => {
    const db = `instances-${++dbCount}`;
    const a = new Patches({ store: new IndexedDBStore(db) });
    const b = new Patches({ store: new IndexedDBStore(db) });
    closing.push(a, b);
    await b.ready;
    const tracked = firstValueFrom(b.tracked$);
    await a.trackDocs(['settings'], 'lww');
    expect(await tracked).toEqual({ docIds: ['settings'], algorithm: 'lww' });
    expect(b.getDocAlgorithm('settings')).toBe('lww');
  });

  it('should commit every edit of three instances with a connection each exactly once, and converge', async () => {
    const db = `instances-${++dbCount}`;
    const tabs = [tab(db), tab(db), tab(db)];
    await Promise.all(tabs.map(t => t.sync.connect()));
    const ot: PatchesDoc<Notes>[] = [];
    const lww: PatchesDoc<Notes>[] = [];
    for (const t of tabs) {
      ot.push(await t.patches.openDoc<Notes>('ot-doc'));
      lww.push(await t.patches.openDoc<Notes>('lww-doc', { algorithm: 'lww' }));
    }
    // One instance creates the containers; the others wait until they see them.
    ot[0].change(draft => {
      draft.items = [];
    });
    lww[0].change(draft => {
      draft.marks = {};
    });
    await Promise.all(tabs.map((t, i) => Promise.all([when(ot[i].state$, s => !!s.items), when(lww[i].state$, s => !!s.marks)])));

    const edits: string[] = [];
    for (let round = 0; round < 12; round++) {
      for (const [i, t] of tabs.entries()) {
        const token = `t${i}-${round}`;
        edits.push(token);
        ot[i].change(draft => {
          draft.items!.splice(round % (draft.items!.length + 1), 0, token);
        });
        lww[i].change(draft => {
          draft.marks![token] = round;
        });
        if (round === 5 && i === 1) t.sync.disconnect();
        if (round === 9 && i === 1) void t.sync.connect();
      }
    }
    await Promise.all(tabs.flatMap((t, i) => [ot[i].flush(), lww[i].flush()]));

    // A fresh client with its own store follows the server until every edit is there.
    const reader = h.client({ store: new InMemoryStore(), tabs: { enabled: false } });
    await reader.sync.connect();
    const readerOT = await reader.patches.openDoc<Notes>('ot-doc');
    const readerLWW = await reader.patches.openDoc<Notes>('lww-doc', { algorithm: 'lww' });
    await when(readerOT.state$, s => (s.items?.length ?? 0) >= edits.length);
    await when(readerLWW.state$, s => Object.keys(s.marks ?? {}).length >= edits.length);
    // One connection for the three tabs (a second only if the leader was the tab that disconnected and came back).
    expect(h.server.stats.connectionsTotal).toBeLessThanOrEqual(3);
    expect(h.server.stats.connections).toBe(2);
    const serverOT = readerOT.state;
    const serverLWW = readerLWW.state;
    const serverHead = readerOT.committedRev;

    expect([...serverOT.items!].sort()).toEqual([...edits].sort());
    expect(Object.keys(serverLWW.marks!).sort()).toEqual([...edits].sort());
    for (const [i, t] of tabs.entries()) {
      await settled(t, ot[i]);
      await when(merge(ot[i].state$, t.patches.otherWrites$), () => ot[i].committedRev === serverHead);
      expect(ot[i].state).toEqual(serverOT);
      await settled(t, lww[i]);
      expect(lww[i].state).toEqual(serverLWW);
      expect(t.errors).toEqual([]);
    }
    expect(await tabs[0].patches.store.getPendingChanges('ot-doc')).toEqual([]);
  });

  it('should hand the connection to another tab when the leader closes, losing no edit', async () => {
    const db = `instances-${++dbCount}`;
    const tabs = [tab(db), tab(db), tab(db)];
    await Promise.all(tabs.map(t => t.sync.connect()));
    const docs = await Promise.all(tabs.map(t => t.patches.openDoc<Notes>('doc')));
    docs[0].change(draft => {
      draft.marks = {};
    });
    await Promise.all(docs.map(doc => when(doc.state$, s => !!s.marks)));
    const leaders = await Promise.all(tabs.map(t => firstValueFrom(t.sync.leading$)));
    expect(leaders.filter(Boolean)).toHaveLength(1);
    const leader = leaders.indexOf(true);

    const edits: string[] = [];
    for (let round = 0; round < 6; round++) {
      for (const [i, doc] of docs.entries()) {
        if (i === leader && round >= 3) continue;
        edits.push(`${i}-${round}`);
        doc.change(draft => {
          draft.marks![`${i}-${round}`] = round;
        });
      }
      if (round === 2) {
        // The leader's tab closes mid-sync: its stored edits stay for the next leader.
        await docs[leader].flush();
        tabs[leader].sync.destroy();
      }
    }
    const rest = tabs.filter((_, i) => i !== leader);
    await Promise.race(rest.map(t => when(t.sync.leading$, Boolean)));
    await Promise.all(rest.map(t => settled(t, docs[tabs.indexOf(t)])));
    await Promise.all(rest.map(t => docSynced(t.sync, 'doc', 1)));
    const server = await serverState('doc');
    expect(Object.keys(server.marks!).sort()).toEqual([...edits].sort());
    for (const [i, doc] of docs.entries()) if (i !== leader) expect(doc.state).toEqual(server);
    expect(await rest[0].patches.store.getPendingChanges('doc')).toEqual([]);
  });

  it("should hand the connection to another tab while the leader's page is frozen, and follow it once resumed", async () => {
    const db = `instances-${++dbCount}`;
    const locks = new FakeLocks();
    const pages = [new FakePage(), new FakePage()];
    const tabs = pages.map(page => {
      const client = h.client({ store: new IndexedDBStore(db), tabs: { leadership$: leadership$({ name: db, locks }), page } });
      closing.push(client.patches);
      return client;
    });
    // A tab asks for the lead once it wants a connection: the first to connect() leads.
    await tabs[0].sync.connect();
    await when(tabs[0].sync.leading$, Boolean);
    await tabs[1].sync.connect();
    const docs = await Promise.all(tabs.map(t => t.patches.openDoc<Notes>('doc')));

    // The leader's tab is frozen in the background (its code would not run from here on).
    pages[0].freeze();
    expect(await firstValueFrom(tabs[0].sync.leading$)).toBe(false);
    docs[1].change(draft => {
      draft.items = ['while frozen'];
    });
    await when(tabs[1].sync.leading$, Boolean);
    await docSynced(tabs[1].sync, 'doc', 1);
    expect((await serverState('doc')).items).toEqual(['while frozen']);

    // Resumed, it follows the tab that took over, and asks for the lock again: it leads once that tab goes.
    pages[0].resume();
    await when(docs[0].state$, state => state.items?.[0] === 'while frozen');
    expect(await Promise.all(tabs.map(t => firstValueFrom(t.sync.leading$)))).toEqual([false, true]);
    tabs[1].sync.destroy();
    await when(tabs[0].sync.leading$, Boolean);
    await idle(tabs[0].sync);
  });

  it('should give each tab its own connection when tabs opt out, and still lose nothing', async () => {
    const db = `instances-${++dbCount}`;
    const tabs = [tab(db, { ownConnection: true }), tab(db, { ownConnection: true })];
    await Promise.all(tabs.map(t => t.sync.connect()));
    expect(h.server.stats.connections).toBe(2);
    const docs = await Promise.all(tabs.map(t => t.patches.openDoc<Notes>('doc', { algorithm: 'lww' })));
    for (let round = 0; round < 5; round++) {
      for (const [i, doc] of docs.entries()) {
        doc.change(draft => {
          draft.marks = { ...draft.marks, [`${i}-${round}`]: round };
        });
      }
    }
    await Promise.all(tabs.map((t, i) => settled(t, docs[i])));
    await Promise.all(tabs.map(t => idle(t.sync)));
    const server = await serverState('doc', 'lww');
    for (const doc of docs) await when(doc.state$, s => JSON.stringify(s) === JSON.stringify(server));
  });
});

describe("another instance's write of a doc in 'error'", () => {
  let h: SyncHarness;
  const closing: Patches[] = [];

  beforeEach(async () => {
    h = await startHarness({ maxChangeBytes: 2000 });
  });
  afterEach(async () => {
    await h.close();
    for (const patches of closing.splice(0)) await patches.close();
  });

  it("should leave the doc in 'error' while the refused change is still pending", async () => {
    const db = `instances-${++dbCount}`;
    const online$ = new BehaviorSubject(true);
    const a = h.client({ store: new IndexedDBStore(db), tabs: { enabled: false }, online$ });
    const b = new Patches({ store: new IndexedDBStore(db) });
    closing.push(a.patches, b);
    await a.sync.connect();
    const doc = await a.patches.openDoc<{ v?: number; big?: string; w?: number }>('big');
    await b.openDoc('big');
    doc.change(draft => {
      draft.v = 1;
    });
    await docSynced(a.sync, 'big', 1);
    doc.change(draft => {
      draft.big = 'x'.repeat(5000); // over the server's maxChangeBytes: refused (413)
    });
    await when(a.sync.synced$, s => s.big?.status === 'error');
    expect(a.errors).toEqual([expect.any(StatusError)]);
    online$.next(false);
    await when(a.sync.state$, s => !s.connected);

    // Someone commits rev 2, and the other instance writes it to the shared store (as a tab with
    // its own connection does when the broadcast reaches it): the refused change stays pending.
    const raw = await connectClient(h.server.url);
    const reply = await raw.call('commitChanges', ['big', [{ id: 'other', baseRev: 1, rev: 2, ops: [{ op: 'replace', path: '/w', value: 2 }], createdAt: 0, committedAt: 0 }]]);
    await raw.close();
    const committed = reply.result as Change[] | { changes: Change[] };
    await b.runExclusive('big', () => b.algorithms.ot.applyServerChanges('big', Array.isArray(committed) ? committed : committed.changes));

    const seen = await when(a.sync.synced$, s => s.big?.committedRev === 2);
    expect(seen.big).toEqual({ committedRev: 2, hasPending: true, status: 'error' });
    expect(await a.patches.store.getPendingChanges('big')).toHaveLength(1);
  });
});

describe('tabs sharing one connection (one leads, the others show what it announces)', () => {
  let h: SyncHarness;
  const closing: Patches[] = [];
  let token = 'valid';

  beforeEach(async () => {
    token = 'valid';
    h = await startHarness({ authorizeConnection: connection => connection.token === 'valid' });
  });
  afterEach(async () => {
    await h.close();
    for (const patches of closing.splice(0)) await patches.close();
  });

  /** A tab on database `db` whose leadership is `leadership$` (a Web Lock stand-in or a fixed value), reading the shared `token`. */
  function tab(db: string, leadership$: Observable<boolean>, store: IndexedDBStore = new IndexedDBStore(db)): TestClient {
    const client = h.client({ store, tabs: { leadership$ }, websocket: { tokenProvider: () => token } });
    closing.push(client.patches);
    return client;
  }

  it.each(['untracks', 'deletes'])('should keep a doc a following tab %s out of its synced map, whatever the leader announces next', async action => {
    const db = `instances-${++dbCount}`;
    const leader = tab(db, new BehaviorSubject(true));
    const follower = tab(db, new BehaviorSubject(false));
    await Promise.all([leader.sync.connect(), follower.sync.connect()]);
    const y = await leader.patches.openDoc<Notes>('Y');
    const x = await follower.patches.openDoc<Notes>('X');
    y.change(draft => {
      draft.items = ['y'];
    });
    x.change(draft => {
      draft.items = ['x'];
    });
    await Promise.all([docSynced(follower.sync, 'X', 1), docSynced(follower.sync, 'Y', 1)]);

    await (action === 'untracks' ? follower.patches.untrackDocs(['X']) : follower.patches.deleteDoc('X'));
    await when(leader.sync.synced$, synced => !('X' in synced));
    // The leader announces again (an edit of Y): the follower is shown the leader's map anew.
    y.change(draft => {
      draft.items!.push('y2');
    });
    await docSynced(follower.sync, 'Y', 2);
    expect(Object.keys(follower.sync.synced)).toEqual(['Y']);
  });

  it("should show a following tab's open doc the head state the leader took instead of a long history, and commit its next edit on it", async () => {
    const db = `instances-${++dbCount}`;
    const leader = tab(db, new BehaviorSubject(true));
    const follower = tab(db, new BehaviorSubject(false));
    const writer = h.client({ store: new InMemoryStore(), websocket: { tokenProvider: () => 'valid' } });
    writer.sync.url = h.server.url;
    await Promise.all([leader.sync.connect(), follower.sync.connect(), writer.sync.connect()]);
    const written = await writer.patches.openDoc<Notes>('N');
    written.change(draft => {
      draft.items = ['first'];
    });
    await docSynced(writer.sync, 'N', 1);
    const shown = await follower.patches.openDoc<Notes>('N');
    await docSynced(leader.sync, 'N', 1);
    await when(shown.state$, state => state.items?.[0] === 'first');

    h.proxy.refuse = true;
    h.proxy.dropAll();
    await when(leader.sync.state$, s => !s.connected);
    for (let i = 0; i < 150; i++) {
      written.change(draft => {
        draft.items = [`${i}`.padEnd(100, '.')];
      });
    }
    await docSynced(writer.sync, 'N', 151);
    h.proxy.refuse = false;
    await docSynced(leader.sync, 'N', 151);
    await when(shown.state$, state => state.items?.[0] === '149'.padEnd(100, '.'));
    // The leader's store kept no history between rev 1 and the head: it took the state.
    expect((await leader.patches.store.listChanges('N', 1)).length).toBeLessThan(150);
    shown.change(draft => {
      draft.items!.push('follower');
    });
    await docSynced(writer.sync, 'N', 152);
    expect(written.state).toEqual({ items: ['149'.padEnd(100, '.'), 'follower'] });
    expect(shown.state).toEqual(written.state);
    expect([...leader.errors, ...follower.errors]).toEqual([]);
  });

  // Found in review, fixed: a following tab's connect() waited for its own socket, which never
  // opens while it follows, and the leader's connect() it asks for waited for the next open of a
  // socket already open: both stayed subscribed until a reconnect (~22.6 KB a call). The pieces
  // are private: the waits are counted as observers of each connection's `wanted`.
  it("should leave nothing waiting in either tab after a following tab's connect()", async () => {
    const db = `instances-${++dbCount}`;
    const leader = tab(db, new BehaviorSubject(true));
    const follower = tab(db, new BehaviorSubject(false));
    await Promise.all([leader.sync.connect(), follower.sync.connect()]);
    const inside = (t: TestClient) => t.sync as unknown as { connection: { wanted: Subject<number> }; tabs: { connectAsked$: Observable<void> } };
    const waits = () => [leader, follower].map(t => inside(t).connection.wanted.observers.length);
    const before = waits();
    for (let i = 0; i < 3; i++) {
      // The leader's sync hears it first (it subscribed when made), and calls its connect() then.
      const asked = firstValueFrom(inside(leader).tabs.connectAsked$);
      await follower.sync.connect();
      await asked;
    }
    expect(waits()).toEqual(before);
  });

  /** Resolves with `promise`, or rejects after `ms` (a wait that must end: what it waits for never comes without the fix). */
  function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
    let timeout: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => (timeout = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms)));
    return Promise.race([promise, late]).finally(() => clearTimeout(timeout));
  }

  it('should show a tab that takes the lead disconnected until its own socket opens, and tell the following tabs so (found in review)', async () => {
    const db = `instances-${++dbCount}`;
    const leadB = new BehaviorSubject(false);
    const a = tab(db, new BehaviorSubject(true));
    const b = tab(db, leadB);
    const c = tab(db, new BehaviorSubject(false));
    await a.sync.connect();
    await Promise.all([b.sync.connect(), c.sync.connect()]);
    const docA = await a.patches.openDoc<Notes>('doc');
    docA.change(draft => {
      draft.items = ['a'];
    });
    await Promise.all([docSynced(a.sync, 'doc', 1), when(b.sync.state$, s => s.connected), docSynced(c.sync, 'doc', 1)]);

    // The server goes down as A closes, and the lock reaches B before A's last announcement does.
    h.proxy.refuse = true;
    a.sync.destroy();
    leadB.next(true);
    expect(b.sync.state.connected).toBe(false);
    const docB = await b.patches.openDoc<Notes>('doc');
    docB.change(draft => {
      draft.items!.push('b');
    });
    expect(b.sync.synced.doc?.status).not.toBe('syncing');
    // C follows B now: B's own state, not A's.
    await within(when(c.sync.state$, s => !s.connected), 2000, 'C shows B disconnected');
    expect(b.sync.state.connected).toBe(false);
    expect(c.sync.synced.doc?.status).not.toBe('syncing');
  });

  it("should not show nor announce as its own the docs the old leader was syncing when it takes the lead, but their entries as its store has them (found in review)", async () => {
    const db = `instances-${++dbCount}`;
    const hub = new ChannelHub();
    const leadB = new BehaviorSubject(false);
    const client = (leadership$: Observable<boolean>) => {
      const made = h.client({ store: new IndexedDBStore(db), tabs: { leadership$, channel: hub.channel(), name: 'app' } });
      closing.push(made.patches);
      return made;
    };
    const b = client(leadB);
    const c = client(new BehaviorSubject(false));
    h.proxy.refuse = true;
    void b.sync.connect().catch(() => undefined);
    const docC = await c.patches.openDoc<Notes>('doc');
    docC.change(draft => {
      draft.items = ['c'];
    });
    await when(b.sync.synced$, s => !!s.doc?.hasPending);
    // The old leader (gone since) last said it was connected and committing the doc, before it heard of C's edit.
    const schema = b.patches.store.schemaVersion;
    const name = schema === undefined ? 'app' : `app:schema${schema}`;
    const synced = { doc: { committedRev: 0, hasPending: false, status: 'syncing' } };
    hub.channel().postMessage({ type: 'state', name, epoch: 'old-leader', seq: 1, state: { connected: true, syncing: 'updating' }, synced });
    expect(b.sync.state).toMatchObject({ connected: true, syncing: 'updating' });
    expect(b.sync.synced.doc).toMatchObject({ hasPending: false, status: 'syncing' });

    leadB.next(true);
    expect(b.sync.state).toMatchObject({ connected: false, syncing: null });
    expect(b.sync.synced.doc?.status).not.toBe('syncing');
    await within(when(b.sync.synced$, s => !!s.doc?.hasPending), 2000, 'B reads the pending edit from its store');
    await within(when(c.sync.state$, s => !s.connected), 2000, 'C shows B disconnected');
    expect(c.sync.synced.doc).toMatchObject({ hasPending: true });
    expect(c.sync.synced.doc?.status).not.toBe('syncing');
    expect(b.sync.state.connected).toBe(false);
  });

  it("should keep every doc in a following tab's synced map when a new tab leads at once, before it has read its docs (found in review)", async () => {
    const db = `instances-${++dbCount}`;
    const a = tab(db, new BehaviorSubject(true));
    const c = tab(db, new BehaviorSubject(false));
    await a.sync.connect();
    await c.sync.connect();
    const ids = ['d0', 'd1', 'd2', 'd3', 'd4'];
    for (const id of ids) {
      const doc = await a.patches.openDoc<Notes>(id);
      doc.change(draft => {
        draft.items = [id];
      });
    }
    await when(c.sync.synced$, synced => ids.every(id => synced[id]?.committedRev === 1 && !synced[id].hasPending));
    a.sync.destroy();
    // A fresh tab (the page reloaded, say) leads as it starts.
    const n = tab(db, new BehaviorSubject(true));
    await n.sync.connect();
    const d0 = await n.patches.openDoc<Notes>('d0');
    d0.change(draft => {
      draft.items!.push('n');
    });
    await within(docSynced(c.sync, 'd0', 2), 2000, "C shows the new leader's commit of d0");
    expect(Object.keys(c.sync.synced).sort()).toEqual(ids);
  });

  it('should keep the entry of a doc a following tab opened again after untracking it, when the leader announces its removal late (found in review)', async () => {
    const db = `instances-${++dbCount}`;
    const hub = new ChannelHub();
    // The follower's channel hears the leader's announcements late while `holding`.
    const base = hub.channel();
    const held: { data: unknown }[] = [];
    let holding = false;
    let hear: ((event: { data: unknown }) => void) | undefined;
    const late: StoreChannel = {
      ...base,
      addEventListener: (type, listener) => {
        hear = listener;
        base.addEventListener(type, event => (holding ? held.push(event) : listener(event)));
      },
    };
    const client = (leadership$: Observable<boolean>, channel: StoreChannel) => {
      const made = h.client({ store: new IndexedDBStore(db), tabs: { leadership$, channel } });
      closing.push(made.patches);
      return made;
    };
    const leader = client(new BehaviorSubject(true), hub.channel());
    const follower = client(new BehaviorSubject(false), late);
    await leader.sync.connect();
    await follower.sync.connect();
    await follower.patches.openDoc<Notes>('X');
    await Promise.all([when(leader.sync.synced$, s => 'X' in s), when(follower.sync.synced$, s => 'X' in s)]);

    holding = true;
    await follower.patches.untrackDocs(['X']);
    await when(leader.sync.synced$, s => !('X' in s));
    await follower.patches.openDoc<Notes>('X');
    await when(follower.sync.synced$, s => 'X' in s);
    await when(leader.sync.synced$, s => 'X' in s && s.X.status !== 'syncing');
    holding = false;
    for (const event of held.splice(0)) hear!(event);
    expect(follower.sync.synced.X).toEqual(leader.sync.synced.X);
  });

  it("should show a following tab the leader's AuthError, and reconnect the leader when the follower's connect() comes with fresh credentials", async () => {
    token = 'expired';
    const db = `instances-${++dbCount}`;
    const leader = tab(db, new BehaviorSubject(true));
    // Through the proxy the socket opens before the server refuses it: connect() may resolve.
    await leader.sync.connect().catch(() => undefined);
    await when(leader.sync.state$, state => state.syncing instanceof AuthError);
    // A tab in front (it follows) shows the refusal as what it is.
    const follower = tab(db, new BehaviorSubject(false));
    const refused = (await when(follower.sync.state$, state => state.syncing instanceof Error)).syncing;
    expect(refused).toBeInstanceOf(AuthError);
    expect(refused).toMatchObject({ code: 4401 });

    // The user signs in again in the tab in front, which connects.
    token = 'valid';
    await follower.sync.connect();
    const doc = await follower.patches.openDoc<Notes>('notes');
    doc.change(draft => {
      draft.items = ['after signing in'];
    });
    await docSynced(follower.sync, 'notes', 1);
    // One connection for both tabs: the leader's.
    expect(h.server.stats.connections).toBe(1);
    expect(await serverState(h, 'notes')).toEqual({ items: ['after signing in'] });
  });

  it('should hand the connection to a tab of the new build when a newer build upgrades the database, and say so once in the old one', async () => {
    const db = `instances-${++dbCount}`;
    const locks = new FakeLocks();
    const lock$ = () => leadership$({ name: db, locks });
    const old = tab(db, lock$());
    await old.sync.connect();
    await when(old.sync.leading$, Boolean);
    const oldDoc = await old.patches.openDoc<Notes>('notes');
    oldDoc.change(draft => {
      draft.items = ['old'];
    });
    await docSynced(old.sync, 'notes', 1);

    // The app was updated: a tab of the new build opens, with one more schema step.
    const updated = tab(db, lock$(), new NewerStore(db));
    void updated.sync.connect();
    const doc = await updated.patches.openDoc<Notes>('notes');
    doc.change(draft => {
      draft.items!.push('new build');
    });
    await when(updated.sync.leading$, Boolean);
    await docSynced(updated.sync, 'notes', 2);
    expect(await serverState(h, 'notes')).toEqual({ items: ['old', 'new build'] });
    expect(await firstValueFrom(old.sync.leading$)).toBe(false);
    expect(old.sync.state.syncing).toBeInstanceOf(StoreOutdatedError);
    expect(old.errors).toEqual([expect.any(StoreOutdatedError)]);
  });

  it('should say once in a tab whose database was deleted under it that it is lost, give the lead to a tab on the new database, and never adopt that one', async () => {
    // Found in review (Chromium): the tab silently opened a new, empty database, showed its unsent
    // edit as saved, refused every later edit as "not tracked", and never said a word.
    const db = `instances-${++dbCount}`;
    const locks = new FakeLocks();
    const online = new BehaviorSubject(true);
    const old = h.client({ store: new IndexedDBStore(db), tabs: { leadership$: leadership$({ name: db, locks }) }, online$: online, websocket: { tokenProvider: () => token } });
    closing.push(old.patches);
    await old.sync.connect();
    await when(old.sync.leading$, Boolean);
    const doc = await old.patches.openDoc<Notes>('notes');
    doc.change(draft => {
      draft.items = ['sent'];
    });
    await docSynced(old.sync, 'notes', 1);
    online.next(false);
    doc.change(draft => {
      draft.items!.push('unsent');
    });
    await doc.flush();
    const unsent = await old.patches.store.getPendingChanges('notes');

    // Another tab (or the user, clearing the site's data) deletes the database.
    expect(await deleteDatabase(indexedDB as unknown as IDBFactory, db)).toEqual({ blocked: false });
    const lost = (await when(old.sync.state$, state => state.syncing instanceof Error)).syncing;
    expect(lost).toBeInstanceOf(StoreLostError);
    expect(old.errors).toEqual([lost]);
    expect(await firstValueFrom(old.sync.leading$)).toBe(false);
    // The unsent edit went with the database, but the page's view held it: it comes with the error.
    const handed = (lost as StoreLostError).unsentChanges;
    expect([...handed.keys()]).toEqual(['notes']);
    expect(handed.get('notes')!.map(c => [c.id, c.ops])).toEqual(unsent.map(c => [c.id, c.ops]));

    // An edit made now is refused with it as cause and taken back from the view, not shown as saved.
    doc.change(draft => {
      draft.items!.push('after');
    });
    await doc.flush();
    expect(doc.state.items).toEqual(['sent', 'unsent']);
    expect(old.errors).toEqual([lost, expect.objectContaining({ name: 'StoreError', cause: lost })]);
    await expect(old.patches.openDoc('other')).rejects.toBe(lost);

    // A tab opened since makes the database anew and leads; the old one never uses it.
    const fresh = tab(db, leadership$({ name: db, locks }));
    void fresh.sync.connect();
    await when(fresh.sync.leading$, Boolean);
    const freshDoc = await fresh.patches.openDoc<Notes>('notes');
    await docSynced(fresh.sync, 'notes', 1);
    expect(freshDoc.state).toEqual({ items: ['sent'] }); // the unsent edit went with the database
    online.next(true);
    await expect(old.patches.store.listDocs()).rejects.toBe(lost);
    expect(old.sync.state).toMatchObject({ connected: false, syncing: lost });
    expect(old.errors.filter(error => error instanceof StoreLostError)).toEqual([lost]);
  });

  it("should hand each tab, leading or following, its own open docs' unsent edits with its own StoreLostError", async () => {
    const db = `instances-${++dbCount}`;
    // Not connected: the edits stay unsent.
    const leader = tab(db, new BehaviorSubject(true));
    const follower = tab(db, new BehaviorSubject(false));
    const a = await leader.patches.openDoc<Notes>('a');
    const b = await follower.patches.openDoc<Notes>('b');
    a.change(draft => {
      draft.items = ['a offline'];
    });
    b.change(draft => {
      draft.items = ['b offline'];
    });
    await Promise.all([a.flush(), b.flush()]);
    const [pendingA, pendingB] = await Promise.all([leader.patches.store.getPendingChanges('a'), follower.patches.store.getPendingChanges('b')]);

    await deleteDatabase(indexedDB as unknown as IDBFactory, db);
    const lostIn = async (t: TestClient) => (await when(t.sync.state$, state => state.syncing instanceof StoreLostError)).syncing as StoreLostError;
    const [lostA, lostB] = await Promise.all([lostIn(leader), lostIn(follower)]);
    expect(lostA).not.toBe(lostB);
    expect(leader.errors).toEqual([lostA]);
    expect(follower.errors).toEqual([lostB]);
    // Each tab's error lists the docs open in that tab: the other tab's edits are in its own.
    expect([...lostA.unsentChanges].map(([docId, changes]) => [docId, changes.map(c => c.id)])).toEqual([['a', pendingA.map(c => c.id)]]);
    expect([...lostB.unsentChanges].map(([docId, changes]) => [docId, changes.map(c => c.id)])).toEqual([['b', pendingB.map(c => c.id)]]);
  });
});

/** A build of the app with one more schema step than this one. */
class NewerStore extends IndexedDBStore {
  protected override readonly migrations = [...IDB_MIGRATIONS, () => undefined];
}

/** The server's state of a doc, read by a fresh client of `h` with its own store. */
async function serverState(h: SyncHarness, docId: string): Promise<Notes> {
  const reader = h.client({ store: new InMemoryStore(), websocket: { protocol: 'valid' } });
  await reader.sync.connect();
  await reader.patches.trackDocs([docId], 'ot');
  await docSynced(reader.sync, docId, 1);
  return (await reader.patches.store.getDoc<Notes>(docId))!.state;
}
