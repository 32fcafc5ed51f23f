import { firstValueFrom } from 'rxjs';
import { JSONRPCError, MissingChangesError } from '../../src/errors.js';
import { expandAcks } from '../../src/net/expandAcks.js';
import { applyPatch } from '../../src/algorithms/applyPatch.js';
import type { Change, PatchesSnapshot } from '../../src/types.js';
import { frameLog } from '../helpers/countingWebSocket.js';
import { docSynced, startHarness, when, type SyncHarness } from '../helpers/syncHarness.js';

const sent = (id: string): Change => ({ id, baseRev: 2, rev: 3, ops: [{ op: 'replace', path: `/${id}`, value: 1 }], createdAt: 10, committedAt: 0, user: 'u1' }) as Change;

/** A committed change without the server's connection id (an acknowledged change is rebuilt without it). */
const withoutClientId = ({ clientId: _clientId, ...rest }: Change & { clientId?: string }) => rest;

describe('expandAcks', () => {
  it('should rebuild an acknowledged change from the one sent, and pass full entries through', () => {
    const foreign: Change = { id: 'f', baseRev: 2, rev: 3, ops: [], createdAt: 1, committedAt: 2 };
    expect(expandAcks([foreign, { id: 'a', rev: 4, committedAt: 99 }], [sent('a')])).toEqual([foreign, { ...sent('a'), rev: 4, committedAt: 99 }]);
  });

  it('should leave a reply without acknowledgements (a full echo, or not a list) as it is', () => {
    const full = [{ ...sent('a'), rev: 3, committedAt: 5 }];
    expect(expandAcks(full, [sent('a')])).toBe(full);
    expect(expandAcks(undefined, [])).toBeUndefined();
  });

  it('should put the acknowledged sent ops of an LWW reply back after its rows', () => {
    const lww: Change = { ...sent('l'), ops: [{ op: 'replace', path: '/a', value: 1 }, { op: 'add', path: '/b', value: 2 }] };
    const reply = { id: 'l', baseRev: 2, rev: 4, createdAt: 9, committedAt: 9, ops: [{ op: 'replace', path: '/c', value: 3, rev: 3 }], acked: [1] };
    expect(expandAcks([reply], [lww])).toEqual([{ id: 'l', baseRev: 2, rev: 4, createdAt: 9, committedAt: 9, ops: [{ op: 'replace', path: '/c', value: 3, rev: 3 }, { op: 'replace', path: '/b', value: 2 }] }]);
    expect(() => expandAcks([{ ...reply, acked: [2] }], [lww])).toThrow(JSONRPCError);
  });

  it('should take a change named by { id, rev } from the broadcasts received, and ask for a fetch when it is not at hand', () => {
    const foreign: Change = { id: 'f', baseRev: 2, rev: 3, ops: [{ op: 'add', path: '/f', value: 1 }], createdAt: 1, committedAt: 2 };
    const received = (id: string) => (id === 'f' ? foreign : undefined);
    expect(expandAcks([{ id: 'f', rev: 3 }, { id: 'a', rev: 4, committedAt: 9 }], [sent('a')], received)).toEqual([foreign, { ...sent('a'), rev: 4, committedAt: 9 }]);
    expect(() => expandAcks([{ id: 'g', rev: 3 }], [], received)).toThrow(MissingChangesError);
    expect(() => expandAcks([{ id: 'f', rev: 5 }], [], received)).toThrow(MissingChangesError);
  });

  it('should rebuild an LWW reply of only acknowledged ops from the change sent', () => {
    const lww: Change = { ...sent('l'), ops: [{ op: 'add', path: '/a', value: 1 }] };
    expect(expandAcks([{ id: 'l', rev: 4, committedAt: 9, acked: [0] }], [lww])).toEqual([{ ...lww, rev: 4, committedAt: 9, ops: [{ op: 'replace', path: '/a', value: 1 }] }]);
  });

  it('should refuse an acknowledgement of a change that was not sent', () => {
    expect(() => expandAcks([{ id: 'x', rev: 4, committedAt: 1 }], [sent('a')])).toThrow(JSONRPCError);
  });
});

