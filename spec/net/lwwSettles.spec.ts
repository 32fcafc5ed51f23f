import 'fake-indexeddb/auto';
import { IndexedDBStore } from '../../src/stores/IndexedDBStore.js';
import { BehaviorSubject, firstValueFrom } from 'rxjs';
import { NetworkError } from '../../src/errors.js';
import { applyPatch } from '../../src/algorithms/applyPatch.js';
import { opsParentsFirst } from '../../src/algorithms/lww/parentsFirst.js';
import type { PatchesDoc } from '../../src/client/PatchesDoc.js';
import type { CommitChangesResult, PatchesSnapshot } from '../../src/types.js';
import { mulberry32, type Rng } from '../fuzz/random.js';
import { docSynced, startHarness, when, type SyncHarness, type TestClient } from '../helpers/syncHarness.js';

/**
 * LWW end to end, property style: three clients (one sending small payloads, so its changes go out
 * in pieces; clocks apart) edit one nested object through the real algorithms, store and server on
 * loopback, going offline, losing connections, closing and reopening the doc, beside a raw writer
 * that sends each of its changes (`@inc`, `@max`, `@bit`, soft writes) twice; then every view and store must equal the doc a fresh reader builds
 * from `getDoc`, and an edit made on a settled doc must settle as it showed. The seeds are few in
 * CI; `LWW_SEEDS=300 LWW_FIRST=0 LWW_STEPS=200` runs more, `LWW_REAL=1` on real clocks seconds apart
 * (the server clamping the one ahead), `LWW_IDB=1` on IndexedDBStore (fake-indexeddb) for every seed.
 */

type Node = { [key: string]: Node | number | string | number[] | undefined };
type Doc = { o?: Node; n?: number };

const KEYS = ['a', 'b'];
const SEEDS = process.env.LWW_SEEDS ? Array.from({ length: Number(process.env.LWW_SEEDS) }, (_, i) => i + 1 + Number(process.env.LWW_FIRST ?? 0)) : [1, 2, 3, 4, 5, 6, 7, 8, 205, 307];
const STEPS = Number(process.env.LWW_STEPS ?? 150);
const DOC = 'lww-n';

/** An object (or nothing) at `path` of the draft, made when missing and `make`. */
function objectAt(draft: Node, path: string[], make: boolean): Node | undefined {
  let node: Node = draft;
  for (const key of path) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) {
      if (!make) return undefined;
      node[key] = {};
    }
    node = node[key] as Node;
  }
  return node;
}

/** A random edit of the nested object `/o`: fields, objects replaced, emptied, deleted, lists, at up to three depths. */
function edit(rng: Rng): (draft: Doc) => void {
  const depth = rng.int(0, 2);
  const path = ['o', ...Array.from({ length: depth }, () => rng.pick(KEYS))];
  const value = rng.int(0, 99);
  const long = `${value}`.padEnd(rng.int(1, 120), 'x');
  const kind = rng.weighted({ set: 4, text: 1, object: 2, empty: 1, remove: 2, list: 1, push: 1 });
  return draft => {
    const parent = objectAt(draft as Node, path.slice(0, -1), kind !== 'remove');
    if (!parent) return;
    const key = path[path.length - 1];
    const at = parent[key];
    if (kind === 'set') parent[key] = value;
    else if (kind === 'text') parent[key] = long;
    else if (kind === 'object') parent[key] = { [rng.pick(KEYS)]: value, [rng.pick(KEYS)]: long };
    else if (kind === 'empty') parent[key] = {};
    else if (kind === 'list') parent[key] = [value];
    else if (kind === 'push' && Array.isArray(at)) at.push(value);
    else delete parent[key];
  };
}

