import { BehaviorSubject, Subject, filter, firstValueFrom, skipWhile, take, throwError } from 'rxjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Patches } from '../../src/client/Patches.js';
import type { PatchesDoc } from '../../src/client/PatchesDoc.js';
import { PatchesSync } from '../../src/net/PatchesSync.js';
import { startServer } from '../../src/server/index.js';
import { InMemoryStore } from '../../src/stores/InMemoryStore.js';
import { createChange } from '../../src/algorithms/createChange.js';
import type { PatchesStore } from '../../src/stores/PatchesStore.js';
import { WebSocket } from 'ws';
import type { WebSocketConstructor } from '../../src/streams/webSocketEvents.js';
import { frameLog, type FrameLog } from '../helpers/countingWebSocket.js';
import { startFaultProxy } from '../helpers/faultProxy.js';
import { failingStore } from '../helpers/failingStore.js';
import { holdingStore } from '../helpers/holdingStore.js';
import type { Change, PatchesSyncState, SyncedDoc } from '../../src/types.js';
import { NetworkError, StatusError, SyncOptionError } from '../../src/errors.js';
import { docSynced, idle, serverHistory, startHarness, when, type SyncHarness, type TestClient } from '../helpers/syncHarness.js';

let harness: SyncHarness;

beforeEach(async () => {
  harness = await startHarness();
});

afterEach(async () => {
  await harness.close();
});

/** Every committed change the server holds for a doc, read through a client's RPC. */


/** How many runs of `docId` have failed so far: each time its status enters 'error' again. */
/**
 * A WebSocket class that notes every `commitChanges` it sends (JSON-RPC id and changes) and loses
 * the reply to the commit `which` names: the client never reads it, and `cut` ends the connection
 * instead (the reply lost with it). `lost` is that commit's JSON-RPC id once it happened.
 */
function replyLosingSocket(
  which: (commits: ReadonlyArray<{ rpc: unknown; changes: Change[] }>) => { rpc: unknown } | false | undefined,
  cut: (socket: WebSocket) => void,
): { WebSocketCtor: WebSocketConstructor; commits: Array<{ rpc: unknown; changes: Change[] }>; lost: unknown } {
  const losing = { commits: [] as Array<{ rpc: unknown; changes: Change[] }>, lost: undefined as unknown, WebSocketCtor: undefined as unknown as WebSocketConstructor };
  losing.WebSocketCtor = function (url: string, protocols?: string | string[]): WebSocket {
    const socket = new WebSocket(url, protocols);
    const send = socket.send.bind(socket) as (data: string, ...rest: unknown[]) => void;
    Object.assign(socket, {
      send(data: string, ...rest: unknown[]) {
        for (const m of [JSON.parse(data)].flat() as Array<{ id?: unknown; method?: string; params?: [string, Change[]] }>) {
          if (m.method === 'commitChanges') losing.commits.push({ rpc: m.id, changes: m.params![1] });
        }
        send(data, ...rest);
      },
    });
    const handler = Object.getOwnPropertyDescriptor(WebSocket.prototype, 'onmessage')!;
    Object.defineProperty(socket, 'onmessage', {
      get: () => handler.get!.call(socket),
      set: (listener: ((event: WebSocket.MessageEvent) => void) | null) =>
        handler.set!.call(socket, listener && ((event: WebSocket.MessageEvent) => {
          const replies = [JSON.parse(String(event.data))].flat() as Array<{ id?: unknown }>;
          const target = losing.lost === undefined ? which(losing.commits) : undefined;
          if (target && replies.some(m => m.id === target.rpc)) {
            losing.lost = target.rpc;
            cut(socket);
            return;
          }
          listener(event);
        })),
    });
    return socket;
  } as unknown as WebSocketConstructor;
  return losing;
}

function countFailedRuns(sync: PatchesSync, docId: string): () => number {
  let failed = 0;
  let last: string | undefined;
  sync.synced$.subscribe(synced => {
    if (synced[docId]?.status === 'error' && last !== 'error') failed++;
    last = synced[docId]?.status;
  });
  return () => failed;
}

/** A client that never loaded `docId` edits it offline (the edits saved), then comes online and connects. */
async function editedOffline<T extends object>(
  docId: string,
  edits: Array<Parameters<PatchesDoc<T>['change']>[0]>,
  options: Parameters<SyncHarness['client']>[0] = {},
): Promise<{ client: TestClient; doc: PatchesDoc<T> }> {
  const online$ = new BehaviorSubject(false);
  const client = harness.client({ ...options, online$ });
  const doc = await client.patches.openDoc<T>(docId);
  for (const edit of edits) doc.change(edit);
  await doc.flush();
  online$.next(true);
  await client.sync.connect();
  return { client, doc };
}

