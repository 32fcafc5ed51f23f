import 'fake-indexeddb/auto';
import { firstValueFrom, filter } from 'rxjs';
import { Patches } from '../../src/client/Patches.js';
import { IndexedDBStore } from '../../src/stores/IndexedDBStore.js';
import { InMemoryStore } from '../../src/stores/InMemoryStore.js';
import type { PatchesDoc } from '../../src/client/PatchesDoc.js';
import { docSynced, idle, startHarness, when, type SyncHarness, type TestClient } from '../helpers/syncHarness.js';

/**
 * Several `Patches` on one IndexedDB database in one process (fake-indexeddb): they behave like
 * tabs of one app — each sees the others' edits through the store's channel, and with a
 * connection each, every edit reaches the server exactly once.
 */

type Notes = { items?: string[]; marks?: Record<string, number> };

let dbCount = 0;

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

  function tab(dbName: string, connect = true): TestClient {
    const store = new IndexedDBStore(dbName);
    const client = h.client({ store });
    closing.push(client.patches);
    if (!connect) client.sync.disconnect();
    return client;
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
    await Promise.all(tabs.map(t => idle(t.sync)));

    // The server's state, read by a fresh client with its own store.
    const reader = h.client({ store: new InMemoryStore() });
    await reader.sync.connect();
    await reader.patches.trackDocs(['ot-doc']);
    await reader.patches.trackDocs(['lww-doc'], 'lww');
    await Promise.all([docSynced(reader.sync, 'ot-doc', 1), docSynced(reader.sync, 'lww-doc', 1)]);
    const serverOT = (await reader.patches.store.getDoc<Notes>('ot-doc'))!.state;
    const serverLWW = (await reader.patches.store.getDoc<Notes>('lww-doc'))!.state;
    const serverHead = await reader.patches.store.getCommittedRev('ot-doc');

    expect([...serverOT.items!].sort()).toEqual([...edits].sort());
    expect(Object.keys(serverLWW.marks!).sort()).toEqual([...edits].sort());
    for (const [i, t] of tabs.entries()) {
      await when(ot[i].state$, s => s.items?.length === edits.length && !ot[i].hasPending && ot[i].committedRev === serverHead);
      expect(ot[i].state).toEqual(serverOT);
      await when(lww[i].state$, s => Object.keys(s.marks ?? {}).length === edits.length && !lww[i].hasPending);
      expect(lww[i].state).toEqual(serverLWW);
      expect(t.errors).toEqual([]);
    }
    expect(await tabs[0].patches.store.getPendingChanges('ot-doc')).toEqual([]);
  });
});
