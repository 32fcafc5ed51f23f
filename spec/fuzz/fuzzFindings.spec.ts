import 'fake-indexeddb/auto';
import { BehaviorSubject, filter, firstValueFrom, from, merge, of, tap, type Observable } from 'rxjs';
import { applyPatch } from '../../src/algorithms/applyPatch.js';
import { transformIncomingChanges } from '../../src/algorithms/transformIncomingChanges.js';
import { Patches } from '../../src/client/Patches.js';
import { PatchesSync } from '../../src/net/PatchesSync.js';
import type { SyncTabsOptions } from '../../src/net/SyncTabs.js';
import { IndexedDBStore } from '../../src/stores/IndexedDBStore.js';
import { InMemoryStore } from '../../src/stores/InMemoryStore.js';
import type { PatchesStore } from '../../src/stores/PatchesStore.js';
import { holdingStore } from '../helpers/holdingStore.js';
import type { Change, PatchesSnapshot, SyncedDoc } from '../../src/types.js';
import { startHarness, type SyncHarness } from '../helpers/syncHarness.js';
import type { FuzzDoc, Json } from './edits.js';
import { startChaosProxy } from '../helpers/chaosProxy.js';
import { WireLog } from './wireLog.js';
import { connectClient } from '../helpers/wsClient.js';

/**
 * The bugs the convergence fuzz found, reduced to minimal deterministic scenarios, one case each,
 * lettered as in FUZZ FINDINGS (convergence.spec.ts). A fixed bug's case is a plain `it`: its
 * pinned regression. An open bug's case is `it.failing`: it passes while the bug is there and
 * fails the day it is fixed — then make it a plain `it`.
 */

/** Liveness bound of these cases: far above what a correct client needs on loopback. */
const BOUND_MS = 2000;

let harness: SyncHarness;
let wire: WireLog;
const syncs: PatchesSync[] = [];

beforeEach(async () => {
  harness = await startHarness();
  wire = new WireLog();
});

afterEach(async () => {
  for (const sync of syncs.splice(0)) sync.destroy();
  await harness.close();
});

interface Client {
  patches: Patches;
  sync: PatchesSync;
  online$: BehaviorSubject<boolean>;
  errors: Error[];
  /** Sets the clock its LWW ops are stamped with. */
  clock: { now: number };
}

/** A client through the harness proxy, recorded on the wire as `index`, with its own online switch and clock. */
function client(index: number, options: { online?: boolean; url?: string; store?: PatchesStore; tabs?: SyncTabsOptions } = {}): Client {
  const clock = { now: 1000 };
  const online$ = new BehaviorSubject(options.online ?? true);
  const patches = new Patches({ store: options.store ?? new InMemoryStore(), clock: () => clock.now });
  const sync = new PatchesSync(patches, options.url ?? harness.proxy.url, {
    online$,
    reconnectDelay: 10,
    maxReconnectDelay: 50,
    random: () => 0.5,
    websocket: { WebSocketCtor: wire.socketFor(index) },
    tabs: options.tabs,
  });
  syncs.push(sync);
  const errors: Error[] = [];
  sync.onError(error => errors.push(error));
  void sync.connect().catch(() => undefined);
  return { patches, sync, online$, errors, clock };
}