describe('PatchesSync', () => {
  describe('convergence', () => {
    it('should converge two clients editing the same OT doc concurrently', async () => {
      const [a, b] = await Promise.all([harness.connected(), harness.connected()]);
      const docA = await a.patches.openDoc<{ items: string[] }>('shared');
      docA.change(draft => {
        draft.items = ['x'];
      });
      await docSynced(a.sync, 'shared', 1);
      const docB = await b.patches.openDoc<{ items: string[] }>('shared');
      await docSynced(b.sync, 'shared', 1);

      docA.change(draft => {
        draft.items.unshift('a1');
      });
      docB.change(draft => {
        draft.items.push('b1');
      });
      docA.change(draft => {
        draft.items.push('a2');
      });
      await Promise.all([docSynced(a.sync, 'shared', 4), docSynced(b.sync, 'shared', 4)]);
      await when(docB.state$, s => s.items.length === 4);
      await when(docA.state$, s => s.items.length === 4);

      expect(docA.state).toEqual(docB.state);
      // a1 was unshifted before x (an insert at 0, not an overwrite of x); b1 and a2 were appended,
      // in the order their commits reached the server.
      expect([...docA.state.items.slice(0, 2), ...docA.state.items.slice(2).sort()]).toEqual(['a1', 'x', 'a2', 'b1']);
      expect(a.errors).toEqual([]);
      expect(b.errors).toEqual([]);
    });

    it('should converge two clients editing the same LWW doc concurrently', async () => {
      const [a, b] = await Promise.all([harness.connected(), harness.connected()]);
      const docA = await a.patches.openDoc<{ x?: number; y?: number; z?: number }>('lww-doc', { algorithm: 'lww' });
      const docB = await b.patches.openDoc<{ x?: number; y?: number; z?: number }>('lww-doc', { algorithm: 'lww' });
      docA.change(draft => {
        draft.x = 1;
        draft.y = 1;
      });
      docB.change(draft => {
        draft.y = 2;
        draft.z = 2;
      });
      await Promise.all([docSynced(a.sync, 'lww-doc', 2), docSynced(b.sync, 'lww-doc', 2)]);
      await when(docA.state$, s => s.z !== undefined && s.x !== undefined);
      await when(docB.state$, s => s.z !== undefined && s.x !== undefined);
      expect(docA.state).toEqual(docB.state);
      expect(docA.state.x).toBe(1);
      expect(docA.state.z).toBe(2);
    });

    // Found in review, fixed: a push onto an LWW doc's array travelled as `add /list/9`, which the
    // server stores as a replace that cannot apply past the end: the push was lost, silently.
    it('should keep every edit of an LWW doc\'s arrays, each array written whole', async () => {
      const [a, b] = await Promise.all([harness.connected(), harness.connected()]);
      type Doc = { list?: unknown[]; rows?: { tags: string[] }[] };
      const docA = await a.patches.openDoc<Doc>('lww-doc', { algorithm: 'lww' });
      docA.change(draft => {
        draft.list = [0, 1, 2, 3, 4, 5, 6, 7, 8];
        draft.rows = [{ tags: ['a'] }];
      });
      await docSynced(a.sync, 'lww-doc', 1);
      docA.change(draft => void draft.list!.push(9, 10));
      docA.change(draft => void draft.list!.splice(0, 2));
      docA.change(draft => {
        draft.rows![0].tags.unshift('first');
        draft.rows!.push({ tags: [] });
      });
      const expected = { list: [2, 3, 4, 5, 6, 7, 8, 9, 10], rows: [{ tags: ['first', 'a'] }, { tags: [] }] };
      expect(docA.state).toEqual(expected);
      await when(a.sync.synced$, synced => synced['lww-doc']?.status === 'synced' && !synced['lww-doc'].hasPending);
      const docB = await b.patches.openDoc<Doc>('lww-doc', { algorithm: 'lww' });
      await when(docB.state$, s => s.rows?.length === 2);
      expect(docB.state).toEqual(expected);
      expect(docA.state).toEqual(expected);
      expect(a.errors).toEqual([]);
    });

    /** Makes an edit and resolves once it was sent and answered: the doc pending, then synced with nothing pending. */
    const editAnswered = async (client: TestClient, edit: () => void) => {
      const answered = when(
        client.sync.synced$.pipe(skipWhile(synced => !synced['lww-doc']?.hasPending)),
        synced => synced['lww-doc']?.status === 'synced' && !synced['lww-doc'].hasPending,
      );
      edit();
      await answered;
    };

    // Found in review, fixed: edits were stamped with the clock alone, so a writer whose clock
    // ran behind lost to a value they overwrote after it arrived (for as long as the lag), and a
    // clock stepped back made a user's later edit lose to their own earlier one, silently.
    it("should keep an LWW edit made after another writer's value arrived, from a clock hours behind", async () => {
      const behind = 3 * 60 * 60 * 1000;
      const [a, b] = await Promise.all([harness.connected({ clock: () => Date.now() - behind }), harness.connected()]);
      type Doc = { color?: string };
      const docA = await a.patches.openDoc<Doc>('lww-doc', { algorithm: 'lww' });
      const docB = await b.patches.openDoc<Doc>('lww-doc', { algorithm: 'lww' });
      docB.change(draft => void (draft.color = 'red'));
      await when(docA.state$, s => s.color === 'red');
      await editAnswered(a, () => docA.change(draft => void (draft.color = 'blue')));
      await docSynced(b.sync, 'lww-doc', a.sync.synced['lww-doc'].committedRev);
      expect(docA.state).toEqual({ color: 'blue' });
      expect(docB.state).toEqual({ color: 'blue' });
      expect([...a.errors, ...b.errors]).toEqual([]);
    });

    it("should keep a user's later LWW edit of a committed field after their clock stepped back", async () => {
      let now = Date.now();
      const a = await harness.connected({ clock: () => now });
      const docA = await a.patches.openDoc<{ status?: string }>('lww-doc', { algorithm: 'lww' });
      docA.change(draft => void (draft.status = 'open'));
      await docSynced(a.sync, 'lww-doc', 1);
      now -= 5_000; // NTP steps the laptop clock back
      await editAnswered(a, () => docA.change(draft => void (draft.status = 'closed')));
      expect(docA.state).toEqual({ status: 'closed' });
      const fresh = await harness.connected();
      const seen = await fresh.patches.openDoc<{ status?: string }>('lww-doc', { algorithm: 'lww' });
      await when(seen.state$, s => s.status !== undefined);
      expect(seen.state).toEqual({ status: 'closed' });
    });

    // Found in review, fixed: an LWW change cut into pieces is cut again at every send (the store
    // keeps it whole), and every piece but the first got a fresh id each time: after a lost reply
    // the resent piece was committed a second time, its stamp clamped to the server's clock of
    // then, over another user's write made meanwhile (the author's clock an hour ahead).
    it("should commit each piece of a cut LWW change once when a piece's reply is lost, from a clock ahead", async () => {
      const ahead = 60 * 60 * 1000;
      let a: TestClient | undefined;
      // The reply to A's second commit is lost with its connection (A disconnects instead of reading it).
      const losing = replyLosingSocket(commits => commits.length >= 2 && commits[1], () => a!.sync.disconnect());
      const commits = losing.commits;
      a = harness.client({ clock: () => Date.now() + ahead, maxPayloadBytes: 700, websocket: { WebSocketCtor: losing.WebSocketCtor } });
      await a.sync.connect();
      const b = await harness.connected();
      type Doc = { a?: string; b?: string };
      const docA = await a.patches.openDoc<Doc>('lww-cut', { algorithm: 'lww' });
      const docB = await b.patches.openDoc<Doc>('lww-cut', { algorithm: 'lww' });
      docA.change(draft => {
        draft.a = 'a'.repeat(400);
        draft.b = 'b'.repeat(400);
      });
      await when(a.sync.state$, s => !s.connected && losing.lost !== undefined);
      await when(docB.state$, s => s.b !== undefined); // both pieces are committed
      docB.change(draft => void (draft.b = 'written by B after A'));
      await docSynced(b.sync, 'lww-cut', 3);
      await a.sync.connect();
      await docSynced(a.sync, 'lww-cut', 3);
      const history = await serverHistory(b, 'lww-cut');
      await docSynced(b.sync, 'lww-cut', history[history.length - 1].rev);

      expect(docA.state.b).toBe('written by B after A');
      expect(docB.state.b).toBe('written by B after A');
      expect(history[history.length - 1].rev).toBe(3); // A's two pieces and B's write: nothing committed twice
      const ids = commits.map(c => c.changes.map(change => change.id));
      expect(ids.map(list => list.length)).toEqual([1, 1, 1, 1]); // two pieces, sent twice
      expect(ids[2]).toEqual(ids[0]);
      expect(ids[3]).toEqual(ids[1]);
      expect([...a.errors, ...b.errors]).toEqual([]);
    });

    it('should converge when one LWW change writes an object and a field in it at one timestamp', async () => {
      // Two edits in one millisecond (one clock value): the server stores both rows at one rev and
      // one ts, and the child's row can be the older one (its parent's was dropped by B's write of
      // /p and is stored anew), so only the depth orders them in the reply.
      let now = 100;
      const [a, b] = await Promise.all([harness.connected({ clock: () => now }), harness.connected({ clock: () => now })]);
      type Doc = { p?: { a?: { b?: number } } };
      const docA = await a.patches.openDoc<Doc>('lww-doc', { algorithm: 'lww' });
      const docB = await b.patches.openDoc<Doc>('lww-doc', { algorithm: 'lww' });
      const synced = (rev: number) => Promise.all([docSynced(a.sync, 'lww-doc', rev), docSynced(b.sync, 'lww-doc', rev)]);
      docA.change(draft => void (draft.p = { a: {} }));
      await synced(1);
      now = 300;
      docA.change(draft => void (draft.p!.a!.b = 1));
      await synced(2);
      now = 250; // B's write of /p is older than A's /p/a/b: that row survives it, /p/a does not
      docB.change(draft => void (draft.p = { a: {} }));
      await synced(3);
      now = 400;
      docA.change(draft => void (draft.p!.a = {}));
      docA.change(draft => void (draft.p!.a!.b = 5));
      await synced(4);
      await when(docB.state$, s => s.p?.a?.b === 5);
      expect(docA.state).toEqual({ p: { a: { b: 5 } } });
      expect(docB.state).toEqual(docA.state);
    });
  });

  // Found in review, fixed: the batches after the first went out as cut before its reply, on a rev
  // the doc had left; the server took the other client's change it had just sent back for the
  // batch's own, and merged it wrongly (B's insert was lost, the removed item came back).
  it('should send an offline queue cut into several batches on the rev each reply leaves the doc at', async () => {
    const b = await harness.connected();
    const online$ = new BehaviorSubject(true);
    const a = harness.client({ online$, maxPayloadBytes: 250 });
    await a.sync.connect();
    const docA = await a.patches.openDoc<{ list: string[] }>('d');
    docA.change(draft => void (draft.list = ['A', 'B']));
    await docSynced(a.sync, 'd', 1);
    const docB = await b.patches.openDoc<{ list: string[] }>('d');
    await docSynced(b.sync, 'd', 1);
    online$.next(false);
    docA.change(draft => void draft.list.splice(0, 1)); // remove A
    docA.change(draft => void (draft.list[0] = 'Z')); // replace B by Z
    await docA.flush();
    docB.change(draft => void draft.list.splice(1, 0, 'F')); // insert F between A and B
    await docSynced(b.sync, 'd', 2);
    online$.next(true);
    await docSynced(a.sync, 'd', 4);
    await docSynced(b.sync, 'd', 4);
    expect(docA.state.list).toEqual(['F', 'Z']);
    expect(docB.state.list).toEqual(['F', 'Z']);
    expect(a.errors).toEqual([]);
  });

  describe('offline and reconnect', () => {
    // Found in review, fixed: a second connect() while connected reset the pass count, so the next
    // reconnect's pass said 'initial' (the first after connect()) instead of 'updating'.
    it("should call the first pass after connect() 'initial' and every pass after a reconnect 'updating', a second connect() included", async () => {
      const client = await harness.connected();
      await client.patches.trackDocs(['d']);
      await idle(client.sync);
      await client.sync.connect();
      const passes: unknown[] = [];
      client.sync.state$.subscribe(state => {
        if (state.syncing !== null && !(state.syncing instanceof Error) && passes.at(-1) !== state.syncing) passes.push(state.syncing);
      });
      harness.proxy.dropAll();
      await when(client.sync.state$, s => !s.connected);
      await when(client.sync.state$, s => s.connected && s.syncing === null);
      expect(passes).toEqual(['updating']);
      client.sync.disconnect();
      await client.sync.connect();
      await when(client.sync.state$, s => s.connected && s.syncing === null);
      expect(passes).toEqual(['updating', 'initial']);
    });

    // Found in review, fixed: such a connect() never settled (or resolved once the tabs closed),
    // and held the socket's sources, the online$ listener included, after destroy().
    it.each(['disconnect', 'destroy'] as const)('should reject a connect() still waiting for the network when %s() comes first, report nothing, and let go of online$', async how => {
      const online$ = new BehaviorSubject(false);
      const client = harness.client({ online$ });
      const first = client.sync.connect();
      const second = client.sync.connect();
      expect(online$.observed).toBe(true);
      client.sync[how]();
      await expect(first).rejects.toBeInstanceOf(NetworkError);
      await expect(second).rejects.toBeInstanceOf(NetworkError);
      expect(client.errors).toEqual([]);
      expect(client.sync.state).toMatchObject({ connected: false, syncing: null });
      if (how === 'destroy') expect(online$.observed).toBe(false);
      else {
        // Still usable: a new connect() waits for the network, and connects once it is back.
        const third = client.sync.connect();
        online$.next(true);
        await third;
        expect(client.sync.state.connected).toBe(true);
      }
    });

    // Found in review, fixed: the error ended the connection's sources for good: the socket
    // closed, edits stopped both ways, every connect() rejected with it, and onError heard nothing.
    it.each(['online$', 'wake$'] as const)("should report an app's %s that errors, once, and keep the connection, the edits both ways and connect()", async option => {
      const source = option === 'online$' ? new BehaviorSubject(true) : new Subject<boolean>();
      const a = await harness.connected({ [option]: source });
      const b = await harness.connected();
      const docA = await a.patches.openDoc<{ v?: number; w?: number }>('plugin');
      const docB = await b.patches.openDoc<{ v?: number; w?: number }>('plugin');
      await Promise.all([docSynced(a.sync, 'plugin'), docSynced(b.sync, 'plugin')]);
      source.error(new Error('plugin crashed'));
      expect(a.errors).toEqual([expect.any(SyncOptionError)]);
      expect(a.errors[0]).toMatchObject({ option, cause: new Error('plugin crashed') });
      expect(a.sync.state).toMatchObject({ online: true, connected: true });
      docA.change(draft => {
        draft.v = 1;
      });
      await when(docB.state$, s => s.v === 1);
      docB.change(draft => {
        draft.w = 2;
      });
      await when(docA.state$, s => s.w === 2);
      a.sync.disconnect();
      await a.sync.connect();
      expect(a.sync.state).toMatchObject({ online: true, connected: true });
      expect(a.errors).toHaveLength(1);
    });

    // Found checking docs/state-and-errors.md (an online$ that errored reaches onError once): one
    // that errors as the constructor subscribes it (fromEvent on something that is no event target
    // throws so) was reported before the app could add a listener, and onError never heard it.
    it("should report an app's online$ that errors as it is subscribed to a listener added after the constructor", async () => {
      const client = harness.client({ online$: throwError(() => new Error('no such target')) });
      const heard = new Promise<Error>(resolve => client.sync.onError(resolve));
      expect(client.sync.state.online).toBe(true);
      await expect(heard).resolves.toMatchObject({ name: 'SyncOptionError', option: 'online$', cause: new Error('no such target') });
      await client.sync.connect();
      expect(client.errors).toEqual([expect.any(SyncOptionError)]);
    });

    // Found in review, fixed: a tab that leads (a lone tab always does) never follows, and each
    // connect() made while disconnected left its wait for a leader subscribed for good (~6.5 KB
    // per "Work offline" toggle). The tabs' subjects are private: their observers are counted here.
    it('should leave nothing waiting for a leader once connect() in a leading tab has connected', async () => {
      const client = await harness.connected();
      const tabs = (client.sync as unknown as { tabs: { leadingSubject: Subject<boolean>; news: Subject<unknown> } }).tabs;
      const observers = () => [tabs.leadingSubject.observers.length, tabs.news.observers.length];
      const before = observers();
      for (let i = 0; i < 3; i++) {
        client.sync.disconnect();
        await client.sync.connect();
      }
      expect(observers()).toEqual(before);
    });

    // Found in review, fixed: it was judged by whether a connection was wanted when its rejection
    // was handled, by when the second connect() wanted one again: onError heard it, and
    // state.syncing showed it for a moment (a UI flashed "sync failed").
    it('should report nothing for a connect() called off by disconnect() when a later connect() wants the connection again', async () => {
      const client = await harness.connected();
      const syncing: unknown[] = [];
      client.sync.state$.subscribe(state => syncing.push(state.syncing));
      client.sync.disconnect();
      const first = client.sync.connect();
      client.sync.disconnect();
      const second = client.sync.connect();
      await expect(first).rejects.toBeInstanceOf(NetworkError);
      await second;
      await idle(client.sync);
      expect(client.errors).toEqual([]);
      expect(syncing.filter(s => s instanceof Error)).toEqual([]);
    });

    it('should send changes made offline exactly once after coming back', async () => {
      const online$ = new BehaviorSubject(true);
      const a = await harness.connected({ online$ });
      const b = await harness.connected();
      const docA = await a.patches.openDoc<{ log: string[] }>('journal');
      docA.change(draft => {
        draft.log = ['start'];
      });
      await docSynced(a.sync, 'journal', 1);

      online$.next(false);
      await when(a.sync.state$, s => !s.online && !s.connected);
      docA.change(draft => {
        draft.log.push('offline-1');
      });
      docA.change(draft => {
        draft.log.push('offline-2');
      });
      const docB = await b.patches.openDoc<{ log: string[] }>('journal');
      await docSynced(b.sync, 'journal', 1);
      docB.change(draft => {
        draft.log.push('online');
      });
      await docSynced(b.sync, 'journal', 2);

      online$.next(true);
      await docSynced(a.sync, 'journal', 4);
      await when(docB.state$, s => s.log.length === 4);
      expect(docA.state).toEqual(docB.state);

      const ids = (await serverHistory(b, 'journal')).map(c => c.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids).toHaveLength(4);
    });

    it('should resend pending changes exactly once when the socket drops mid-session', async () => {
      const a = await harness.connected();
      const doc = await a.patches.openDoc<{ n: number[] }>('drops');
      doc.change(draft => {
        draft.n = [];
      });
      await docSynced(a.sync, 'drops', 1);
      for (let i = 0; i < 5; i++) {
        doc.change(draft => {
          draft.n.push(i);
        });
        if (i === 2) harness.proxy.dropAll();
      }
      await when(a.sync.state$, s => s.connected);
      await docSynced(a.sync, 'drops', 6);
      const b = await harness.connected();
      const history = await serverHistory(b, 'drops');
      const ids = history.map(c => c.id);
      expect(new Set(ids).size).toBe(ids.length);
      const seen = await b.patches.openDoc<{ n: number[] }>('drops');
      await docSynced(b.sync, 'drops', 6);
      expect(seen.state.n).toEqual([0, 1, 2, 3, 4]);
    });

    it('should sync a stored doc with pending changes even when connect() beats the store listing', async () => {
      const store = new InMemoryStore();
      await store.trackDocs(['stored'], 'ot');
      await store.savePendingChanges('stored', [
        { id: 'stored-1', ops: [{ op: 'add', path: '/v', value: 1 }], baseRev: 0, rev: 1, createdAt: 1, committedAt: 0 },
      ]);
      // The edge: a store whose first listing is slow (an IndexedDB opening, say).
      const listDocs = store.listDocs.bind(store);
      let release!: () => void;
      const gate = new Promise<void>(resolve => (release = resolve));
      jest.spyOn(store, 'listDocs').mockImplementationOnce(async includeDeleted => {
        await gate;
        return listDocs(includeDeleted);
      });
      const a = harness.client({ store });
      await a.sync.connect(); // the first pass starts while the listing is still held back
      release();
      await docSynced(a.sync, 'stored', 1);
      const b = await harness.connected();
      expect((await serverHistory(b, 'stored')).map(c => c.id)).toEqual(['stored-1']);
    });

    it('should take the history a re-based commit (docReloadRequired) is answered with on our server, and ask for no reload', async () => {
      const a = await harness.connected();
      const docA = await a.patches.openDoc<{ title?: string; b?: string }>('rebased');
      docA.change(draft => {
        draft.title = 'from a';
      });
      await docSynced(a.sync, 'rebased', 1);

      const log = frameLog();
      const edit = (draft: { b?: string }) => void (draft.b = 'from b');
      const { client: b, doc: docB } = await editedOffline<{ title?: string; b?: string }>('rebased', [edit], { websocket: { WebSocketCtor: log.WebSocketCtor } });
      await docSynced(b.sync, 'rebased', 2);

      const asked = log.messages(log.sent).map(m => m.method);
      expect(asked.filter(m => m !== 'getCapabilities' && m !== 'subscribe')).toEqual(['commitChanges']);
      expect(docB.state).toEqual({ title: 'from a', b: 'from b' });
      expect(await b.patches.store.listChanges('rebased', 0)).toEqual(await serverHistory(a, 'rebased'));
      expect(b.errors).toEqual([]);
    });

    it('should converge when a never-synced client edits a doc that already exists on the server (docReloadRequired)', async () => {
      const a = await harness.connected();
      const docA = await a.patches.openDoc<{ list: string[]; b?: string }>('existing');
      docA.change(draft => {
        draft.list = ['a'];
      });
      docA.change(draft => {
        draft.list.push('a2');
      });
      await docSynced(a.sync, 'existing', 2);

      const { client: b, doc: docB } = await editedOffline<{ list: string[]; b?: string }>('existing', [
        draft => void (draft.b = 'from b'),
        draft => void (draft.b = 'from b, again'),
      ]);
      await docSynced(b.sync, 'existing', 3);
      await when(docA.state$, s => s.b === 'from b, again');

      expect(docB.state).toEqual(docA.state);
      expect(docB.state).toEqual({ list: ['a', 'a2'], b: 'from b, again' });
      expect(b.errors).toEqual([]);
      const ids = (await serverHistory(a, 'existing')).map(c => c.id);
      expect(new Set(ids).size).toBe(ids.length);
    });

    it('should send what is left of a queue in several batches once the first batch made it reload (docReloadRequired)', async () => {
      const a = await harness.connected();
      const docA = await a.patches.openDoc<{ title?: string; notes?: string[] }>('batched-reload');
      docA.change(draft => {
        draft.title = 'from a';
      });
      await docSynced(a.sync, 'batched-reload', 1);

      // Three edits of ~400 bytes made offline, sent one per frame: the first is re-based by the
      // server, so the two already cut from the old queue are not sent; the run's follow-up sends
      // them rebased.
      const notes = ['x', 'y', 'z'].map(c => c.repeat(400));
      const { client: b, doc: docB } = await editedOffline<{ title?: string; notes?: string[] }>(
        'batched-reload',
        [draft => void (draft.notes = [notes[0]]), ...notes.slice(1).map(note => (draft: { notes?: string[] }) => void draft.notes!.push(note))],
        { maxPayloadBytes: 700 },
      );
      await docSynced(b.sync, 'batched-reload', 4);
      await when(docA.state$, s => s.notes?.length === 3);

      expect(docB.state).toEqual({ title: 'from a', notes });
      expect(docA.state).toEqual(docB.state);
      expect(b.errors).toEqual([]);
    });

    it.each([
      ['our server (its history in the reply)', {}],
      ['a server answering as the anchor does (own changes only, then a pull)', { anchorWire: true }],
    ])('should keep the edits of every batch of a queue cut after the first was re-based (docReloadRequired) on %s', async (_name, options) => {
      await harness.close();
      harness = await startHarness(options);
      const a = await harness.connected();
      const docA = await a.patches.openDoc<{ notes?: Record<string, string> }>('reload-notes');
      docA.change(draft => {
        draft.notes = { intro: 'from a' };
      });
      await docSynced(a.sync, 'reload-notes', 1);

      // B, which never loaded the doc, makes the notes object (a soft write: a no-op on A's) and
      // fills it offline; the queue goes out in several frames. The server puts the first frame
      // after A's change as it is, so what B wrote on top of it must follow it as it is, not be
      // rebased over A's change as if written beside it (which dropped them as written under a
      // replaced parent).
      const notes = ['x', 'y', 'z', 'w'].map(c => c.repeat(400));
      const { client: b, doc: docB } = await editedOffline<{ notes?: Record<string, string> }>(
        'reload-notes',
        [draft => void (draft.notes = {}), ...notes.map((note, i) => (draft: { notes?: Record<string, string> }) => void (draft.notes![`n${i}`] = note))],
        { maxPayloadBytes: 900 },
      );
      const expected = { notes: { intro: 'from a', n0: notes[0], n1: notes[1], n2: notes[2], n3: notes[3] } };
      // A's change and B's five.
      await docSynced(b.sync, 'reload-notes', 6);
      await when(docA.state$, s => Object.keys(s.notes ?? {}).length >= 5);

      expect(docB.state).toEqual(expected);
      expect(docA.state).toEqual(expected);
      expect(b.errors).toEqual([]);
    });

    it('should keep an edit made while the reload after a re-based batch (docReloadRequired, as the anchor answers) is under way, commit it once, and send none of the batches cut before the reload', async () => {
      await harness.close();
      harness = await startHarness({ anchorWire: true });
      const a = await harness.connected();
      type Doc = { title?: string; a1?: string; a2?: string; minted?: string };
      const docA = await a.patches.openDoc<Doc>('reload-minted');
      docA.change(draft => void (draft.title = 'from a'));
      await docSynced(a.sync, 'reload-minted', 1);

      // B's fetch after its first batch is answered docReloadRequired waits until released.
      const commits: Change[][] = [];
      let release: (() => void) | undefined;
      let heldNow!: () => void;
      const held = new Promise<void>(resolve => (heldNow = resolve));
      const HoldingReload = function (url: string, protocols?: string | string[]): WebSocket {
        const socket = new WebSocket(url, protocols);
        const send = socket.send.bind(socket) as (data: string, ...rest: unknown[]) => void;
        Object.assign(socket, {
          send(data: string, ...rest: unknown[]) {
            const messages = [JSON.parse(data)].flat() as Array<{ method?: string; params?: unknown[] }>;
            for (const m of messages) if (m.method === 'commitChanges') commits.push(m.params![1] as Change[]);
            const isReload = messages.some(m => (m.method === 'getChangesSince' || m.method === 'getDoc') && m.params?.[0] === 'reload-minted');
            if (isReload && commits.length > 0 && !release) {
              release = () => send(data, ...rest);
              heldNow();
              return;
            }
            send(data, ...rest);
          },
        });
        return socket;
      };
      // Two edits of ~500 bytes made offline by B, which never loaded the doc: one per frame.
      const { client: b, doc: docB } = await editedOffline<Doc>(
        'reload-minted',
        [draft => void (draft.a1 = 'x'.repeat(500)), draft => void (draft.a2 = 'y'.repeat(500))],
        { maxPayloadBytes: 1000, websocket: { WebSocketCtor: HoldingReload as unknown as WebSocketConstructor } },
      );
      await held;
      expect(commits.map(batch => batch.map(c => c.baseRev))).toEqual([[0]]);
      docB.change(draft => void (draft.minted = 'during reload'));
      await docB.flush();
      expect(docB.state.minted).toBe('during reload');
      release!();

      await docSynced(b.sync, 'reload-minted', 4);
      await when(docA.state$, s => s.minted !== undefined);
      const history = await serverHistory(a, 'reload-minted');
      const expected = { title: 'from a', a1: 'x'.repeat(500), a2: 'y'.repeat(500), minted: 'during reload' };
      expect(docB.state).toEqual(expected);
      expect(docA.state).toEqual(expected);
      expect(history.map(c => c.rev)).toEqual([1, 2, 3, 4]);
      expect(new Set(history.map(c => c.id)).size).toBe(4);
      // Only the first batch went out on rev 0; the second, cut before the reload, was not sent.
      expect(commits.slice(1).flat().map(c => c.baseRev)).not.toContain(0);
      expect(commits.flat().filter(c => c.ops.some(op => op.path === '/minted'))).toHaveLength(1);
      expect(b.errors).toEqual([]);
    });

    it('should report state transitions through a drop and reconnect', async () => {
      const a = await harness.connected();
      await idle(a.sync);
      const states: string[] = [];
      a.sync.onStateChange(s => states.push(`${s.connected}:${String(s.syncing)}`));
      harness.proxy.dropAll();
      await when(a.sync.state$, s => !s.connected);
      await idle(a.sync);
      expect(states).toEqual(['false:null', 'true:updating', 'true:null']);
    });

    // Found in review, fixed: the state a listener set was emitted inside the emission it reacted
    // to, so the listeners after it got the newer state first and the older one last, for good.
    it('should leave every listener on the current state when one disconnects as the connection opens', async () => {
      const a = harness.client();
      const show = (s: PatchesSyncState) => `${s.connected}:${String(s.syncing)}`;
      let inside: PatchesSyncState | undefined;
      a.sync.onStateChange(s => {
        if (!s.connected || inside) return;
        a.sync.disconnect();
        inside = a.sync.state;
      });
      const later: string[] = [];
      a.sync.onStateChange(s => later.push(show(s)));
      const later$: string[] = [];
      a.sync.state$.subscribe(s => later$.push(show(s)));
      await a.sync.connect().catch(() => undefined);
      expect(show(a.sync.state)).toBe('false:null');
      expect(inside && show(inside)).toBe('false:null');
      expect(later).toEqual(['true:initial', 'false:null']);
      expect(later$).toEqual(['false:null', 'true:initial', 'false:null']);
    });

    it('should leave every state$ subscriber on the last state when a listener destroys the sync as the connection opens', async () => {
      const a = harness.client();
      const show = (s: PatchesSyncState) => `${s.connected}:${String(s.syncing)}`;
      a.sync.onStateChange(s => s.connected && a.sync.destroy());
      const later$: string[] = [];
      let completed = false;
      a.sync.state$.subscribe({ next: s => later$.push(show(s)), complete: () => (completed = true) });
      await a.sync.connect().catch(() => undefined);
      expect(show(a.sync.state)).toBe('false:null');
      expect(later$).toEqual(['false:null', 'true:initial', 'false:null']);
      expect(completed).toBe(true);
    });

    it('should reject connect() when the first attempt fails, report it once, and keep reconnecting until the server is there', async () => {
      harness.proxy.refuse = true;
      // Counts the sockets opened, so the spec waits for the retries themselves.
      const opened$ = new BehaviorSubject(0);
      const Counting = function (url: string, protocols?: string | string[]): WebSocket {
        opened$.next(opened$.value + 1);
        return new WebSocket(url, protocols);
      };
      const a = harness.client({ websocket: { WebSocketCtor: Counting as unknown as WebSocketConstructor } });
      await expect(a.sync.connect()).rejects.toMatchObject({ name: 'NetworkError' });
      expect(a.sync.state.syncing).toBeInstanceOf(NetworkError);
      expect(a.errors).toEqual([expect.objectContaining({ name: 'NetworkError' })]);
      // Three more attempts refused: each is a retry, none is reported again.
      await when(opened$, n => n >= 4);
      expect(a.errors).toHaveLength(1);
      harness.proxy.refuse = false;
      await when(a.sync.state$, s => s.connected);
      const doc = await a.patches.openDoc<{ v?: number }>('after-refusals');
      doc.change(draft => void (draft.v = 1));
      await docSynced(a.sync, 'after-refusals', 1);
      expect(a.errors).toHaveLength(1);
    });
  });

  describe('a store that fails for one doc', () => {
    /** A store whose reads of one doc's committed rev fail while `broken` is set (a corrupt record, say). */
    class OneDocFails extends InMemoryStore {
      broken = true;
      override async getCommittedRev(docId: string): Promise<number> {
        if (this.broken && docId === 'unreadable') throw new Error('cannot read doc "unreadable"');
        return super.getCommittedRev(docId);
      }
    }

    it("should report that doc's error and still sync the other docs on connect", async () => {
      const store = new OneDocFails();
      const author = await harness.connected();
      const docOnServer = await author.patches.openDoc<{ title?: string }>('readable');
      docOnServer.change(draft => {
        draft.title = 'from the server';
      });
      await docSynced(author.sync, 'readable', 1);

      const client = harness.client({ store });
      await client.patches.trackDocs(['readable', 'unreadable']);
      await client.sync.connect();
      await when(client.sync.synced$, s => s['readable']?.committedRev === 1 && s['readable'].status === 'synced');
      expect((await client.patches.openDoc<{ title?: string }>('readable')).state.title).toBe('from the server');
      expect(client.errors.map(e => e.message)).toContain('cannot read doc "unreadable"');
    });
  });

  // Found in review, fixed: a store failure on an open socket was reported and then nothing
  // happened again until a reconnect (a broadcast dropped, a pass that subscribed nothing).
  describe('a store that fails for a moment on an open socket', () => {
    const quota = () => new DOMException('The quota has been exceeded.', 'QuotaExceededError');

    it("should retry a broadcast the store failed to write, and catch the doc up once the store is well", async () => {
      const store = failingStore();
      const a = await harness.connected({ store });
      const b = await harness.connected();
      const docA = await a.patches.openDoc<{ a?: number; fromB?: string }>('flaky');
      docA.change(draft => void (draft.a = 1));
      await docSynced(a.sync, 'flaky', 1);
      const docB = await b.patches.openDoc<{ a?: number; fromB?: string }>('flaky');
      await docSynced(b.sync, 'flaky', 1);

      // Every write of a server change fails until healed (a full disk, say).
      store.failNext('applyServerChanges', quota(), Infinity);
      docB.change(draft => void (draft.fromB = 'hello'));
      await when(a.sync.synced$, s => s.flaky?.status === 'error');
      expect(a.errors).toHaveLength(1);
      store.failNext('applyServerChanges', quota(), 0);

      // The doc's retry pulls what it missed: no new edit, no reconnect.
      await docSynced(a.sync, 'flaky', 2);
      expect(docA.state).toEqual({ a: 1, fromB: 'hello' });
      expect(a.errors).toHaveLength(1);
    });

    // Found by a fuzz of store faults: one failed read left the doc out of `synced` for good.
    it("should give a doc the entry whose read failed once it is edited or synced", async () => {
      const store = failingStore();
      const a = await harness.connected({ store });
      store.failNext('getCommittedRev', quota());
      const doc = await a.patches.openDoc<{ n?: number }>('unlisted');
      doc.change(draft => void (draft.n = 1));
      await docSynced(a.sync, 'unlisted', 1);
      expect(a.sync.synced.unlisted).toEqual({ committedRev: 1, hasPending: false, status: 'synced' });
      expect(a.errors.map(e => e.message)).toEqual([expect.stringContaining('quota')]);
    });

    // Found reading (session 38): a doc tracked offline whose entry's read failed had no entry
    // until its next edit or connection (only a sync run or an edit read it again).
    it('should give a doc tracked offline the entry whose read failed, with no edit and no connection', async () => {
      const store = failingStore();
      const a = harness.client({ store, online$: new BehaviorSubject(false) });
      await a.patches.trackDocs(['listed']);
      await when(a.sync.synced$, s => s.listed !== undefined);
      store.failNext('getCommittedRev', quota());

      await a.patches.trackDocs(['unlisted']);

      await when(a.sync.synced$, s => s.unlisted !== undefined);
      expect(a.sync.synced.unlisted).toEqual({ committedRev: 0, hasPending: false, status: 'unsynced' });
      expect(a.errors.map(e => e.message)).toEqual([expect.stringContaining('quota')]);
    });

    // Found by the fuzz (idb stores, store faults, CI): when the read at the end of the doc's run
    // failed too, nothing read the entry again, and the doc stayed out of `synced` for good.
    it.each([2, 3])('should give a doc its entry when %i reads of it in a row fail, its run included', async times => {
      const store = failingStore();
      const a = await harness.connected({ store });
      store.failNext('getCommittedRev', quota(), times);
      const doc = await a.patches.openDoc<{ n?: number }>('unlisted');
      doc.change(draft => void (draft.n = 1));
      await docSynced(a.sync, 'unlisted', 1);
      expect(a.sync.synced.unlisted).toEqual({ committedRev: 1, hasPending: false, status: 'synced' });
    });

    // Found by the shared-idb fuzz with store faults (seed 81510, under load): the read of a closed
    // doc's rev after a broadcast was applied failed; the run's retry found the store at the
    // server's rev, pulled nothing, and the entry said the old rev, 'synced', for good.
    it("should read a doc's entry again when the read of its rev after a broadcast failed", async () => {
      const store = failingStore();
      const a = await harness.connected({ store });
      await a.patches.trackDocs(['closed']);
      await docSynced(a.sync, 'closed');
      const reported = firstValueFrom(a.sync.error$);
      store.failNext('getCommittedRev', quota());

      const b = await harness.connected();
      const doc = await b.patches.openDoc<{ n?: number }>('closed');
      doc.change(draft => void (draft.n = 1));
      expect((await reported).error.message).toContain('quota');
      // The run's retry ends it 'synced'.
      await when(a.sync.synced$, synced => synced.closed?.status === 'synced');

      expect(a.sync.synced.closed).toEqual({ committedRev: 1, hasPending: false, status: 'synced' });
      expect(await store.getCommittedRev('closed')).toBe(1);
    });

    it('should run a pass again that failed on an open socket, and send the edits made offline', async () => {
      const store = failingStore();
      const a = await harness.connected({ store });
      const doc = await a.patches.openDoc<{ a?: number; offline?: boolean }>('pass');
      doc.change(draft => void (draft.a = 1));
      await docSynced(a.sync, 'pass', 1);

      harness.proxy.refuse = true;
      harness.proxy.dropAll();
      await when(a.sync.state$, s => !s.connected);
      doc.change(draft => void (draft.offline = true));
      await doc.flush();
      // The reconnect's pass cannot list the store's docs once.
      store.failNext('listDocs', quota());
      harness.proxy.refuse = false;

      await docSynced(a.sync, 'pass', 2);
      const b = await harness.connected();
      const seen = await b.patches.openDoc<{ a?: number; offline?: boolean }>('pass');
      await docSynced(b.sync, 'pass', 2);
      expect(seen.state).toEqual({ a: 1, offline: true });
      expect(a.errors).toHaveLength(1);
      expect(a.sync.state.syncing).toBeNull();
    });

    /**
     * A store whose next call of `method` fails once the first commit's write (`applyServerChanges`)
     * is done: the read at the end of the run that committed.
     */
    function failingAfterCommit(method: keyof PatchesStore) {
      const inner = new InMemoryStore();
      const store = failingStore(inner);
      const write = inner.applyServerChanges.bind(inner);
      inner.applyServerChanges = async (docId, update) => {
        inner.applyServerChanges = write;
        await write(docId, update);
        store.failNext(method, quota());
      };
      return store;
    }

    /** Every status the doc's entry showed, in order. */
    function statusesOf(client: TestClient, docId: string): string[] {
      const seen: string[] = [];
      client.sync.synced$.subscribe(synced => {
        const status = synced[docId]?.status;
        if (status && seen.at(-1) !== status) seen.push(status);
      });
      return seen;
    }

    // Found in review, fixed: the read of what still waits, after a commit that succeeded, failed
    // once, and the doc showed 'error' until its retry ~1 s later.
    it.each([
      ['ot', 'getPendingChanges'],
      ['lww', 'getQueue'],
    ] as const)("should show a %s doc 'synced' when the read after its commit fails (%s), and read it again", async (algorithm, method) => {
      const a = harness.client({ store: failingAfterCommit(method) });
      // Closed while it syncs: its entry is read from the store, not from an open view.
      const doc = await a.patches.openDoc<{ n?: number }>('read-after', { algorithm });
      doc.change(draft => void (draft.n = 1));
      await a.patches.closeDoc('read-after');
      const statuses = statusesOf(a, 'read-after');
      await a.sync.connect();

      await when(a.sync.synced$, s => s['read-after']?.committedRev === 1 && s['read-after'].status === 'synced');
      // Not yet read: shown as waiting, never as saved unread.
      expect(a.sync.synced['read-after'].hasPending).toBe(true);
      await docSynced(a.sync, 'read-after', 1);
      expect(statuses).not.toContain('error');
      expect(a.errors.map(e => e.message)).toEqual([expect.stringContaining('quota')]);
    });

    it("should show a doc 'synced' when the read of whether its commit made progress fails, and send what waits", async () => {
      const inner = new InMemoryStore();
      const write = inner.applyServerChanges.bind(inner);
      const read = inner.getPendingChanges.bind(inner);
      inner.applyServerChanges = async (docId, update) => {
        inner.applyServerChanges = write;
        await write(docId, update);
        // Another writer's change lands as the commit is written (nothing announces it here), and
        // the second read after the commit (did the sent change leave the queue?) fails.
        await inner.savePendingChanges(docId, [createChange([{ op: 'add', path: '/more', value: 2 }], { baseRev: 1, rev: 2, createdAt: 0 })]);
        let reads = 0;
        inner.getPendingChanges = id => (++reads === 2 ? ((inner.getPendingChanges = read), Promise.reject(quota())) : read(id));
      };
      const a = harness.client({ store: inner });
      const doc = await a.patches.openDoc<{ n?: number; more?: number }>('progress');
      doc.change(draft => void (draft.n = 1));
      await a.patches.closeDoc('progress');
      const statuses = statusesOf(a, 'progress');
      await a.sync.connect();

      await docSynced(a.sync, 'progress', 2);
      expect(statuses).not.toContain('error');
      expect(a.errors.map(e => e.message)).toEqual([expect.stringContaining('quota')]);
      expect((await serverHistory(a, 'progress')).flatMap(c => c.ops.map(op => op.path))).toEqual(['/n', '/more']);
    });
  });

  // Found in review, fixed: a committed change that did not apply on the doc's committed state
  // was pulled again and again (it failed the same way each time): the doc stayed behind in
  // 'error' for good, its own commits never confirmed, an error reported on every try.
  describe('a committed change that does not apply on the doc\'s committed state', () => {
    it("should take the server's state (getDoc), keep and send the local edits, and report once", async () => {
      const a = await harness.connected();
      const docA = await a.patches.openDoc<{ items?: string[]; mine?: boolean }>('diverged');
      docA.change(draft => void (draft.items = ['base']));
      await docSynced(a.sync, 'diverged', 1);
      await a.patches.closeDoc('diverged');
      // The local committed state went wrong (a bug, a bad restore): its list lost its item.
      await a.patches.store.saveDoc('diverged', { state: { items: [] }, rev: 1 });
      const mine = await a.patches.openDoc<{ items?: string[]; mine?: boolean }>('diverged');
      mine.change(draft => void (draft.mine = true));

      const b = await harness.connected();
      const docB = await b.patches.openDoc<{ items?: string[]; mine?: boolean }>('diverged');
      await docSynced(b.sync, 'diverged', 1);
      docB.change(draft => void (draft.items![0] = 'from b'));

      await docSynced(a.sync, 'diverged', 3);
      expect(mine.state).toEqual({ items: ['from b'], mine: true });
      await when(docB.state$, s => s.mine === true);
      expect(docB.state).toEqual(mine.state);
      expect(a.errors.map(e => e.name)).toEqual(['ApplyChangesError']);
    });
  });

  describe('a change the server refuses as too large (413, scope change)', () => {
    it('should halve the storage budget until the server takes the change, and not report it', async () => {
      await harness.close();
      harness = await startHarness({ maxChangeBytes: 150_000 });
      const a = await harness.connected({ maxStorageBytes: 1_000_000 });
      const doc = await a.patches.openDoc<Record<string, string>>('roomy');
      const values = ['a', 'b', 'c', 'd'].map(c => c.repeat(100_000));
      doc.change(draft => values.forEach((value, i) => void (draft[`k${i}`] = value)));
      doc.change(draft => void (draft.small = 'after'));

      // 1 MB, 500 KB and 250 KB budgets keep the 400 KB change whole or in halves: refused; 125 KB cuts it in four.
      await docSynced(a.sync, 'roomy', 5);
      const b = await harness.connected();
      const seen = await b.patches.openDoc<Record<string, string>>('roomy');
      await docSynced(b.sync, 'roomy', 5);
      expect(seen.state).toEqual({ k0: values[0], k1: values[1], k2: values[2], k3: values[3], small: 'after' });
      expect(a.errors).toEqual([]);
    });

    it('should report the 413 when no storage budget is configured (none is invented), and keep the change', async () => {
      await harness.close();
      harness = await startHarness({ maxChangeBytes: 150_000 });
      const a = await harness.connected();
      const doc = await a.patches.openDoc<{ big?: string }>('tight');
      doc.change(draft => void (draft.big = 'x'.repeat(200_000)));
      await when(a.sync.synced$, s => s.tight?.status === 'error');
      expect(a.errors).toEqual([expect.objectContaining({ name: 'StatusError', code: 413 })]);
      expect(a.sync.synced.tight).toMatchObject({ hasPending: true });
    });
  });

  describe('batching', () => {
    // Found in review: the entries of an LWW array split into several commits were appended with
    // `add`, which the LWW server stores as a replace past the end: dropped, the doc 'synced'.
    it('should send an LWW array cut into several commits whole, to the author and to others', async () => {
      const a = await harness.connected({ maxPayloadBytes: 2000 });
      const doc = await a.patches.openDoc<{ list?: string[] }>('lww-long-list', { algorithm: 'lww' });
      const list = Array.from({ length: 40 }, (_, i) => `item-${i}-`.padEnd(100, 'x'));
      doc.change(draft => void (draft.list = list));
      await docSynced(a.sync, 'lww-long-list', 2);
      expect(doc.state.list).toEqual(list);

      const b = await harness.connected();
      const seen = await b.patches.openDoc<{ list?: string[] }>('lww-long-list', { algorithm: 'lww' });
      await docSynced(b.sync, 'lww-long-list', 1);
      expect(seen.state.list).toEqual(list);
      expect([...a.errors, ...b.errors]).toEqual([]);
    });

    // Found profiling the paced pair (bench/pacedBuilds.js): an edit made once the save that asked
    // for a run was announced, while an earlier edit's save still waited in the doc's queue, was
    // saved behind that run's plan, so it went out in a commit of its own after the first one's
    // reply: a round trip and a durable write on the server more (about two commits per paced cycle).
    it.each(['ot', 'lww'] as const)('should send an %s edit made before the run planned its commit in that commit', async algorithm => {
      type Doc = { seed?: boolean; first?: number; second?: number; third?: number };
      const log = frameLog();
      const a = await harness.connected({ websocket: { WebSocketCtor: log.WebSocketCtor } });
      const docId = `${algorithm === 'lww' ? 'lww-' : ''}next-edit`;
      const doc = await a.patches.openDoc<Doc>(docId, { algorithm });
      doc.change(draft => void (draft.seed = true));
      await docSynced(a.sync, docId, 1);
      const before = log.sent.length;

      // The app edits again when it hears the first save (PatchesSync heard it first: its run is asked for).
      const third = new Promise<void>(resolve =>
        a.patches.changes$.pipe(filter(e => e.docId === docId), take(1)).subscribe(() => {
          doc.change(draft => void (draft.third = 3));
          resolve();
        }),
      );
      doc.change(draft => void (draft.first = 1));
      doc.change(draft => void (draft.second = 2));
      await third;
      await doc.flush();
      await docSynced(a.sync, docId);

      const commits = log.messages(log.sent.slice(before)).filter(m => m.method === 'commitChanges');
      const sent = commits.map(m => (m.params as [string, Change[]])[1].flatMap(change => change.ops.map(op => op.path)).sort());
      expect(sent).toEqual([['/first', '/second', '/third']]);
      expect(doc.state).toEqual({ seed: true, first: 1, second: 2, third: 3 });
      const b = await harness.connected();
      const seen = await b.patches.openDoc<Doc>(docId, { algorithm });
      await docSynced(b.sync, docId, 1);
      expect(seen.state).toEqual(doc.state);
      // No follow-up run for the edits the commit carried (it would ask the server for news).
      expect(log.messages(log.sent.slice(before)).map(m => m.method)).toEqual(['commitChanges']);
      expect([...a.errors, ...b.errors]).toEqual([]);
    });

    it('should send a 5 MB change under a 1 MB maxPayloadBytes in several commits', async () => {
      const a = await harness.connected({ maxPayloadBytes: 1_000_000 });
      const doc = await a.patches.openDoc<{ chunks: string[] }>('big');
      const minted: string[] = [];
      a.patches.onChange((_docId, changes) => minted.push(...changes.map(c => c.id)));
      const chunks = Array.from({ length: 50 }, (_, i) => String(i).padStart(3, '0') + 'x'.repeat(100_000));
      doc.change(draft => {
        draft.chunks = chunks;
      });
      await docSynced(a.sync, 'big');
      const b = await harness.connected();
      const history = await serverHistory(b, 'big');
      expect(history.length).toBeGreaterThan(4);
      // Every piece carries the queue head's id as its batchId (the first piece keeps that id too).
      expect(minted).toHaveLength(1);
      expect(history[0].id).toBe(minted[0]);
      expect(history.map(c => c.batchId)).toEqual(history.map(() => minted[0]));
      const seen = await b.patches.openDoc<{ chunks: string[] }>('big');
      await docSynced(b.sync, 'big', 1);
      expect(seen.state.chunks).toEqual(chunks);
    });
    it("should give every change of a queue cut into several commits the queue head's id as batchId, on the first send and on the resend after a lost reply", async () => {
      // The reply to the first commit is lost with its connection (the socket is cut instead of reading it).
      const losing = replyLosingSocket(commits => commits[0], socket => socket.terminate());
      const commits = losing.commits;
      const { client: a, doc } = await editedOffline<Record<string, string>>(
        'batched',
        Array.from({ length: 10 }, (_, i) => (draft: Record<string, string>) => void (draft[`k${i}`] = String(i).repeat(600))),
        { maxPayloadBytes: 2000, websocket: { WebSocketCtor: losing.WebSocketCtor } },
      );
      await docSynced(a.sync, 'batched', 10);
      const b = await harness.connected();
      const history = await serverHistory(b, 'batched');
      const head = history[0].id;

      expect(losing.lost).toBeDefined();
      expect(commits.length).toBeGreaterThanOrEqual(4); // several batches, the first one twice
      expect(commits[1].changes.map(c => c.id)).toEqual(commits[0].changes.map(c => c.id)); // the resend
      expect(commits.map(c => c.changes.map(ch => ch.batchId))).toEqual(commits.map(c => c.changes.map(() => head)));
      expect(history.map(c => c.rev)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(new Set(history.map(c => c.id)).size).toBe(10);
      expect(history.map(c => c.batchId)).toEqual(history.map(() => head));
      expect(Object.keys(doc.state)).toHaveLength(10);
      expect(a.errors).toEqual([]);
    });

    // Found in review, fixed: a queue of OT changes without ops (only a store written by something
    // else holds one) was sent, a round trip the server answered by committing nothing.
    it.each([
      ['new to the server', 0],
      ['the server holds', 2],
    ] as const)('should send no commit for a queue of changes without ops on a doc %s, drop them, and catch up', async (_case, revs) => {
      if (revs > 0) {
        const other = await harness.connected();
        const doc = await other.patches.openDoc<{ n?: number }>('no-ops');
        for (let n = 1; n <= revs; n++) doc.change(draft => void (draft.n = n));
        await docSynced(other.sync, 'no-ops', revs);
      }
      const store = new InMemoryStore();
      await store.trackDocs(['no-ops'], 'ot');
      const empty = (id: string, rev: number): Change => ({ id, ops: [], baseRev: 0, rev, createdAt: 0, committedAt: 0 });
      await store.savePendingChanges('no-ops', [empty('empty-1', 1), empty('empty-2', 2)]);
      const log = frameLog();
      const a = await harness.connected({ store, websocket: { WebSocketCtor: log.WebSocketCtor } });

      await docSynced(a.sync, 'no-ops', revs);
      expect(log.messages(log.sent).filter(m => m.method === 'commitChanges')).toEqual([]);
      expect(await store.getPendingChanges('no-ops')).toEqual([]);
      expect(a.sync.synced['no-ops']).toEqual({ committedRev: revs, hasPending: false, status: 'synced' });
      expect((await a.patches.openDoc<{ n?: number }>('no-ops')).state).toEqual(revs > 0 ? { n: revs } : {});
      expect(a.errors).toEqual([]);
    });
  });

  describe('subscribeFilter', () => {
    it('should subscribe only the filtered ids yet sync every tracked doc', async () => {
      const filterCalls: string[][] = [];
      const a = await harness.connected({
        subscribeFilter: ids => {
          filterCalls.push(ids);
          return ids.filter(id => !id.startsWith('local-'));
        },
      });
      const b = await harness.connected();
      const [shared, local] = await Promise.all([a.patches.openDoc<{ v?: number }>('doc-s'), a.patches.openDoc<{ v?: number }>('local-1')]);
      // Both loaded (at rev 0) before b writes: from then on only a broadcast could bring b's edits.
      await Promise.all([docSynced(a.sync, 'doc-s'), docSynced(a.sync, 'local-1')]);
      const remote = await b.patches.openDoc<{ v?: number }>('doc-s');
      const remoteLocal = await b.patches.openDoc<{ v?: number }>('local-1');
      remote.change(draft => {
        draft.v = 1;
      });
      remoteLocal.change(draft => {
        draft.v = 1;
      });
      await Promise.all([docSynced(b.sync, 'doc-s', 1), docSynced(b.sync, 'local-1', 1)]);
      // Subscribed: the broadcast arrives. Not subscribed: nothing pushes it.
      await when(shared.state$, s => s.v === 1);
      expect(local.state).toEqual({});
      expect(filterCalls.flat()).toContain('local-1');
    });

    // Found in review, fixed: the throw ended the pipeline that subscribes newly tracked docs, so
    // no doc tracked afterwards heard another client until a reconnect, and onError heard nothing.
    it('should go on subscribing the docs tracked after subscribeFilter threw once, and report the throw', async () => {
      let armed = false;
      const a = await harness.connected({
        subscribeFilter: ids => {
          if (!armed) return ids;
          armed = false;
          throw new Error('hiccup');
        },
      });
      const b = await harness.connected();
      await idle(a.sync);
      armed = true;
      await a.patches.openDoc('first');
      await docSynced(a.sync, 'first');
      const later = await a.patches.openDoc<{ v?: number }>('later');
      await docSynced(a.sync, 'later');
      const remote = await b.patches.openDoc<{ v?: number }>('later');
      remote.change(draft => {
        draft.v = 1;
      });
      await when(later.state$, s => s.v === 1);
      expect(a.errors).toEqual([expect.any(SyncOptionError)]);
      expect(a.errors[0]).toMatchObject({ option: 'subscribeFilter', message: 'subscribeFilter threw: hiccup' });
    });

    // Found in review, fixed: each reconnect's pass failed on the throw (state.syncing stayed an
    // Error), and the other docs tracked afterwards never heard another client.
    it('should subscribe a doc subscribeFilter throws for as itself, report it once per connection, and keep the passes and the other docs going', async () => {
      const a = await harness.connected({
        subscribeFilter: ids =>
          ids.map(id => {
            if (id.startsWith('bad')) throw new Error(`cannot map ${id}`);
            return id;
          }),
      });
      const b = await harness.connected();
      const bad = await a.patches.openDoc<{ v?: number }>('bad-1');
      await docSynced(a.sync, 'bad-1');
      await a.patches.openDoc('gone');
      await a.patches.untrackDocs(['gone']);
      const good = await a.patches.openDoc<{ v?: number }>('good-1');
      await docSynced(a.sync, 'good-1');
      harness.proxy.dropAll();
      await when(a.sync.state$, s => !s.connected);
      const pass = await when(a.sync.state$, s => s.connected && s.syncing !== 'updating');
      expect(pass.syncing).toBeNull();
      for (const [docId, v] of [['bad-1', 1], ['good-1', 2]] as const) {
        const remote = await b.patches.openDoc<{ v?: number }>(docId);
        remote.change(draft => {
          draft.v = v;
        });
      }
      await when(bad.state$, s => s.v === 1);
      await when(good.state$, s => s.v === 2);
      expect(a.errors).toHaveLength(2);
      for (const error of a.errors) expect(error).toMatchObject({ name: 'SyncOptionError', option: 'subscribeFilter', message: 'subscribeFilter threw for "bad-1": cannot map bad-1' });
    });
  });

  describe('deletes', () => {
    /** Two connected clients of `h`, a and b, sharing `docId` (v: 1, synced in both); a is made with `options`. */
    async function sharedDoc(h: SyncHarness, docId: string, options: Parameters<SyncHarness['client']>[0] = {}): Promise<{ a: TestClient; b: TestClient; doc: PatchesDoc<{ v: number }> }> {
      const a = h.client(options);
      const b = h.client();
      await Promise.all([a.sync.connect(), b.sync.connect()]);
      const doc = await a.patches.openDoc<{ v: number }>(docId);
      doc.change(draft => {
        draft.v = 1;
      });
      await docSynced(a.sync, docId, 1);
      await b.patches.openDoc(docId);
      await docSynced(b.sync, docId, 1);
      return { a, b, doc };
    }

    /** Clients a and b share doc 'gone' (v: 1, synced); a, offline, has set v to 2 and not sent it. */
    async function unsentEditOnSharedDoc(store?: PatchesStore): Promise<{ a: TestClient; b: TestClient; online$: BehaviorSubject<boolean> }> {
      const online$ = new BehaviorSubject(true);
      const { a, b, doc } = await sharedDoc(harness, 'gone', { online$, store });
      online$.next(false);
      doc.change(draft => {
        draft.v = 2;
      });
      await doc.flush();
      return { a, b, online$ };
    }

    it('should hand pending changes to onRemoteDocDeleted and drop the doc', async () => {
      const { a, b, online$ } = await unsentEditOnSharedDoc();
      await b.patches.deleteDoc('gone');
      const deleted = firstValueFrom(a.sync.remoteDocDeleted$);
      online$.next(true);
      const event = await deleted;
      expect(event.docId).toBe('gone');
      expect(event.pendingChanges.map(c => c.ops)).toEqual([[{ op: 'replace', path: '/v', value: 2 }]]);
      expect(a.sync.synced['gone']).toBeUndefined();
      expect(await a.patches.store.getDoc('gone')).toBeUndefined();
    });

    // Memory seed 98 of the fuzz: the entry left `synced$` while the doc was still tracked and its
    // view open, and nothing on `synced$` said when it was dropped (a quiet check waited for good).
    it("should take a remotely deleted doc's entry out of synced$ only once the doc is dropped: untracked, its view closed", async () => {
      const { a, b } = await sharedDoc(harness, 'gone');
      const seen: Array<{ tracked: boolean; open: boolean }> = [];
      a.sync.synced$.pipe(skipWhile(synced => 'gone' in synced), take(1)).subscribe(() => seen.push({ tracked: a.patches.trackedDocs.has('gone'), open: a.patches.getOpenDoc('gone') !== undefined }));
      const told = firstValueFrom(a.sync.remoteDocDeleted$);
      await b.patches.deleteDoc('gone');
      await told;
      expect(seen).toEqual([{ tracked: false, open: false }]);
    });

    it('should keep a tombstone for a doc deleted offline and delete it on the server on reconnect', async () => {
      const online$ = new BehaviorSubject(true);
      const a = await harness.connected({ online$ });
      const doc = await a.patches.openDoc<{ v: number }>('tomb');
      doc.change(draft => {
        draft.v = 1;
      });
      await docSynced(a.sync, 'tomb', 1);
      online$.next(false);
      await a.patches.deleteDoc('tomb');
      expect(await a.patches.store.listDocs(true)).toEqual([expect.objectContaining({ docId: 'tomb', deleted: true })]);
      online$.next(true);
      await idle(a.sync);
      await when(a.sync.state$, s => s.syncing === null && s.connected);
      expect(await a.patches.store.listDocs(true)).toEqual([]);
      const b = await harness.connected();
      await expect(firstValueFrom(b.sync.call('getDoc', 'tomb'))).rejects.toMatchObject({ code: 410 });
    });
    it('should drop nothing once destroyed mid-way through a remote delete, and hand the pending changes over on the next connection', async () => {
      const { a, b, online$ } = await unsentEditOnSharedDoc();
      // The doc's queue is busy (a store step of the sync) when the delete comes in.
      const busy = gate();
      void a.patches.runExclusive('gone', () => busy.opened);
      const dropping = gate();
      let dropped: Promise<unknown> | undefined;
      const dropDoc = a.patches._dropDoc.bind(a.patches);
      jest.spyOn(a.patches, '_dropDoc').mockImplementation((docId, purge) => {
        dropping.open();
        return (dropped = dropDoc(docId, purge));
      });
      await b.patches.deleteDoc('gone');
      online$.next(true);
      await dropping.opened;
      // The page closes: nothing is dropped, the doc and its unsent change stay for the next one.
      a.sync.destroy();
      busy.open();
      await dropped;
      expect(a.patches.trackedDocs.has('gone')).toBe(true);
      expect((await a.patches.store.getPendingChanges('gone')).map(c => c.ops)).toEqual([[{ op: 'replace', path: '/v', value: 2 }]]);

      const again = new PatchesSync(a.patches, harness.proxy.url, { reconnectDelay: 20 });
      try {
        const told = firstValueFrom(again.remoteDocDeleted$);
        await again.connect();
        const event = await told;
        expect(event.pendingChanges.map(c => c.ops)).toEqual([[{ op: 'replace', path: '/v', value: 2 }]]);
        expect(await a.patches.store.listDocs(true)).toEqual([]);
        expect(a.patches.trackedDocs.has('gone')).toBe(false);
      } finally {
        again.destroy();
      }
    });

    it("should still hand a remote delete's unsent changes over when destroyed while its purge is under way", async () => {
      const store = holdingStore();
      const { a, b, online$ } = await unsentEditOnSharedDoc(store);
      const purging = store.holdNext('confirmDeleteDoc');
      const told = firstValueFrom(a.sync.remoteDocDeleted$);
      await b.patches.deleteDoc('gone');
      online$.next(true);
      await purging.reached;
      a.sync.destroy();
      purging.release();
      const event = await told;
      expect(event.pendingChanges.map(c => c.ops)).toEqual([[{ op: 'replace', path: '/v', value: 2 }]]);
      expect(await a.patches.store.listDocs(true)).toEqual([]);
    });

    // Found in review, fixed: the report-once key was the error's name, so after a 403 a 404 (both
    // StatusError) went unsaid, though they ask different things of the app.
    it('should report each refusal code of a doc once per connection: a 403, then a 404, each once', async () => {
      let refusal: 403 | 404 = 403;
      const refusing = await startHarness({
        authorize: (_connection, method, docId) => {
          if (method !== 'commitChanges' || docId !== 'locked') return true;
          if (refusal === 404) throw new StatusError(404, 'no such doc here');
          return false;
        },
      });
      try {
        const a = refusing.client();
        const reported: Array<number | undefined> = [];
        a.sync.error$.subscribe(event => reported.push((event.error as Error & { code?: number }).code));
        await a.sync.connect();
        const doc = await a.patches.openDoc<{ n?: number }>('locked');
        const failedRuns = countFailedRuns(a.sync, 'locked');
        for (const [n, code] of [[1, 403], [2, 403], [3, 404], [4, 404]] as const) {
          refusal = code;
          doc.change(draft => void (draft.n = n));
          await doc.flush();
          await when(a.sync.synced$, () => failedRuns() === n);
        }
        expect(reported).toEqual([403, 404]);
      } finally {
        await refusing.close();
      }
    });

    // Found in review, fixed: a refused commit was reported again on every edit.
    it('should report a terminal error once per doc per connection, not once per edit, and keep the edits pending', async () => {
      let locked = true;
      const refusing = await startHarness({ authorize: (_connection, method, docId) => !(locked && method === 'commitChanges' && docId === 'locked') });
      try {
        const a = refusing.client();
        const reported: Array<[string | undefined, unknown]> = [];
        a.sync.error$.subscribe(event => reported.push([event.docId, (event.error as Error & { code?: number }).code]));
        await a.sync.connect();
        const doc = await a.patches.openDoc<{ n?: number }>('locked');
        const other = await a.patches.openDoc<{ n?: number }>('open');
        const failedRuns = countFailedRuns(a.sync, 'locked');
        for (let n = 1; n <= 3; n++) {
          doc.change(draft => void (draft.n = n));
          await doc.flush();
          await when(a.sync.synced$, () => failedRuns() === n);
          other.change(draft => void (draft.n = n));
          await docSynced(a.sync, 'open', n);
        }
        expect(reported).toEqual([['locked', 403]]);
        // The next connection reports it again; once allowed, the edits go through.
        await a.sync.disconnect();
        await a.sync.connect();
        doc.change(draft => void (draft.n = 4));
        await when(a.sync.synced$, () => a.errors.length === 2);
        locked = false;
        doc.change(draft => void (draft.n = 5));
        await docSynced(a.sync, 'locked', 1);
        expect(a.sync.synced.locked).toMatchObject({ status: 'synced', hasPending: false });
      } finally {
        await refusing.close();
      }
    });

    it('should keep a doc tracked again while its local delete was on its way, and hand its new edits over when the server says it is gone', async () => {
      // The server holds a's delete, then (once asked) a's commits to the doc until the delete has landed.
      const deleteArrived = gate();
      const deleteHeld = gate();
      const commitsHeld = gate();
      let holdCommits = false;
      const gated = await startHarness({
        authorize: async (_connection, method, docId) => {
          if (docId !== 'again') return true;
          if (method === 'deleteDoc') {
            deleteArrived.open();
            await deleteHeld.opened;
          }
          if (method === 'commitChanges' && holdCommits) await commitsHeld.opened;
          return true;
        },
      });
      try {
        const { a, b } = await sharedDoc(gated, 'again');

        holdCommits = true;
        await a.patches.deleteDoc('again');
        await deleteArrived.opened;
        const revived = await a.patches.openDoc<{ v?: number }>('again');
        revived.change(draft => {
          draft.v = 2;
        });
        await revived.flush();
        const toldA = firstValueFrom(a.sync.remoteDocDeleted$);
        const toldB = firstValueFrom(b.sync.remoteDocDeleted$);
        deleteHeld.open();
        await toldB;
        commitsHeld.open();
        // The server deleted the doc after the new edit was made and before it came: a is told, edit included.
        const event = await toldA;
        expect(event.docId).toBe('again');
        expect(event.pendingChanges.flatMap(c => c.ops)).toEqual([expect.objectContaining({ path: '/v', value: 2 })]);
        expect(await a.patches.store.listDocs(true)).toEqual([]);
        expect(a.errors).toEqual([]);
      } finally {
        await gated.close();
      }
    });
  });

  describe('server restart', () => {
    it('should converge across a real restart of a durable server on the same port, losing nothing', async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'patches-rx-restart-'));
      let server = await startServer({ port: 0, dataDir });
      const port = server.port;
      const proxy = await startFaultProxy(port);
      const options = { reconnectDelay: 20, maxReconnectDelay: 100 };
      const patchesA = new Patches({ store: new InMemoryStore() });
      const patchesB = new Patches({ store: new InMemoryStore() });
      const a = new PatchesSync(patchesA, proxy.url, options);
      const b = new PatchesSync(patchesB, proxy.url, options);
      try {
        await Promise.all([a.connect(), b.connect()]);
        const docA = await patchesA.openDoc<{ log: string[] }>('durable');
        docA.change(draft => {
          draft.log = ['before'];
        });
        await docSynced(a, 'durable', 1);

        await server.close();
        await when(a.state$, s => !s.connected);
        docA.change(draft => {
          draft.log.push('while down');
        });
        server = await startServer({ port, dataDir });
        await docSynced(a, 'durable', 2);

        const docB = await patchesB.openDoc<{ log: string[] }>('durable');
        await docSynced(b, 'durable', 2);
        expect(docB.state).toEqual({ log: ['before', 'while down'] });
        const ids = (await firstValueFrom(b.call<Change[]>('getChangesSince', 'durable', 0))).map(c => c.id);
        expect(ids).toHaveLength(2);
      } finally {
        a.destroy();
        b.destroy();
        await proxy.close();
        await server.close();
        rmSync(dataDir, { recursive: true, force: true });
      }
    });


    it('should reconnect after the server goes away and comes back, and sync what was made meanwhile', async () => {
      const a = await harness.connected();
      const doc = await a.patches.openDoc<{ n: number }>('restart');
      doc.change(draft => {
        draft.n = 1;
      });
      await docSynced(a.sync, 'restart', 1);
      harness.proxy.refuse = true;
      harness.proxy.dropAll();
      await when(a.sync.state$, s => !s.connected);
      doc.change(draft => {
        draft.n = 2;
      });
      harness.proxy.refuse = false;
      await docSynced(a.sync, 'restart', 2);
      expect(a.errors).toEqual([]);
    });
  });

  describe('docs tracked while connected', () => {
    /** A server whose `subscribe` of the given docs waits until `release()`; and a client of it whose frames are logged. */
    async function holdingSubscribes(heldIds: string[]) {
      let release!: () => void;
      const released = new Promise<void>(resolve => (release = resolve));
      const held = await startHarness({ authorize: async (_connection, method, docId) => (method === 'subscribe' && heldIds.includes(docId) ? released.then(() => true) : true) });
      const log = frameLog();
      const client = held.client({ websocket: { WebSocketCtor: log.WebSocketCtor } });
      await client.sync.connect();
      const asked = () => log.messages(log.sent).map(m => m.method).filter(m => m !== undefined && m !== 'getCapabilities' && m !== 'getDoc');
      return { held, client, log, release, asked };
    }

    /** One round trip through the server (whatever the client had started sending before it has gone out), or a commit sent meanwhile. */
    const roundTrip = (client: TestClient, log: FrameLog) => Promise.race([firstValueFrom(client.sync.call('getDoc', 'probe')), log.whenSent('"commitChanges"')]);

    it("should send the edits made while their docs were being subscribed once the server holds the subscriptions, one commit each and nothing else", async () => {
      const { held, client, log, release, asked } = await holdingSubscribes(['one', 'two']);
      try {
        await client.patches.trackDocs(['one', 'two']);
        const docs = await Promise.all([client.patches.openDoc<{ v?: number }>('one'), client.patches.openDoc<{ v?: number }>('two')]);
        for (const doc of docs) doc.change(draft => void (draft.v = 1));
        await Promise.all(docs.map(doc => doc.flush()));
        await roundTrip(client, log);
        expect(asked()).toEqual(['subscribe']);

        release();
        await Promise.all([docSynced(client.sync, 'one', 1), docSynced(client.sync, 'two', 1)]);
        // The commit replies caught the docs up: no pull after them.
        expect(asked().sort()).toEqual(['commitChanges', 'commitChanges', 'subscribe']);
        expect(client.errors).toEqual([]);
      } finally {
        await held.close();
      }
    });

    it('should send an edit made while its doc was being subscribed exactly once when the connection drops before the reply', async () => {
      const { held, client, log, release } = await holdingSubscribes(['dropped']);
      try {
        const doc = await client.patches.openDoc<{ v?: number }>('dropped');
        doc.change(draft => void (draft.v = 1));
        await doc.flush();
        await roundTrip(client, log);
        held.proxy.dropAll();
        release();
        await docSynced(client.sync, 'dropped', 1);
        expect((await serverHistory(client, 'dropped')).map(c => c.ops)).toEqual([[{ op: 'add', path: '/v', value: 1 }]]);
        expect(doc.state).toEqual({ v: 1 });
      } finally {
        await held.close();
      }
    });

    it("should send each later edit at once after the connection dropped while a reconnect's pass was subscribing the docs", async () => {
      const { held, client, release } = await holdingSubscribes(['passed']);
      try {
        const doc = await client.patches.openDoc<{ v?: number }>('passed');
        const subscribing = () => when(client.sync.state$, s => s.connected && s.syncing === 'updating');
        // Dropped twice while the server holds the subscribe: the second time, a reconnect's pass is the one waiting.
        for (let drop = 0; drop < 2; drop++) {
          held.proxy.dropAll();
          await when(client.sync.state$, s => !s.connected);
          await subscribing();
        }
        release();
        await idle(client.sync);
        doc.change(draft => void (draft.v = 1));
        await docSynced(client.sync, 'passed', 1);
        doc.change(draft => void (draft.v = 2));
        await docSynced(client.sync, 'passed', 2);
        expect(client.errors).toEqual([]);
      } finally {
        await held.close();
      }
    });

    it('should still send an edit made while its doc was being subscribed when the server refuses the subscribe', async () => {
      const refusing = await startHarness({ maxSubscriptions: 0 });
      try {
        const client = refusing.client();
        await client.sync.connect();
        const doc = await client.patches.openDoc<{ v?: number }>('unfollowed');
        doc.change(draft => void (draft.v = 1));
        await docSynced(client.sync, 'unfollowed', 1);
        expect(await serverHistory(client, 'unfollowed')).toHaveLength(1);
        expect(client.errors.map(e => e.message).join()).toMatch(/at most 0 ids/);
      } finally {
        await refusing.close();
      }
    });
  });

  // Found in review, fixed: a client tracking more docs than the server takes in one subscribe
  // call sent them all in one, refused whole (and retried as it was): every doc showed 'synced'
  // and none heard another client's change.
  describe('more tracked docs than one subscribe call may carry', () => {
    it("should hear another client's change to a doc it follows, and report the docs beyond the server's cap once", async () => {
      // 1,500 ids: more than one call may carry (1,200), in calls of 1,000, the second refused by the cap.
      const capped = await startHarness({ maxSubscriptions: 1200 });
      try {
        const ids = Array.from({ length: 1500 }, (_, i) => `many-${i}`);
        const a = capped.client();
        await a.patches.trackDocs(ids);
        await a.sync.connect();
        const followed = await a.patches.openDoc<{ v?: number }>('many-0');
        await idle(a.sync);
        const b = capped.client();
        await b.sync.connect();
        const remote = await b.patches.openDoc<{ v?: number }>('many-0');

        remote.change(draft => void (draft.v = 1));

        await when(followed.state$, s => s.v === 1);
        expect(a.errors.map(e => e.message)).toEqual([expect.stringMatching(/at most 1200 documents/)]);
      } finally {
        await capped.close();
      }
    });
  });

  describe('status lifecycle (one case per row of the seed table)', () => {
    const entry = (client: TestClient, id: string): SyncedDoc | undefined => client.sync.synced[id];

    it('Doc tracked: entry added with committedRev from store, hasPending, status unsynced for rev 0', async () => {
      const a = harness.client();
      await a.patches.trackDocs(['fresh']);
      await when(a.sync.synced$, s => !!s['fresh']);
      expect(entry(a, 'fresh')).toEqual({ committedRev: 0, hasPending: false, status: 'unsynced' });
    });

    it('Doc tracked before PatchesSync was made: entry added from the store without connecting', async () => {
      const store = new InMemoryStore();
      await store.trackDocs(['known'], 'ot');
      await store.saveDoc('known', { state: { a: 1 }, rev: 3 });
      const a = harness.client({ store });
      await when(a.sync.synced$, s => !!s['known']);
      expect(a.sync.state.connected).toBe(false);
      expect(entry(a, 'known')).toEqual({ committedRev: 3, hasPending: false, status: 'synced' });
    });

    it("Doc tracked: the entry never says 'nothing pending' at a rev without the change another tab was committing meanwhile", async () => {
      /** Another tab's commit of its sending change, landing between this tab's reads of the doc. */
      class CommitsDuringRead extends InMemoryStore {
        armed = false;
        override getCommittedRev(docId: string): Promise<number> {
          const rev = super.getCommittedRev(docId);
          if (this.armed) {
            this.armed = false;
            // Runs to its end at once (the memory store awaits nothing before writing).
            void this.applyServerChanges(docId, { state: { theme: 'dark' }, rev: 1, changes: [{ id: 'sent', ops: [{ op: 'replace', path: '/theme', value: 'dark' }], baseRev: 0, rev: 1, createdAt: 1, committedAt: 2 }], clearSending: true });
          }
          return rev;
        }
      }
      const store = new CommitsDuringRead();
      await store.trackDocs(['settings'], 'lww');
      await store.savePendingOps('settings', [{ op: 'replace', path: '/theme', value: 'dark', ts: 1 }]);
      await store.saveSendingChange('settings', { id: 'sent', ops: [{ op: 'replace', path: '/theme', value: 'dark', ts: 1 }], baseRev: 0, rev: 1, createdAt: 1, committedAt: 0 });
      store.armed = true;
      const a = harness.client({ store });
      const shown = (await when(a.sync.synced$, s => !!s['settings']))['settings'];
      // Either still pending at rev 0, or committed at rev 1: never "nothing pending" at rev 0.
      expect(shown.hasPending || shown.committedRev >= 1).toBe(true);
    });

    it('Doc tracked: status synced when the store has a committed rev', async () => {
      const store = new InMemoryStore();
      await store.trackDocs(['known'], 'ot');
      await store.saveDoc('known', { state: { a: 1 }, rev: 3 });
      const a = harness.client({ store });
      await a.patches.ready;
      await a.patches.untrackDocs([]);
      await a.patches.trackDocs(['other']);
      await a.sync.connect();
      await when(a.sync.synced$, s => !!s['known']);
      expect(entry(a, 'known')?.committedRev).toBe(3);
    });

    it('syncDoc starts → syncing, then succeeds → synced; server changes applied → committedRev', async () => {
      const a = await harness.connected();
      const doc = await a.patches.openDoc<{ v?: number }>('rows');
      await docSynced(a.sync, 'rows', 0);
      const seen: SyncedDoc[] = [];
      a.sync.synced$.subscribe(s => s['rows'] && seen.push(s['rows']));
      doc.change(draft => {
        draft.v = 1;
      });
      await docSynced(a.sync, 'rows', 1);
      expect(seen.map(s => s.status)).toContain('syncing');
      expect(seen.at(-1)).toEqual({ committedRev: 1, hasPending: false, status: 'synced' });
    });

    it('Local change made while offline: hasPending true, status unchanged', async () => {
      const online$ = new BehaviorSubject(false);
      const a = harness.client({ online$ });
      const doc = await a.patches.openDoc<{ v?: number }>('offline-row');
      doc.change(draft => {
        draft.v = 1;
      });
      await doc.flush();
      await when(a.sync.synced$, s => s['offline-row']?.hasPending === true);
      expect(entry(a, 'offline-row')).toEqual({ committedRev: 0, hasPending: true, status: 'unsynced' });
    });

    it('syncDoc fails / flushDoc fails → error, reported with the docId', async () => {
      const a = await harness.connected({ maxPayloadBytes: 1000 });
      const doc = await a.patches.openDoc<{ big?: string }>('too-big');
      doc.change(draft => {
        draft.big = 'x'.repeat(5000);
      });
      const failed = await when(a.sync.synced$, s => s['too-big']?.status === 'error');
      expect(failed['too-big'].hasPending).toBe(true);
      expect(a.errors.map(e => e.name)).toContain('UnsplittableChangeError');
      expect(await a.patches.store.getPendingChanges('too-big')).toHaveLength(1);
    });

    it('Doc untracked: entry removed', async () => {
      const a = await harness.connected();
      await a.patches.trackDocs(['temp']);
      await when(a.sync.synced$, s => !!s['temp']);
      await a.patches.untrackDocs(['temp']);
      expect(entry(a, 'temp')).toBeUndefined();
    });
  });

  // Found in review, fixed: `sync.state` was the object `canSend()` reads, so a write to it (which
  // compiled) left every later edit pending, unsent and unreported; `state$` was a piped Subject
  // whose `next` reached the state.
  describe('what it hands out', () => {
    it('should hand out frozen states: a write to sync.state throws, and an edit made after it is sent', async () => {
      const a = await harness.connected();
      await idle(a.sync);
      const doc = await a.patches.openDoc<{ x?: number }>('frozen-state');
      expect(Object.isFrozen(a.sync.state)).toBe(true);
      expect(() => ((a.sync.state as { connected: boolean }).connected = false)).toThrow(TypeError);
      doc.change(draft => {
        draft.x = 1;
      });
      await docSynced(a.sync, 'frozen-state', 1);
      const entries = a.sync.synced;
      expect(Object.isFrozen(entries)).toBe(true);
      expect(Object.isFrozen(entries['frozen-state'])).toBe(true);
    });

    it('should expose observables a cast to Subject cannot next into', () => {
      const a = harness.client();
      for (const stream$ of [a.sync.state$, a.sync.synced$, a.sync.leading$, a.sync.error$, a.sync.remoteDocDeleted$]) {
        expect((stream$ as unknown as { next?: unknown }).next).toBeUndefined();
      }
    });

    it('should give a subscriber after destroy() the last state and snapshot, then complete', async () => {
      const a = await harness.connected();
      await a.patches.openDoc('late');
      await when(a.sync.synced$, s => !!s['late']);
      a.sync.destroy();
      const seen: string[] = [];
      a.sync.state$.subscribe({ next: s => seen.push(`state connected=${s.connected}`), complete: () => seen.push('state complete') });
      a.sync.synced$.subscribe({ next: s => seen.push(`synced ${Object.keys(s).join()}`), complete: () => seen.push('synced complete') });
      expect(seen).toEqual(['state connected=false', 'state complete', 'synced late', 'synced complete']);
    });
  });
});

/** A promise and the function that resolves it. */
function gate(): { open: () => void; opened: Promise<void> } {
  let open!: () => void;
  const opened = new Promise<void>(resolve => (open = resolve));
  return { open, opened };
}
