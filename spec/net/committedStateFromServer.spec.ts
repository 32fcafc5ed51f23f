import { firstValueFrom } from 'rxjs';
import { transformIncomingChanges } from '../../src/algorithms/transformIncomingChanges.js';
import { applyPatch } from '../../src/algorithms/applyPatch.js';
import type { Change, PatchesSnapshot } from '../../src/types.js';
import { oppositeTieBreak, type OppositeTieBreak } from '../helpers/oppositeTieBreak.js';
import { docSynced, startHarness, when, type SyncHarness, type TestClient } from '../helpers/syncHarness.js';

// "Never show a state the server does not have": whatever the server's transform, a client at
// rest shows exactly the server's state at its committedRev, its own changes as the server
// committed them. The server here breaks ties between inserts at one index the other way from
// the client's rebase, so every client's own guess is wrong somewhere.

let harness: SyncHarness;
let rule: OppositeTieBreak;

beforeEach(async () => {
  rule = oppositeTieBreak();
  harness = await startHarness({ transformIncoming: rule.transform });
});

afterEach(async () => {
  await harness.close();
});

async function connected(clock?: () => number): Promise<TestClient> {
  const client = harness.client({ clock });
  await client.sync.connect();
  return client;
}

/** The server's state of a doc at its head, read with `getDoc` through a client's RPC. */
async function serverState(client: TestClient, docId: string): Promise<{ state: unknown; rev: number }> {
  const snapshot = await firstValueFrom(client.sync.call<PatchesSnapshot>('getDoc', docId));
  const state = applyPatch(snapshot.state ?? {}, snapshot.changes.flatMap((c: Change) => c.ops), { mode: 'lenient' });
  return { state, rev: snapshot.changes.reduce((max, c) => Math.max(max, c.rev), snapshot.rev) };
}

describe('a client shows the state the server committed', () => {
  it('should test a server rule that really differs from the default at a tie', () => {
    const committed: Change = { id: 'c', baseRev: 0, rev: 1, ops: [{ op: 'add', path: '/l/0', value: 'c' }], createdAt: 0, committedAt: 0 };
    const incoming: Change = { id: 'i', baseRev: 0, rev: 1, ops: [{ op: 'add', path: '/l/0', value: 'i' }], createdAt: 0, committedAt: 0 };
    const ours = transformIncomingChanges([committed], [incoming], () => false)[0].ops[0].path;
    const theirs = rule.transform([committed], [incoming], () => false)[0].ops[0].path;
    expect([ours, theirs].sort()).toEqual(['/l/0', '/l/1']);
  });

  it('should converge N clients inserting concurrently into one array to the server\'s order, and at rest equal a fresh client', async () => {
    const N = 4;
    const ROUNDS = 3;
    const clients = await Promise.all(Array.from({ length: N }, () => connected()));
    const docs = await Promise.all(clients.map(c => c.patches.openDoc<{ list: string[] }>('list')));
    docs[0].change(draft => {
      draft.list = ['base'];
    });
    await Promise.all(clients.map(c => docSynced(c.sync, 'list', 1)));

    // Each round: every client is cut off, inserts at index 0 and at index 1 (ties with every
    // other client by construction), then all come back at once and commit concurrently.
    let rev = 1;
    for (let round = 0; round < ROUNDS; round++) {
      harness.proxy.refuse = true;
      harness.proxy.dropAll();
      await Promise.all(clients.map(c => when(c.sync.state$, s => !s.connected)));
      docs.forEach((doc, i) => {
        doc.change(draft => {
          draft.list.unshift(`r${round}-c${i}-first`);
        });
        doc.change(draft => {
          draft.list.splice(1, 0, `r${round}-c${i}-second`);
        });
      });
      await Promise.all(docs.map(doc => doc.flush()));
      rev += 2 * N;
      harness.proxy.refuse = false;
      await Promise.all(clients.map(c => docSynced(c.sync, 'list', rev)));
    }
    expect(rule.ties).toBeGreaterThan(0);

    const truth = await serverState(clients[0], 'list');
    expect(truth.rev).toBe(rev);
    expect((truth.state as { list: string[] }).list).toHaveLength(1 + ROUNDS * N * 2);
    for (const [i, doc] of docs.entries()) {
      expect({ client: i, rev: doc.committedRev, pending: doc.hasPending, state: doc.state }).toEqual({ client: i, rev, pending: false, state: truth.state });
      expect({ client: i, stored: (await clients[i].patches.store.getDoc('list'))?.state }).toEqual({ client: i, stored: truth.state });
    }

    const fresh = await connected();
    const freshDoc = await fresh.patches.openDoc<{ list: string[] }>('list');
    await docSynced(fresh.sync, 'list', rev);
    expect(freshDoc.state).toEqual(truth.state);
    for (const doc of docs) expect(doc.state).toEqual(freshDoc.state);
    for (const c of [...clients, fresh]) expect(c.errors).toEqual([]);
  });

  it('should show the server\'s winner on an LWW doc after the commit reply, its own losing write included', async () => {
    const ahead = await connected(() => 2_000);
    const behind = await connected(() => 1_000);
    const docA = await ahead.patches.openDoc<{ x?: string; y?: string }>('lww-truth', { algorithm: 'lww' });
    const docB = await behind.patches.openDoc<{ x?: string; y?: string }>('lww-truth', { algorithm: 'lww' });
    await Promise.all([docSynced(ahead.sync, 'lww-truth'), docSynced(behind.sync, 'lww-truth')]);

    harness.proxy.refuse = true;
    harness.proxy.dropAll();
    await Promise.all([ahead, behind].map(c => when(c.sync.state$, s => !s.connected)));
    docA.change(draft => {
      draft.x = 'newer';
    });
    docB.change(draft => {
      draft.x = 'older';
      draft.y = 'only b';
    });
    // Locally each sees its own write.
    expect([docA.state.x, docB.state.x]).toEqual(['newer', 'older']);
    harness.proxy.refuse = false;
    await Promise.all([docSynced(ahead.sync, 'lww-truth', 2), docSynced(behind.sync, 'lww-truth', 2)]);
    await when(docA.state$, s => s.y === 'only b');

    const truth = await serverState(ahead, 'lww-truth');
    expect(truth.state).toEqual({ x: 'newer', y: 'only b' });
    expect(docB.state).toEqual(truth.state);
    expect(docA.state).toEqual(truth.state);

    const fresh = await connected();
    const freshDoc = await fresh.patches.openDoc('lww-truth', { algorithm: 'lww' });
    await docSynced(fresh.sync, 'lww-truth', truth.rev);
    expect(freshDoc.state).toEqual(docB.state);
    for (const c of [ahead, behind, fresh]) expect(c.errors).toEqual([]);
  });
});