/** The first value of `source$` that satisfies `predicate`, or a rejection after BOUND_MS. */
function bounded<T>(source$: Observable<T>, predicate: (value: T) => boolean, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not within ${BOUND_MS} ms: ${what}`)), BOUND_MS);
  });
  return Promise.race([firstValueFrom(source$.pipe(filter(predicate))), bound]).finally(() => clearTimeout(timer));
}

/** Resolves when a doc's entry is synced with nothing pending at `rev` or later, or rejects after BOUND_MS. */
function settled(c: Client, docId: string, rev = 0): Promise<unknown> {
  return bounded(c.sync.synced$, s => s[docId]?.status === 'synced' && !s[docId].hasPending && s[docId].committedRev >= rev, `${docId} synced at rev ≥ ${rev}`);
}

/** Opens `docId` on `c` and commits its first change (`{ title: 'one' }` for OT, `{ f1: 1 }` for LWW); resolves with the open doc at rev 1. */
async function firstChange(c: Client, docId: string, algorithm: 'ot' | 'lww') {
  const doc = await c.patches.openDoc<FuzzDoc>(docId, { algorithm });
  doc.change(d => void (algorithm === 'ot' ? (d.title = 'one') : (d.f1 = 1)));
  await settled(c, docId, 1);
  return doc;
}

describe('bugs found by the convergence fuzz', () => {
  it('A (fixed): LWW ops minted while the previous LWW commit awaits its answer are sent once that commit is confirmed', async () => {
    // Was: a pass resent only the in-flight LWW `sending` change and queued no follow-up for the
    // pending ops left behind (protocol §5.4 step 4): they stayed unsent while the client
    // reported { status: 'synced', hasPending: true }, until the next edit or reconnect.
    // Fixed by c0135fe (PatchesSync followUp$).
    const a = client(0);
    const doc = await a.patches.openDoc<FuzzDoc>('lww-a', { algorithm: 'lww' });
    await settled(a, 'lww-a');
    const sent = firstValueFrom(wire.events$.pipe(filter(e => e.type === 'commit')));
    doc.change(d => void (d.x = 1));
    await sent;
    a.online$.next(false); // the answer to x=1 can no longer arrive
    doc.change(d => void (d.y = 2));
    await doc.flush();
    a.online$.next(true);
    await settled(a, 'lww-a', 1);
  });

  it('B (fixed): online$ saying "online" again while online does not cost the doc subscriptions', async () => {
    // Was: src/net/PatchesConnection.ts re-ran its switchMap on every `online$` emission, so a
    // repeated `true` replaced the open socket with no 'close' for the RPC client: connected$
    // stayed true, PatchesSync ran no full pass, the new socket subscribed to nothing (no more
    // broadcasts) and changes minted meanwhile were not flushed. Fixed by 122fd94.
    const a = client(0);
    const b = client(1);
    const docA = await a.patches.openDoc<FuzzDoc>('notes');
    const docB = await b.patches.openDoc<FuzzDoc>('notes');
    docB.change(d => void (d.n = 1));
    await Promise.all([settled(b, 'notes', 1), settled(a, 'notes', 1)]);
    let closes = 0;
    const watching = wire.events$.pipe(filter(e => e.type === 'close' && e.client === 0)).subscribe(() => closes++);
    a.online$.next(true); // already online: the working socket must stay as it is
    docB.change(d => void (d.n = 2));
    await settled(b, 'notes', 2);
    await settled(a, 'notes', 2);
    watching.unsubscribe();
    expect(docA.state).toEqual(docB.state);
    expect(closes).toBe(0);
  });

  it('C (fixed): an OT doc edited before its first load converges when others created it meanwhile', async () => {
    // Was: the server commits a baseRev-0 change on top of head (rev 2, docReloadRequired) and
    // answers only that change; src/net/PatchesSync.ts applied it on committed rev 0
    // (MissingChangesError on onError), refetched with getDoc, found the change still pending
    // ('flush-first') and sent it again: ~2,500 commit/getDoc round trips a second, forever.
    // Fixed by f6b928a.
    const a = client(0);
    const docA = await a.patches.openDoc<FuzzDoc>('notes');
    docA.change(d => void (d.title = 'from a'));
    await settled(a, 'notes', 1);
    const proxy = await startChaosProxy(harness.server.port, { random: () => 0.5 });
    try {
      const b = client(1, { url: proxy.url });
      await bounded(b.sync.state$, s => s.connected && s.syncing === null, 'b connected');
      // The moment b asks for the doc, hold its traffic (the request included) until calm().
      const loading = bounded(
        wire.events$.pipe(tap(e => e.type === 'request' && e.client === 1 && e.method === 'getDoc' && proxy.delayBurst(60_000, 60_000))),
        e => e.type === 'request' && e.client === 1 && e.method === 'getDoc',
        'b loading the doc',
      );
      const docB = await b.patches.openDoc<FuzzDoc>('notes');
      await loading;
      docB.change(d => void (d.n = 1));
      await docB.flush();
      proxy.calm();
      await settled(b, 'notes', 2);
      await settled(a, 'notes', 2);
      expect(docB.state).toEqual(docA.state);
      expect(b.errors).toEqual([]);
    } finally {
      await proxy.close();
    }
  });

  it('F (fixed): an OT change written after a never-loaded head whose answer was lost is transformed, not committed verbatim', async () => {
    // src/server/OTDocService.ts commitChanges, the `head.baseRev === 0` (docReloadRequired)
    // branch: a batch authored before the client ever loaded the doc is committed verbatim on
    // top of head. When its head (`list = [...]`) was committed by an earlier attempt whose
    // answer was lost, the resend skips it (already committed) but still commits the tail
    // (`list[0] = 9`, written on top of that head) verbatim — not transformed over what others
    // committed after the head (`list = []`) — so strict apply fails: 400 `cannot be applied`
    // on every retry, the doc stays in 'error' with its pending changes forever.
    const a = client(0);
    const docA = await a.patches.openDoc<FuzzDoc>('notes');
    docA.change(d => void (d.title = 'from a'));
    await settled(a, 'notes', 1);
    const proxy = await startChaosProxy(harness.server.port, { random: () => 0.5 });
    try {
      const b = client(1, { url: proxy.url });
      await bounded(b.sync.state$, s => s.connected && s.syncing === null, 'b connected');
      // b edits the doc before it has loaded it, and the answer to its commit never arrives (the
      // commit goes out once b's subscribe is answered: from then on, nothing reaches b).
      const commitSent = firstValueFrom(wire.events$.pipe(filter(e => e.type === 'commit' && e.client === 1), tap(() => proxy.delayBurst(60_000, 60_000, 'toClient'))));
      const docB = await b.patches.openDoc<FuzzDoc>('notes');
      docB.change(d => void (d.list = [1]));
      await commitSent;
      await settled(a, 'notes', 2); // the server committed b's head (a got the broadcast)
      b.online$.next(false);
      proxy.dropAll();
      proxy.calm();
      docB.change(d => void ((d.list as number[])[0] = 9)); // written on top of b's head
      await docB.flush();
      docA.change(d => void (d.list = [])); // committed after b's head, before b's resend
      await settled(a, 'notes', 3);
      b.online$.next(true);
      await settled(b, 'notes', 3);
      await settled(a, 'notes', 3);
      expect(docB.state).toEqual(docA.state);
      expect(b.errors).toEqual([]);
    } finally {
      await proxy.close();
    }
  });

  // Reopened by issue 10: the reference's transform rules win (a mixed fleet must converge), and
  // under them no way of recording the push keeps a separate pending edit on the pushed item
  // (`node bench/pushEncoding.js`: about 250 such edits of 4,000 scenarios land elsewhere with
  // concrete indexes, with `-` and with the hybrid alike). The reference documents it too ("append
  // … then reference by index in uncommitted operations"). What holds instead: the server drops a
  // change that no longer applies (OTDocService) rather than refusing the batch, so no doc goes
  // 'error' and every replica converges. Closing it needs the client to fold an edit of an item it
  // pushed into that still-pending push (one change), where indexes are followed within the list.
  it.failing('G (open, known limit of the reference): a push then a separate edit of the pushed item, against a concurrent push, transforms into ops that apply', () => {
    // Seen in the fuzz as seed 58 at 100 steps (in a 50..58 run): the edit addressed the other
    // client's pushed number, the server refused the commit (400) and the doc went 'error'.
    const state = { list: [{ v: 1 }, 2] };
    const committed: Change[] = [{ id: 'other', baseRev: 5, rev: 6, ops: [{ op: 'add', path: '/list/2', value: 814 }], createdAt: 1, committedAt: 1 }];
    const queue: Change[] = [
      { id: 'push', baseRev: 5, rev: 6, ops: [{ op: 'add', path: '/list/2', value: { v: 835 } }], createdAt: 1, committedAt: 0 },
      { id: 'edit', baseRev: 5, rev: 7, ops: [{ op: 'replace', path: '/list/2/v', value: 974 }], createdAt: 1, committedAt: 0 },
    ];
    const head = applyPatch(state, committed[0].ops, { mode: 'strict' });
    const transformed = transformIncomingChanges(committed, queue, () => false);
    expect(() => transformed.reduce<unknown>((s, c) => applyPatch(s, c.ops, { mode: 'strict' }), head)).not.toThrow();
  });

  it('E (fixed): a rejected LWW child write does not wipe a newer sibling under its removed parent', async () => {
    // Was: the LWW reply to a losing child write carried the winning ancestor row as a
    // correction (`remove /obj`, rev 2) but not the newer rows under it (`/obj/c`, rev 3); the
    // client applied the old remove over its newer state and lost /obj/c for good while the
    // server and every other client kept it. Fixed by c0135fe (LWWDocService reply).
    const a = client(0);
    const b = client(1);
    const c = client(2);
    const docs = await Promise.all([a, b, c].map(x => x.patches.openDoc<FuzzDoc>('lww-e', { algorithm: 'lww' })));
    const [docA, docB, docC] = docs;
    docA.change(d => void (d.obj = { a: 1 }));
    await Promise.all([a, b, c].map(x => settled(x, 'lww-e', 1)));
    // c's child write is made offline before the remove it will lose to (a write made after seeing
    // the remove is stamped after it: the stamp floor, kept with the doc since session 30).
    c.online$.next(false);
    c.clock.now = 1500;
    docC.change(d => void ((d.obj as FuzzDoc).b = 901)); // loses to the remove at 2000
    await docC.flush();
    b.online$.next(false);
    b.clock.now = 3000;
    docB.change(d => void ((d.obj as FuzzDoc).c = 323)); // newest write, made offline
    await docB.flush();
    a.clock.now = 2000;
    docA.change(d => void delete d.obj); // removes the parent, older than b's child write
    await settled(a, 'lww-e', 2);
    b.online$.next(true);
    await settled(b, 'lww-e', 3);
    await settled(a, 'lww-e', 3);
    const answered = firstValueFrom(wire.events$.pipe(filter(e => e.type === 'answer' && e.client === 2)));
    c.online$.next(true);
    await answered;
    await settled(c, 'lww-e', 3);
    expect(docA.state).toEqual({ obj: { c: 323 } });
    expect(docC.state).toEqual(docA.state);
  });

  it('J (fixed): an edit rebased away before it was saved does not leave its doc saying hasPending', async () => {
    // Was (idb mode, ~1 run in 4 of seed 5, where store writes are slow): a sync run ended while
    // an edit was still optimistic (its save queued behind a server batch), so the doc's entry
    // said hasPending; the batch rebased the edit away, its save wrote nothing and announced
    // nothing, and no later step re-read the doc: { status: 'synced', hasPending: true } for good.
    const store = holdingStore();
    const a = client(0, { store });
    const b = client(1);
    const docA = await a.patches.openDoc<FuzzDoc>('j', { algorithm: 'ot' });
    const docB = await b.patches.openDoc<FuzzDoc>('j', { algorithm: 'ot' });
    docA.change(d => void (d.list = [{ v: 1 }]));
    await settled(a, 'j', 1);
    await settled(b, 'j', 1);
    a.online$.next(false);
    await bounded(a.sync.state$, s => !s.connected, 'a offline');
    docB.change(d => void (d.list as Json[]).splice(0, 1)); // removes the item a is about to edit
    await settled(b, 'j', 2);

    // a's catch-up writes b's change; meanwhile a edits the item (its save waits behind a gate).
    const applying = store.holdNext('applyServerChanges');
    a.online$.next(true);
    await applying.reached;
    let openGate!: () => void;
    const gate = a.patches.runExclusive('j', () => new Promise<void>(resolve => (openGate = resolve)));
    docA.change(d => void ((d.list as { v: number }[])[0].v = 2));
    applying.release();
    // The run ends with the edit still unsaved (rebased away by now): the entry says hasPending.
    await bounded(a.sync.synced$, s => s.j?.status === 'synced' && s.j.committedRev === 2, 'a caught up');
    expect(docA.state).toEqual({ list: [] });
    openGate();
    await gate;
    await docA.flush();
    await settled(a, 'j', 2);
    expect(await store.getPendingChanges('j')).toEqual([]);
    expect(a.errors).toEqual([]);
  });

  it("M (fixed): a following tab's own edit shows as pending until the leader has committed it", async () => {
    // Was (tabs mode under heavy load, seeds 25 and 38 now and then): a follower's synced map is
    // the leader's announcement, re-shown on every change of its own map, so its own fresh edit
    // said hasPending for one microtask and then "nothing pending" again, until the leader heard
    // of the edit through the store's channel. The fuzz took such a tab for quiet and read the
    // server head while the leader was about to commit the edit.
    const db = `finding-m-${Date.now()}`;
    const tab = (index: number, leading: boolean) => client(index, { store: new IndexedDBStore(db), tabs: { enabled: true, name: db, leadership$: new BehaviorSubject(leading) } });
    const leader = tab(0, true);
    const follower = tab(1, false);
    try {
      const docL = await leader.patches.openDoc<FuzzDoc>('lww-m', { algorithm: 'lww' });
      const docF = await follower.patches.openDoc<FuzzDoc>('lww-m', { algorithm: 'lww' });
      docL.change(d => void (d.a = 1));
      await settled(follower, 'lww-m', 1);
      const shown: SyncedDoc[] = [];
      const recording = follower.sync.synced$.subscribe(s => s['lww-m'] && shown.push(s['lww-m']));
      docF.change(d => void (d.b = 2));
      await docF.flush();
      await settled(follower, 'lww-m', 2);
      recording.unsubscribe();
      // From the edit on, "nothing pending" is only ever shown at a rev that holds the edit.
      const edited = shown.findIndex(entry => entry.hasPending);
      expect(edited).toBeGreaterThan(0);
      expect(shown.slice(edited).filter(entry => !entry.hasPending && entry.committedRev < 2)).toEqual([]);
      expect(docF.state).toEqual({ a: 1, b: 2 });
      expect([...leader.errors, ...follower.errors]).toEqual([]);
    } finally {
      await leader.patches.close();
      await follower.patches.close();
    }
  });

  it("L (fixed): a resend's late reply does not bring back what a newer rev deleted, when another tab applied the first commit", async () => {
    // Was (shared-idb seed 15, under load): two tabs on one database each had a connection and
    // both sent the LWW change in the store. The server folded its resend's reply into one change
    // at the last rev since the sent baseRev; the other tab had applied the first commit and a
    // newer delete by then, and the late reply was applied again on top: /f5 came back for good.
    const db = `finding-l-${Date.now()}`;
    const tabA = new Patches({ store: new IndexedDBStore(db), clock: () => 1000 });
    const tabB = new Patches({ store: new IndexedDBStore(db), clock: () => 1000 });
    const raw = await connectClient(harness.server.url);
    try {
      const docA = await tabA.openDoc<FuzzDoc>('lww-l', { algorithm: 'lww' });
      await tabB.openDoc<FuzzDoc>('lww-l', { algorithm: 'lww' });
      docA.change(d => void (d.f5 = 528));
      await docA.flush();
      const [sent] = await tabA.runExclusive('lww-l', () => tabA.algorithms.lww.getPendingToSend('lww-l'));
      const commit = async (changes: Change[]): Promise<Change[]> => {
        const answer = await raw.call('commitChanges', ['lww-l', changes]);
        const result = answer.result as Change[] | { changes: Change[] };
        return Array.isArray(result) ? result : result.changes;
      };
      await commit([sent]); // rev 1: the first send, its reply lost
      await commit([{ id: 'f3', baseRev: 1, rev: 2, ops: [{ op: 'replace', path: '/f3', value: 219, ts: 2000 }], createdAt: 0, committedAt: 0 }]);
      const late = await commit([sent]); // the resend: answered, but the answer is slow
      expect(late).toEqual([expect.objectContaining({ id: sent.id, baseRev: 0, rev: 2 })]);
      await commit([{ id: 'gone', baseRev: 2, rev: 3, ops: [{ op: 'remove', path: '/f5', ts: 3000 }], createdAt: 0, committedAt: 0 }]);
      // Tab B's connection catches up first (revs 1 to 3), then A's late reply arrives.
      const since = (await raw.call('getChangesSince', ['lww-l', 0])).result as Change[];
      await tabB.runExclusive('lww-l', () => tabB.algorithms.lww.applyServerChanges('lww-l', since));
      await tabA.runExclusive('lww-l', () => tabA.algorithms.lww.applyServerChanges('lww-l', late, [sent]));

      const served = (await raw.call('getDoc', ['lww-l'])).result as PatchesSnapshot<FuzzDoc>;
      const head = applyPatch(served.state ?? {}, served.changes.flatMap(c => c.ops), { mode: 'lenient' });
      expect(head).toEqual({ f3: 219 });
      expect((await tabA.store.getDoc('lww-l'))?.state).toEqual(head);
      expect(docA.state).toEqual(head);
    } finally {
      await raw.close();
      await tabA.close();
      await tabB.close();
    }
  });
  it("N (fixed): a store read begun before a doc's own newer write does not put its old rev back in synced$", async () => {
    // Was (shared-idb seed 8006, once, under load): a tab re-read its entry after another tab's
    // write (rev 41) and, while that read was on its way, applied rev 42 itself; the read landed
    // last and put 41 back. The other tab found 42 already applied and wrote nothing, so nothing
    // read the doc again: { status: 'synced', committedRev: 41 } for good, with 42 in the store.
    const db = `finding-n-${Date.now()}`;
    const storeB = holdingStore(new IndexedDBStore(db));
    // Two tabs of one database, each with a connection of its own (the fuzz's shared-idb mode).
    const a = client(0, { store: new IndexedDBStore(db), tabs: { enabled: false } });
    const b = client(1, { store: storeB, tabs: { enabled: false } });
    const writer = client(2);
    try {
      const docW = await firstChange(writer, 'n', 'ot');
      await a.patches.openDoc<FuzzDoc>('n', { algorithm: 'ot' });
      const docB = await b.patches.openDoc<FuzzDoc>('n', { algorithm: 'ot' });
      await settled(a, 'n', 1);
      await settled(b, 'n', 1);

      // b offline; a writes rev 2 to the shared store, and b's entry read of it answers late.
      b.online$.next(false);
      await bounded(b.sync.state$, s => !s.connected, 'b offline');
      const late = storeB.holdNextResult('getCommittedRev');
      docW.change(d => void (d.title = 'two'));
      await late.reached;
      a.online$.next(false);
      await bounded(a.sync.state$, s => !s.connected, 'a offline');

      // b back online applies rev 3 itself (a, offline, writes nothing more); then the late answer (2) lands.
      b.online$.next(true);
      docW.change(d => void (d.title = 'three'));
      await bounded(b.sync.synced$, s => (s.n?.committedRev ?? 0) >= 3, 'b applied rev 3');
      late.release();
      await new Promise(resolve => setImmediate(resolve));
      await settled(b, 'n', 3);
      expect(b.sync.synced.n.committedRev).toBe(3);
      expect(docB.committedRev).toBe(3);
      expect([...a.errors, ...b.errors, ...writer.errors]).toEqual([]);
    } finally {
      await a.patches.close();
      await b.patches.close();
    }
  });
  it("N (fixed, several docs): a pass's store reads do not put back a rev older than one a doc reported while another doc's read was on its way", async () => {
    // Was (shared-idb seed 8005, 3 runs in 17 with tracing): a restarted tab's first pass read every
    // doc's entry and put them all at once; one doc's rev was read, then the doc moved on (another
    // tab's write, shown by its view and entry) while a slower doc's read was still on its way,
    // and the pass's put took the doc's entry back to the rev it had read.
    const db = `finding-n2-${Date.now()}`;
    const storeB = holdingStore(new IndexedDBStore(db));
    const a = client(0, { store: new IndexedDBStore(db), tabs: { enabled: false } });
    const writer = client(2);
    try {
      const docW = await writer.patches.openDoc<FuzzDoc>('n', { algorithm: 'ot' });
      const otherW = await writer.patches.openDoc<FuzzDoc>('m', { algorithm: 'ot' });
      docW.change(d => void (d.title = 'one'));
      otherW.change(d => void (d.title = 'one'));
      await a.patches.openDoc<FuzzDoc>('n', { algorithm: 'ot' });
      await a.patches.openDoc<FuzzDoc>('m', { algorithm: 'ot' });
      await settled(a, 'n', 1);
      await settled(a, 'm', 1);

      // A second tab, offline until its entries exist; its first pass's read of m answers late.
      const b = client(1, { store: storeB, tabs: { enabled: false }, online: false });
      await b.patches.openDoc<FuzzDoc>('n', { algorithm: 'ot' });
      await bounded(b.sync.synced$, s => s.n?.committedRev === 1 && s.m?.committedRev === 1, 'b has its entries');
      const late = storeB.holdNextResult('getCommittedRev', docId => docId === 'm');
      b.online$.next(true);
      await late.reached; // n's rev (1) is read; m's answer is on its way

      // a applies n's rev 2 to the shared store: b's view follows, and its entry says 2.
      docW.change(d => void (d.title = 'two'));
      await bounded(b.sync.synced$, s => s.n?.committedRev === 2, "b's entry following a's write");
      late.release();
      await settled(b, 'n', 2);
      await settled(b, 'm', 1);
      expect(b.sync.synced.n.committedRev).toBe(2);
      expect([...a.errors, ...b.errors, ...writer.errors]).toEqual([]);
      await b.patches.close();
    } finally {
      await a.patches.close();
    }
  });

  /** Tab a (its own connection, its store calls holdable) and tab b (no sync) on one database; a writer elsewhere. */
  function twoTabsOneDatabase(name: string) {
    const db = `${name}-${Date.now()}`;
    const storeA = holdingStore(new IndexedDBStore(db));
    const a = client(0, { store: storeA, tabs: { enabled: false } });
    const b = new Patches({ store: new IndexedDBStore(db) });
    const close = async () => {
      await a.patches.close();
      await b.close();
    };
    const writer = client(2);
    /** The writer's first change to `docId`, synced by a (opened, or only tracked) and tracked by b; resolves with a's open doc, if opened. */
    const shared = async (docId: string, algorithm: 'ot' | 'lww', open: boolean) => {
      await firstChange(writer, docId, algorithm);
      const docA = open ? await a.patches.openDoc<FuzzDoc>(docId, { algorithm }) : await a.patches.trackDocs([docId], algorithm);
      await settled(a, docId, 1);
      await b.trackDocs([docId], algorithm);
      return docA;
    };
    return { a, storeA, b, writer, shared, close };
  }

  it('O (fixed): the reply to an LWW send is not applied across the gap to a doc another tab untracked and tracked again meanwhile', async () => {
    // Was (tabs seed 9112, shared-idb seed 9002 once, when the fuzz learnt to untrack): the reply
    // to a tab's own send "applies even when its revs look old"; after another tab untracked the
    // doc (purging its data) and tracked it again, the reply landed on the fresh rev-0 doc as the
    // head rev holding only its own ops: every tab of the database showed { c: 3 } for good.
    const { a, storeA, b, shared, close } = twoTabsOneDatabase('finding-o');
    try {
      const docA = (await shared('o', 'lww', true))!;

      // a's write of the reply to its send (it clears the send) waits while a goes offline (so it
      // cannot catch the fresh doc up first) and b untracks 'o' and tracks it again.
      const writing = storeA.holdNext('applyServerChanges', (docId, update) => docId === 'o' && (update as { clearSending?: boolean }).clearSending === true);
      docA.change(d => void (d.f2 = 2));
      await writing.reached;
      a.online$.next(false);
      await bounded(a.sync.state$, s => !s.connected, 'a offline');
      await b.untrackDocs(['o']);
      await bounded(merge(of(null), a.patches.untracked$), () => !a.patches.trackedDocs.has('o'), 'a following the untrack');
      await b.trackDocs(['o'], 'lww');
      await bounded(merge(of(null), a.patches.tracked$), () => a.patches.trackedDocs.has('o'), 'a following the track');
      writing.release();
      a.online$.next(true);

      await settled(a, 'o', 2);
      expect((await storeA.getDoc('o'))?.state).toEqual({ f1: 1, f2: 2 });
      expect(a.errors).toEqual([]);
    } finally {
      await close();
    }
  });

  it('O (fixed, untracked only): a closed doc\'s write landing after another tab untracked it ends quietly', async () => {
    // Was (shared-idb seed 9000): the store refused the write (the doc is not tracked) and onError said so.
    const { a, storeA, b, writer, close } = twoTabsOneDatabase('finding-o2');
    try {
      await a.patches.trackDocs(['o'], 'lww');
      await b.trackDocs(['o'], 'lww');
      const docW = await writer.patches.openDoc<FuzzDoc>('o', { algorithm: 'lww' });
      docW.change(d => void (d.f1 = 1));
      await settled(a, 'o', 1);

      // a's write of the next broadcast waits; b untracks 'o'; the write lands while a, following, reads the store's list.
      const writing = storeA.holdNext('applyServerChanges', docId => docId === 'o');
      docW.change(d => void (d.f2 = 2));
      await writing.reached;
      const following = storeA.holdNextResult('listDocs');
      await b.untrackDocs(['o']);
      await following.reached;
      writing.release();
      following.release();
      await bounded(merge(of(null), a.patches.untracked$), () => !a.patches.trackedDocs.has('o'), 'a following the untrack');
      docW.change(d => void (d.f3 = 3));
      await settled(writer, 'o', 3);
      await bounded(a.sync.state$, s => s.connected && s.syncing === null, 'a idle');
      expect(a.sync.synced.o).toBeUndefined();
      expect(a.errors).toEqual([]);
    } finally {
      await close();
    }
  });

  it("Q (fixed): a doc deleted in a following tab is deleted on the server by the leading tab, not only on its next connection", async () => {
    // Was (tabs seed 9710, after the script learnt to delete docs): the follower wrote its
    // tombstone, but only an instance's own deleteDoc sent the server delete; the leader followed
    // the store (the doc left its tracked set) and kept the tombstone for its next full pass, so
    // other clients kept the doc and the server served it.
    const db = `finding-q-${Date.now()}`;
    const tab = (index: number, leading: boolean) => client(index, { store: new IndexedDBStore(db), tabs: { enabled: true, name: db, leadership$: new BehaviorSubject(leading) } });
    const leader = tab(0, true);
    const follower = tab(1, false);
    const other = client(2);
    try {
      await firstChange(other, 'q', 'ot');
      await leader.patches.openDoc<FuzzDoc>('q', { algorithm: 'ot' });
      await follower.patches.openDoc<FuzzDoc>('q', { algorithm: 'ot' });
      await settled(follower, 'q', 1);

      const heard = firstValueFrom(other.sync.remoteDocDeleted$);
      await follower.patches.deleteDoc('q');
      await bounded(from(heard), e => e.docId === 'q', 'the other client hearing of the delete');
      expect([...leader.errors, ...follower.errors, ...other.errors]).toEqual([]);
    } finally {
      await leader.patches.close();
      await follower.patches.close();
    }
  });

  it('R (fixed): a doc another tab untracked and tracked again before this tab looked is synced again from scratch', async () => {
    // Found by reading finding O's fix: the leading tab, following the store, read a list that had
    // the doc again and changed nothing; its entry still said rev 1 while the database held the
    // fresh, empty doc, so no pass fetched it until the next connection.
    const { a, storeA, b, shared, close } = twoTabsOneDatabase('finding-r');
    try {
      await shared('r', 'ot', false);

      // a reads the store's list (to follow b) only after b has untracked 'r' and tracked it again.
      const following = storeA.holdNext('listDocs');
      const renewed = firstValueFrom(a.patches.untracked$.pipe(filter(ids => ids.includes('r'))));
      await b.untrackDocs(['r']);
      await following.reached;
      await b.trackDocs(['r'], 'ot');
      following.release();

      // a takes it as a new doc: its entry goes, comes back from the store and syncs.
      await bounded(from(renewed), () => true, "a dropping its entry of the old 'r'");
      await bounded(a.sync.synced$, s => s.r?.status === 'synced' && s.r.committedRev === 1, 'a synced at rev 1');
      expect(await storeA.getDoc('r')).toMatchObject({ committedRev: 1, state: { title: 'one' } });
      expect(a.errors).toEqual([]);
    } finally {
      await close();
    }
  });

  it('R (fixed, open view): the view of a doc another tab untracked and tracked again shows the fresh doc, and its entry follows it', async () => {
    // Was (tabs seed 12206, 1 run in 3): the leading tab kept its open view at the old rev; its
    // entry, built from the view, said rev 9 with edits pending while the database held the fresh
    // doc at rev 0, and no pass ever fetched it.
    const { a, storeA, b, shared, close } = twoTabsOneDatabase('finding-r2');
    try {
      const docA = (await shared('r', 'lww', true))!;
      a.online$.next(false);
      await bounded(a.sync.state$, s => !s.connected, 'a offline');

      const following = storeA.holdNext('listDocs');
      const renewed = firstValueFrom(a.patches.untracked$.pipe(filter(ids => ids.includes('r'))));
      await b.untrackDocs(['r']);
      await following.reached;
      await b.trackDocs(['r'], 'lww');
      following.release();
      await bounded(from(renewed), () => true, "a dropping its entry of the old 'r'");

      // Offline, a shows the fresh doc the database holds; online, it fetches it.
      await bounded(a.sync.synced$, s => s.r?.committedRev === 0 && !s.r.hasPending, "a's entry of the fresh 'r'");
      expect(docA.committedRev).toBe(0);
      a.online$.next(true);
      await settled(a, 'r', 1);
      expect(docA.state).toEqual({ f1: 1 });
      expect(a.errors).toEqual([]);
    } finally {
      await close();
    }
  });
});