describe('compact acknowledgements between our client and our server', () => {
  let harness: SyncHarness;
  afterEach(async () => {
    await harness.close();
  });

  /** The server's committed changes of a doc, and its state at the head. */
  async function serverHead(harnessClient: { sync: { call<R>(method: string, ...params: unknown[]): import('rxjs').Observable<R> } }, docId: string) {
    const history = await firstValueFrom(harnessClient.sync.call<Change[]>('getChangesSince', docId, 0));
    const snapshot = await firstValueFrom(harnessClient.sync.call<PatchesSnapshot>('getDoc', docId));
    return { history, state: applyPatch(snapshot.state ?? {}, snapshot.changes.flatMap(c => c.ops), { mode: 'lenient' }) };
  }

  it('should acknowledge own changes by id and store the same committed changes as the server (but for clientId)', async () => {
    harness = await startHarness();
    const log = frameLog();
    const a = harness.client({ websocket: { WebSocketCtor: log.WebSocketCtor } });
    await a.sync.connect();
    await when(a.sync.state$, s => s.syncing === null);
    const doc = await a.patches.openDoc<{ n?: number; list?: string[] }>('acked');
    for (let i = 1; i <= 5; i++) {
      doc.change(draft => {
        draft.n = i;
      });
      await docSynced(a.sync, 'acked', i);
    }
    const replies = log.messages(log.received).filter(m => Array.isArray((m.result as { changes?: unknown } | undefined)?.changes));
    const entries = replies.flatMap(m => (m.result as { changes: Array<Record<string, unknown>> }).changes);
    expect(entries).toHaveLength(5);
    expect(entries.every(entry => !('ops' in entry))).toBe(true);

    const { history, state } = await serverHead(a, 'acked');
    const stored = await a.patches.store.listChanges('acked', 0);
    expect(stored.map(withoutClientId)).toEqual(history.map(withoutClientId));
    expect(doc.state).toEqual(state);
    expect(a.errors).toEqual([]);
  });

  it('should take concurrent changes named by id from the broadcasts that came first, when two clients type at once', async () => {
    harness = await startHarness();
    const logs = [frameLog(), frameLog()];
    const clients = logs.map(log => harness.client({ websocket: { WebSocketCtor: log.WebSocketCtor } }));
    await Promise.all(clients.map(c => c.sync.connect()));
    const docs = await Promise.all(clients.map(c => c.patches.openDoc<{ items?: string[] }>('typing')));
    docs[0].change(draft => {
      draft.items = [];
    });
    await Promise.all(clients.map(c => docSynced(c.sync, 'typing', 1)));
    // Each edit waits for its commit, both clients at once: most replies carry the other's latest change.
    await Promise.all(
      clients.map(async (client, who) => {
        for (let i = 0; i < 15; i++) {
          docs[who].change(draft => {
            draft.items?.push(`${who}-${i}`);
          });
          await docs[who].flush();
          await docSynced(client.sync, 'typing');
        }
      }),
    );
    await Promise.all(clients.map(c => docSynced(c.sync, 'typing', 31)));
    const refs = logs.flatMap(log => log.messages(log.received)).flatMap(m => (m.result as { changes?: Array<Record<string, unknown>> } | undefined)?.changes ?? []).filter(entry => !('ops' in entry) && !('committedAt' in entry));
    expect(refs.length).toBeGreaterThan(0);
    const { history, state } = await serverHead(clients[0], 'typing');
    for (const [who, client] of clients.entries()) {
      expect(docs[who].state).toEqual(state);
      // The second client loaded rev 1 as a snapshot: its history starts after it.
      const stored = await client.patches.store.listChanges('typing', 0);
      expect(stored.length).toBeGreaterThanOrEqual(30);
      expect(stored.map(withoutClientId)).toEqual(history.slice(history.length - stored.length).map(withoutClientId));
      expect(client.errors).toEqual([]);
    }
  });

  it('should acknowledge LWW writes stored as sent, send a lost write\'s winner in full, and show exactly the server state', async () => {
    harness = await startHarness();
    const log = frameLog();
    const [a, b] = [harness.client({ websocket: { WebSocketCtor: log.WebSocketCtor }, clock: () => 1000 }), harness.client({ clock: () => 2000 })];
    b.sync.url = harness.server.url;
    await Promise.all([a.sync.connect(), b.sync.connect()]);
    const [docA, docB] = await Promise.all([a.patches.openDoc<Record<string, number>>('lww-acked', { algorithm: 'lww' }), b.patches.openDoc<Record<string, number>>('lww-acked', { algorithm: 'lww' })]);
    docA.change(draft => {
      draft.mine = 1;
    });
    await docSynced(a.sync, 'lww-acked', 1);
    harness.proxy.refuse = true;
    harness.proxy.dropAll();
    await when(a.sync.state$, s => !s.connected);
    // b's write to /shared is newer (its clock is ahead): a's write to it loses, its write to /own wins.
    docB.change(draft => {
      draft.shared = 2;
    });
    await docSynced(b.sync, 'lww-acked', 2);
    docA.change(draft => {
      draft.shared = 1;
      draft.own = 1;
    });
    harness.proxy.refuse = false;
    await docSynced(a.sync, 'lww-acked', 3);

    const replies = log.messages(log.received).filter(m => Array.isArray((m.result as { changes?: unknown } | undefined)?.changes));
    const last = (replies[replies.length - 1].result as { changes: Array<{ ops: Array<{ path: string; value: unknown }>; acked?: number[] }> }).changes[0];
    expect(last.acked).toHaveLength(1);
    expect(last.ops).toEqual([expect.objectContaining({ path: '/shared', value: 2 })]);
    const snapshot = await firstValueFrom(a.sync.call<PatchesSnapshot>('getDoc', 'lww-acked'));
    const state = applyPatch(snapshot.state ?? {}, snapshot.changes.flatMap(c => c.ops), { mode: 'lenient' });
    expect(state).toEqual({ mine: 1, shared: 2, own: 1 });
    expect(docA.state).toEqual(state);
    await docSynced(b.sync, 'lww-acked', 3);
    expect(docB.state).toEqual(state);
    expect(a.errors).toEqual([]);
  });

  it('should get in full an own change the server transformed over a concurrent one, acknowledge the untouched one, and show exactly the server state', async () => {
    harness = await startHarness();
    const log = frameLog();
    const [a, b] = [harness.client({ websocket: { WebSocketCtor: log.WebSocketCtor } }), harness.client()];
    // b goes straight to the server: the proxy's cut is for a only.
    b.sync.url = harness.server.url;
    await Promise.all([a.sync.connect(), b.sync.connect()]);
    const [docA, docB] = await Promise.all([a.patches.openDoc<{ list: string[] }>('moved'), b.patches.openDoc<{ list: string[] }>('moved')]);
    docB.change(draft => {
      draft.list = ['x', 'y', 'z', 'w'];
    });
    await docSynced(a.sync, 'moved', 1);
    harness.proxy.refuse = true;
    harness.proxy.dropAll();
    await when(a.sync.state$, s => !s.connected);
    // b inserts at 1; meanwhile a inserts at 0 (before b's: untouched) and at 4 (after b's: moved to 5).
    docB.change(draft => {
      draft.list.splice(1, 0, 'b');
    });
    docA.change(draft => {
      draft.list.unshift('a');
    });
    docA.change(draft => {
      draft.list.splice(4, 0, 't');
    });
    await docSynced(b.sync, 'moved', 2);
    harness.proxy.refuse = false;
    await docSynced(a.sync, 'moved', 4);

    const commit = log.messages(log.sent).find(m => m.method === 'commitChanges');
    const sentOps = (commit?.params as [string, Change[]])[1].map(c => c.ops);
    expect(sentOps).toEqual([[{ op: 'add', path: '/list/0', value: 'a' }], [{ op: 'add', path: '/list/4', value: 't' }]]);
    const reply = log.messages(log.received).find(m => m.id === commit?.id);
    const entries = (reply?.result as { changes: Array<Record<string, unknown>> }).changes;
    // b's change (catch-up) and a's moved insert in full, a's untouched insert acknowledged.
    expect(entries.map(entry => [entry.rev, 'ops' in entry])).toEqual([
      [2, true],
      [3, false],
      [4, true],
    ]);
    expect(entries[2].ops).toEqual([{ op: 'add', path: '/list/5', value: 't' }]);
    const { history, state } = await serverHead(a, 'moved');
    expect(state).toEqual({ list: ['a', 'x', 'b', 'y', 'z', 't', 'w'] });
    expect(docA.state).toEqual(state);
    await docSynced(b.sync, 'moved', 4);
    expect(docB.state).toEqual(state);
    // a may have loaded rev 1 as a snapshot: its history is the server's from there.
    const stored = await a.patches.store.listChanges('moved', 0);
    expect(stored.length).toBeGreaterThanOrEqual(3);
    expect(stored.map(withoutClientId)).toEqual(history.slice(history.length - stored.length).map(withoutClientId));
    expect(a.errors).toEqual([]);
  });
});