describe('LWW end to end: clients settle on what the server stores', () => {
  let harness: SyncHarness;

  beforeEach(async () => {
    harness = await startHarness();
  });

  afterEach(async () => {
    await harness.close();
    for (const { patches } of harness.clients) await patches.close();
  });

  /** A call made again on a connection the proxy cut, once the client is connected again. */
  async function call<T>(client: TestClient, method: string, ...params: unknown[]): Promise<T> {
    for (;;) {
      await when(client.sync.state$, s => s.connected);
      try {
        return await firstValueFrom(client.sync.call<T>(method, ...params));
      } catch (error) {
        if (!(error instanceof NetworkError)) throw error;
      }
    }
  }

  /** The server's doc as a fresh reader builds it from `getDoc`. */
  async function serverState(client: TestClient, docId: string): Promise<{ state: unknown; rev: number }> {
    const snapshot = await call<PatchesSnapshot>(client, 'getDoc', docId);
    const rev = snapshot.changes.reduce((max, c) => Math.max(max, c.rev), snapshot.rev);
    return { state: applyPatch(snapshot.state ?? {}, opsParentsFirst(snapshot.changes), { mode: 'lenient' }), rev };
  }

  // Clocks far behind the server's, so its clamp keeps them: shared coarse ticks give ties across
  // clients. Client 1 sends small payloads, so its changes go out cut into pieces.
  const runs = [...SEEDS.map(seed => ({ seed, stores: 'memory' })), ...(process.env.LWW_SEEDS ? [] : [3, 4]).map(seed => ({ seed, stores: 'indexeddb' }))];
  it.each(runs)('should leave every client showing the server state after random nested writes (seed $seed, $stores stores)', async ({ seed, stores }) => {
    const rng = mulberry32(seed);
    let tick = 1_000;
    const online = [0, 1, 2].map(() => new BehaviorSubject(true));
    const skew = [0, 3, -3];
    const clients = await Promise.all(online.map((online$, i) => harness.connected({ ...(stores === 'indexeddb' || process.env.LWW_IDB ? { store: new IndexedDBStore(`lww-settles-${seed}-${i}`) } : {}), online$, clock: () => (process.env.LWW_REAL ? Date.now() + skew[i] * 1000 : tick + skew[i]), maxPayloadBytes: i === 1 ? 400 : undefined })));
    const reader = await harness.connected();
    const docs: Array<PatchesDoc<Doc> | undefined> = [];
    for (const client of clients) docs.push(await client.patches.openDoc<Doc>(DOC, { algorithm: 'lww' }));
    /** Every client online, its doc open, synced with nothing pending at the server's head, which no longer moves. */
    const settle = async () => {
      for (const online$ of online) if (!online$.value) online$.next(true);
      for (let i = 0; i < docs.length; i++) docs[i] ??= await clients[i].patches.openDoc<Doc>(DOC, { algorithm: 'lww' });
      // Every edit saved (a slow store may not have it yet), then nothing left to send anywhere.
      await Promise.all(docs.map(doc => doc?.flush()));
      const unsent = async (i: number) => (await clients[i].patches.store.getPendingOps(DOC)).length > 0 || (await clients[i].patches.store.getSendingChange(DOC)) !== null;
      let head = await serverState(reader, DOC);
      for (;;) {
        await Promise.all(clients.map(c => docSynced(c.sync, DOC, head.rev)));
        const again = await serverState(reader, DOC);
        const waiting = await Promise.all(clients.map((_, i) => unsent(i)));
        if (again.rev === head.rev && !waiting.includes(true)) return head;
        head = again;
      }
    };
    // A raw writer's changes, each sent twice (its reply taken as lost): an increment of /n, counted
    // once, and a delta or soft write somewhere in /o, where the clients write too.
    let increments = 0;
    for (let step = 0; step < STEPS; step++) {
      const i = rng.int(0, 2);
      const roll = rng();
      const doc = docs[i];
      if (roll < 0.03) {
        // An edit made with nobody else writing, on a settled doc: what it shows is what settles.
        await settle();
        docs[i]!.change(edit(rng));
        const shown = docs[i]!.state;
        expect({ step, client: i, state: (await settle()).state }).toEqual({ step, client: i, state: shown });
      } else if (roll < 0.08) online[i].next(!online[i].value);
      else if (roll < 0.11) harness.proxy.dropAll();
      else if (roll < 0.25) tick += rng.int(0, 4);
      else if (roll < 0.3) {
        if (doc) {
          docs[i] = undefined;
          await clients[i].patches.closeDoc(DOC);
        } else {
          docs[i] = await clients[i].patches.openDoc<Doc>(DOC, { algorithm: 'lww' });
        }
      } else if (roll < 0.34) {
        const path = ['/o', ...Array.from({ length: rng.int(0, 2) }, () => `/${rng.pick(KEYS)}`)].join('');
        const extra = [rng.pick([{ op: '@max', path, value: rng.int(0, 99), ts: tick }, { op: '@inc', path, value: 1, ts: tick }, { op: 'replace', path, value: {}, soft: true, ts: tick }, { op: 'replace', path, value: rng.int(0, 9), soft: true, ts: tick }, { op: '@bit', path, value: 1 << rng.int(0, 3), ts: tick }])];
        const change = { id: `inc-${seed}-${step}`, baseRev: 0, rev: 1, createdAt: tick, ops: [{ op: '@inc', path: '/n', value: 1, ts: tick }, ...extra] };
        for (let k = 0; k < 2; k++) await call<CommitChangesResult>(reader, 'commitChanges', DOC, [change]);
        increments++;
      } else if (doc) doc.change(edit(rng));
      if (rng.chance(0.3)) await doc?.flush();
      if (rng.chance(0.2)) await new Promise(resolve => setImmediate(resolve));
    }
    const head = await settle();
    const views = docs.map(doc => doc!.state);
    const committed = await Promise.all(clients.map(async c => (await c.patches.store.getDoc(DOC))?.state));
    expect({ views, committed }).toEqual({ views: [head.state, head.state, head.state], committed: [head.state, head.state, head.state] });
    expect((head.state as Doc).n).toBe(increments || undefined);
    expect(clients.flatMap(c => c.errors)).toEqual([]);
  }, 30_000);
});
