import { applyPatch } from '../../../src/algorithms/applyPatch.js';
import { transformIncomingChanges } from '../../../src/algorithms/transformIncomingChanges.js';
import { MAX_TRANSFORM_WORK } from '../../../src/server/docs/OTDocService.js';
import { startServer } from '../../../src/server/startServer.js';
import type { Change, CommitChangesResult, PatchesSnapshot } from '../../../src/types.js';
import { MemoryServerStore } from '../../../src/server/stores/MemoryServerStore.js';
import type { LogEntry } from '../../../src/server/stores/ServerStore.js';
import { change, errorOf, resultOf, startTestServer } from '../../helpers/testServer.js';
import type { TestServer } from '../../helpers/testServer.js';

/** The head state of a getDoc envelope: its state with its tail applied. */
function headOf(envelope: PatchesSnapshot): unknown {
  return envelope.changes.reduce<unknown>((state, committed) => applyPatch(state, committed.ops, { mode: 'strict' }), envelope.state);
}

describe('OTDocService (over real sockets)', () => {
  let t: TestServer;
  let clock: number;
  beforeEach(async () => {
    clock = 50_000;
    t = await startTestServer({ now: () => clock });
  });
  afterEach(async () => {
    await t.close();
    expect(t.faults).toEqual([]);
  });

  async function commit(client: Awaited<ReturnType<TestServer['connect']>>, docId: string, changes: unknown[]): Promise<CommitChangesResult> {
    return resultOf<CommitChangesResult>(await client.call('commitChanges', [docId, changes]));
  }

  it('should commit at rev 1 with the server clock, a clamped createdAt, the connection id and untouched metadata', async () => {
    const a = await t.connect();
    const { changes } = await commit(a, 'doc', [change('c1', 0, [{ op: 'replace', path: '/title', value: 'Hi' }], { createdAt: 99_999, user: 'alice' })]);
    expect(changes).toEqual([
      { id: 'c1', baseRev: 0, rev: 1, ops: [{ op: 'replace', path: '/title', value: 'Hi' }], createdAt: 50_000, committedAt: 50_000, user: 'alice', clientId: expect.any(String) },
    ]);
    expect(Object.keys(changes[0])).toEqual(['id', 'baseRev', 'rev', 'ops', 'createdAt', 'committedAt', 'user', 'clientId']);
    expect(resultOf(await a.call('getDoc', ['doc']))).toEqual({ state: null, rev: 0, changes });
  });

  it('should converge when two clients commit at the same base rev', async () => {
    const a = await t.connect();
    const b = await t.connect();
    await a.call('subscribe', [['doc']]);
    await b.call('subscribe', [['doc']]);
    await commit(a, 'doc', [change('base', 0, [{ op: 'replace', path: '/items', value: [] }, { op: 'replace', path: '/n', value: 0 }, { op: '@txt', path: '/body', value: [{ insert: 'hello' }] }])]);
    await b.notification('changesCommitted', 'doc');

    const fromA = await commit(a, 'doc', [change('a1', 1, [{ op: '@inc', path: '/n', value: 1 }, { op: 'add', path: '/items/0', value: 'a' }, { op: '@txt', path: '/body', value: [{ insert: 'A' }] }])]);
    const fromB = await commit(b, 'doc', [change('b1', 1, [{ op: '@inc', path: '/n', value: 1 }, { op: 'add', path: '/items/0', value: 'b' }, { op: '@txt', path: '/body', value: [{ retain: 5 }, { insert: 'B' }] }])]);

    expect(fromA.changes.map((c) => c.rev)).toEqual([2]);
    // B's reply is the catch-up (A's change) followed by B's change transformed onto it.
    expect(fromB.changes.map((c) => [c.id, c.rev, c.baseRev])).toEqual([['a1', 2, 1], ['b1', 3, 1]]);
    const toA = (await a.notification('changesCommitted', 'doc')).params as { changes: Change[] };
    expect(toA.changes).toEqual([fromB.changes[1]]);

    const envelope = resultOf<PatchesSnapshot>(await a.call('getDoc', ['doc']));
    expect(envelope.changes.map((c) => c.rev)).toEqual([1, 2, 3]);
    const head = headOf(envelope) as { n: number; items: string[]; body: { ops: Array<{ insert: string }> } };
    expect(head.n).toBe(2);
    // The later writer's insert at the same index lands first; B's retain moved past A's insert.
    expect(head.items).toEqual(['b', 'a']);
    expect(fromB.changes[1].ops[2]).toEqual({ op: '@txt', path: '/body', value: [{ retain: 6 }, { insert: 'B' }] });
    expect(head.body.ops.map((op) => op.insert).join('')).toBe('AhelloB\n');
  });

  it('should not commit a duplicate twice and reply with the committed copy (lost response)', async () => {
    const a = await t.connect();
    const watcher = await t.connect();
    await watcher.call('subscribe', [['doc']]);
    await commit(a, 'doc', [change('c1', 0, [{ op: 'replace', path: '/n', value: 0 }])]);
    const inc = change('inc', 1, [{ op: '@inc', path: '/n', value: 5 }]);
    const first = await commit(a, 'doc', [inc]);
    clock += 1000;
    const again = await commit(a, 'doc', [inc]);
    expect(again.changes).toEqual(first.changes);
    // A resend from a new connection (the client reconnected) is recognised by id too.
    const reconnected = await t.connect();
    expect((await commit(reconnected, 'doc', [inc])).changes).toEqual(first.changes);

    const envelope = resultOf<PatchesSnapshot>(await a.call('getDoc', ['doc']));
    expect(envelope.changes.map((c) => c.id)).toEqual(['c1', 'inc']);
    expect(headOf(envelope)).toEqual({ n: 5 });
    expect(t.server.stats.duplicateChanges).toBe(2);
    expect(watcher.notifications('changesCommitted').map((n) => (n.params as { changes: Change[] }).changes[0].id)).toEqual(['c1', 'inc']);
  });

  it('should not transform a resent batch against its own committed head (lost response of [A, B, C])', async () => {
    const a = await t.connect();
    const other = await t.connect();
    await commit(a, 'doc', [change('base', 0, [{ op: 'replace', path: '/items', value: [] }])]);
    const A = change('A', 1, [{ op: 'add', path: '/items/0', value: 'a' }]);
    const B = change('B', 1, [{ op: 'add', path: '/items/1', value: 'b' }], { rev: 3 });
    const C = change('C', 1, [{ op: 'add', path: '/items/2', value: 'c' }], { rev: 4 });
    await commit(a, 'doc', [A]);
    await commit(other, 'doc', [change('X', 2, [{ op: 'add', path: '/items/-', value: 'x' }])]);
    const reply = await commit(a, 'doc', [A, B, C]);
    expect(reply.changes.map((c) => [c.id, c.rev])).toEqual([['A', 2], ['X', 3], ['B', 4], ['C', 5]]);
    const head = headOf(resultOf<PatchesSnapshot>(await a.call('getDoc', ['doc'])));
    expect(head).toEqual({ items: ['a', 'b', 'c', 'x'] });
  });

  it('should commit a baseRev-0 edit on top of an existing document and ask for a reload', async () => {
    const a = await t.connect();
    const late = await t.connect();
    await commit(a, 'doc', [change('c1', 0, [{ op: 'replace', path: '/a', value: 1 }])]);
    await commit(a, 'doc', [change('c2', 1, [{ op: 'replace', path: '/b', value: 2 }])]);
    const reply = await commit(late, 'doc', [change('fresh', 0, [{ op: 'replace', path: '/c', value: 3 }])]);
    expect(reply).toEqual({ changes: [expect.objectContaining({ id: 'fresh', baseRev: 2, rev: 3 })], docReloadRequired: true });
  });

  it('should refuse a baseRev-0 continuation the document did not start with 409 scope doc', async () => {
    const a = await t.connect();
    await commit(a, 'doc', [change('c1', 0, [{ op: 'replace', path: '/a', value: 1 }])]);
    const error = errorOf(await a.call('commitChanges', ['doc', [change('cont', 0, [{ op: 'replace', path: '/x', value: 1 }], { rev: 5, batchId: 'someone-else' })]]));
    expect(error).toMatchObject({ code: 409, data: { scope: 'doc' } });
  });

  it('should resume its own upload at baseRev 0 without repeating its committed rows', async () => {
    const a = await t.connect();
    const batch1 = [change('u1', 0, [{ op: 'replace', path: '', value: { list: [] } }], { batchId: 'u1' }), change('u2', 0, [{ op: 'add', path: '/list/-', value: 1 }], { rev: 2, batchId: 'u1' })];
    const batch2 = [change('u3', 0, [{ op: 'add', path: '/list/-', value: 2 }], { rev: 3, batchId: 'u1' })];
    await commit(a, 'doc', batch1);
    const reply = await commit(a, 'doc', batch2);
    expect(reply).toEqual({ changes: [expect.objectContaining({ id: 'u3', rev: 3 })] });
    expect(headOf(resultOf<PatchesSnapshot>(await a.call('getDoc', ['doc'])))).toEqual({ list: [1, 2] });
  });

  it('should refuse a root replace on a document with history (400 scope change), but not on the creating upload', async () => {
    const a = await t.connect();
    await commit(a, 'doc', [change('root', 0, [{ op: 'replace', path: '', value: { v: 1 } }])]);
    const error = errorOf(await a.call('commitChanges', ['doc', [change('wipe', 1, [{ op: 'replace', path: '', value: {} }])]]));
    expect(error).toMatchObject({ code: 400, data: { changeId: 'wipe', scope: 'change' } });
    // The creating upload resent after a lost response is its own upload: accepted.
    const resent = await commit(a, 'doc', [change('root', 0, [{ op: 'replace', path: '', value: { v: 1 } }]), change('next', 0, [{ op: 'replace', path: '/w', value: 2 }], { rev: 2 })]);
    expect(resent.changes.map((c) => [c.id, c.rev])).toEqual([['root', 1], ['next', 2]]);
    expect(resent.docReloadRequired).toBeUndefined();
  });

  it('should refuse a baseRev ahead of the document (409, with the head rev) and mixed baseRevs (400), both scope doc', async () => {
    const a = await t.connect();
    await commit(a, 'doc', [change('c1', 0, [{ op: 'replace', path: '/a', value: 1 }])]);
    expect(errorOf(await a.call('commitChanges', ['doc', [change('ahead', 7, [{ op: 'replace', path: '/a', value: 2 }])]]))).toEqual({
      code: 409,
      message: 'REV_AHEAD: baseRev 7 is ahead of the document (rev 1); reload it',
      data: { scope: 'doc', headRev: 1 },
    });
    expect(errorOf(await a.call('commitChanges', ['doc', [change('m1', 1, []), change('m2', 0, [])]]))).toMatchObject({ code: 400, data: { scope: 'doc' } });
  });

  // Issue 10: the reference's transform rules can produce ops that no longer apply (a kept
  // `test`, a move whose source went), so such a change is dropped like one transformed away —
  // left out of the reply, which its author reads as resolved — rather than refusing the batch.
  it('should drop a change whose ops cannot apply, commit the rest of the batch, and leave the document as it was for it', async () => {
    const a = await t.connect();
    const watcher = await t.connect();
    await watcher.call('subscribe', [['doc']]);
    await commit(a, 'doc', [change('c1', 0, [{ op: 'replace', path: '/list', value: [1] }])]);
    let rev = 1;
    for (const [id, op] of [
      ['bad-index', { op: 'replace', path: '/list/5', value: 0 }],
      ['bad-test', { op: 'test', path: '/list/0', value: 2 }],
      ['bad-inc', { op: '@inc', path: '/list', value: 1 }],
    ] as const) {
      const fine = `fine-${id}`;
      const reply = await commit(a, 'doc', [change(id, rev, [op]), change(fine, rev, [{ op: 'replace', path: '/fine', value: rev }], { rev: rev + 2 })]);
      rev++;
      expect(reply.changes.map((c) => [c.id, c.rev])).toEqual([[fine, rev]]);
    }
    expect(t.server.stats.changesDropped).toBe(3);
    const envelope = resultOf<PatchesSnapshot>(await a.call('getDoc', ['doc']));
    expect(envelope.changes.map((c) => c.id)).toEqual(['c1', 'fine-bad-index', 'fine-bad-test', 'fine-bad-inc']);
    expect(envelope.changes.reduce<unknown>((state, c) => applyPatch(state, c.ops, { mode: 'strict' }), envelope.state)).toEqual({ list: [1], fine: 3 });
    expect(watcher.notifications('changesCommitted')).toHaveLength(4);
  });

  // Fuzz seed 82194 (tabs), fixed: the resend of a batch whose reply was lost committed the change
  // the first commit had dropped, behind the changes queued after it; the author had read it as
  // resolved, and its next edit, made without it, named the card it moved.
  it('should drop again on a resend a change it dropped ahead of changes of the batch it committed', async () => {
    const a = await t.connect();
    await commit(a, 'doc', [change('c1', 0, [{ op: 'replace', path: '/todo', value: ['a', 'b'] }])]);
    // The drag's move does not apply on two cards (a transform rule made it); the add goes behind it.
    const drag = change('drag', 1, [{ op: 'move', from: '/todo/0', path: '/todo/2' }]);
    const add = change('add', 1, [{ op: 'add', path: '/todo/-', value: 'c' }], { rev: 3 });
    expect((await commit(a, 'doc', [drag, add])).changes.map((c) => [c.id, c.rev])).toEqual([['add', 2]]);
    // Its reply lost, the client resends the queue with an edit made since, on the card it added.
    const retitle = change('retitle', 1, [{ op: 'replace', path: '/todo/2', value: 'C' }], { rev: 4 });
    expect((await commit(a, 'doc', [drag, add, retitle])).changes.map((c) => [c.id, c.rev])).toEqual([['add', 2], ['retitle', 3]]);
    expect(headOf(resultOf<PatchesSnapshot>(await a.call('getDoc', ['doc'])))).toEqual({ todo: ['a', 'b', 'C'] });
    expect(t.server.stats.changesDropped).toBe(1);
  });

  // Found in review, fixed: the depth limit checked only ops carrying a value, so copying /a onto
  // its own deepest leaf doubled the depth at each commit (~25,700 levels by rev 8) and every
  // snapshot then failed with a stack overflow, on the server and in an IndexedDB client.
  it('should refuse, as a whole and storing nothing, a commit whose copy or move would nest the document past MAX_DEPTH', async () => {
    const a = await t.connect();
    const watcher = await t.connect();
    await watcher.call('subscribe', [['doc']]);
    let deep: unknown = {};
    for (let i = 1; i < 200; i++) deep = { d: deep };
    await commit(a, 'doc', [change('c1', 0, [{ op: 'add', path: '/a', value: deep }])]);
    // 200 levels under /a: under a path of 57 segments they would nest 257 levels, under 56 exactly 256.
    const ontoLeaf = '/a' + '/d'.repeat(199) + '/x';
    for (const op of ['copy', 'move'] as const) {
      const reply = await a.call('commitChanges', ['doc', [change('fine', 1, [{ op: 'replace', path: '/n', value: 1 }]), change(op, 1, [{ op, from: '/a', path: `/b${'/s'.repeat(56)}` }], { rev: 3 })]]);
      expect(errorOf(reply)).toMatchObject({ code: 400, message: expect.stringContaining('would nest the document deeper than 256 levels'), data: { changeId: op, scope: 'change' } });
    }
    expect(errorOf(await a.call('commitChanges', ['doc', [change('self', 1, [{ op: 'copy', from: '/a', path: ontoLeaf }])]]))).toMatchObject({ code: 400, data: { changeId: 'self', scope: 'change' } });
    // Nothing of the refused commits was stored or broadcast; a copy within the limit still commits.
    expect(resultOf<PatchesSnapshot>(await a.call('getDoc', ['doc'])).changes.map((c) => c.id)).toEqual(['c1']);
    expect((await commit(a, 'doc', [change('ok', 1, [{ op: 'copy', from: '/a', path: `/b${'/s'.repeat(55)}` }])])).changes.map((c) => [c.id, c.rev])).toEqual([['ok', 2]]);
    await watcher.notification('changesCommitted', 'doc');
    await watcher.notification('changesCommitted', 'doc');
    expect(watcher.notifications('changesCommitted').map((n) => (n.params as { changes: Change[] }).changes.map((c) => c.id))).toEqual([['c1'], ['ok']]);
  });

  // Found in review, fixed: a copy of /a beside itself carries a few bytes but doubled the document
  // at each commit (no limit saw it), ~40 commits from a size no snapshot or getDoc can write out.
  it('should refuse (413, storing nothing) a commit whose copies add more than maxChangeBytes, and take one within it', async () => {
    await t.close();
    t = await startTestServer({ now: () => clock, maxChangeBytes: 10_000 });
    const a = await t.connect();
    await commit(a, 'doc', [change('c1', 0, [{ op: 'add', path: '/a', value: { text: 'x'.repeat(3_000) } }])]);
    // ~3 KB, ~6 KB and ~12 KB copied: the third passes 10,000.
    for (const [rev, id] of [[1, 'd1'], [2, 'd2']] as const) {
      expect((await commit(a, 'doc', [change(id, rev, [{ op: 'copy', from: '/a', path: `/a/${id}` }])])).changes.map((c) => c.id)).toEqual([id]);
    }
    const refusal = errorOf(await a.call('commitChanges', ['doc', [change('d3', 3, [{ op: 'copy', from: '/a', path: '/a/d3' }])]]));
    expect(refusal).toMatchObject({ code: 413, message: expect.stringContaining('op 0 (copy)'), data: { changeId: 'd3', scope: 'change' } });
    const envelope = resultOf<PatchesSnapshot>(await a.call('getDoc', ['doc']));
    expect(envelope.changes.map((c) => c.id)).toEqual(['c1', 'd1', 'd2']);
    expect(JSON.stringify(envelope.changes.reduce<unknown>((state, c) => applyPatch(state, c.ops, { mode: 'strict' }), envelope.state)).length).toBeLessThan(13_000);
  });

  it('should refuse getChangesSince and a commit on an old rev with an error, not a list with a hole, when the store lost history before the snapshot', async () => {
    // A store whose log lost rev 2 (a file gone, a bad restore): the snapshot at rev 3 still stands.
    class LostRev2 extends MemoryServerStore {
      override async readLog(docId: string, afterRev: number): Promise<LogEntry[]> {
        return (await super.readLog(docId, afterRev)).filter((entry) => !(entry.kind === 'ot' && entry.changes.some((c) => c.rev === 2)));
      }
    }
    await t.close();
    t = await startTestServer({ now: () => clock, snapshotEvery: 3, store: new LostRev2() });
    const a = await t.connect();
    for (let rev = 1; rev <= 4; rev++) await commit(a, 'doc', [change(`c${rev}`, rev - 1, [{ op: 'replace', path: `/k${rev}`, value: rev }])]);
    // From the snapshot on, the tail in memory answers; before it, the hole is an error.
    expect(resultOf<Change[]>(await a.call('getChangesSince', ['doc', 3])).map((c) => c.rev)).toEqual([4]);
    expect(errorOf(await a.call('getChangesSince', ['doc', 0]))).toMatchObject({ code: 500, message: expect.stringContaining('lacks rev 2'), data: { scope: 'doc' } });
    expect(resultOf<Change[]>(await a.call('getChangesSince', ['doc', 2])).map((c) => c.rev)).toEqual([3, 4]);
    // A commit on a rev before the hole: reloaded once (the hole could be a delete not heard of yet), then refused.
    expect(errorOf(await a.call('commitChanges', ['doc', [change('old', 1, [{ op: 'replace', path: '/old', value: 1 }])]]))).toMatchObject({ code: 500, message: expect.stringContaining('lacks rev 2') });
    expect(t.faults.map((f) => (f as Error).message)).toEqual([expect.stringContaining('lacks rev 2'), expect.stringContaining('lacks rev 2')]);
    t.faults.length = 0; // seen: the suite's check after each case is for faults nobody expected
  });

  it('should answer getDoc from the latest snapshot plus the tail, and getChangesSince from full history', async () => {
    await t.close();
    t = await startTestServer({ now: () => clock, snapshotEvery: 3 });
    const a = await t.connect();
    for (let rev = 1; rev <= 4; rev++) await commit(a, 'doc', [change(`c${rev}`, rev - 1, [{ op: 'replace', path: `/k${rev}`, value: rev }])]);
    // The snapshot is written behind the commit that made it due; a read after the next commit sees it.
    const envelope = resultOf<PatchesSnapshot>(await a.call('getDoc', ['doc']));
    expect(envelope).toEqual({ state: { k1: 1, k2: 2, k3: 3 }, rev: 3, changes: [expect.objectContaining({ id: 'c4', rev: 4 })] });
    expect(resultOf<Change[]>(await a.call('getChangesSince', ['doc', 0])).map((c) => c.rev)).toEqual([1, 2, 3, 4]);
    expect(resultOf<Change[]>(await a.call('getChangesSince', ['doc', 2])).map((c) => c.rev)).toEqual([3, 4]);
    expect(resultOf<Change[]>(await a.call('getChangesSince', ['doc', 4]))).toEqual([]);
    // A rev the server never reached: the client is ahead of it (a restored backup).
    expect(errorOf(await a.call('getChangesSince', ['doc', 9]))).toMatchObject({ code: 409, data: { scope: 'doc', headRev: 4 } });
    expect(t.server.stats.snapshots).toBe(1);
    // An id committed before the snapshot is still recognised.
    const resent = await commit(a, 'doc', [change('c1', 4, [{ op: 'replace', path: '/k1', value: 1 }])]);
    expect(resent.changes.map((c) => c.id)).toEqual(['c1']);
  });

  it('should keep one dense server order when many clients commit to one doc at once', async () => {
    const clients = await Promise.all([1, 2, 3, 4, 5].map(() => t.connect()));
    await Promise.all(clients.map((client) => client.call('subscribe', [['doc']])));
    const perClient = 12;
    await Promise.all(
      clients.map(async (client, c) => {
        let head = 0;
        for (let i = 0; i < perClient; i++) {
          // Every client writes on whatever head it last heard of: most commits race.
          const ops = [
            { op: '@inc', path: '/n', value: 1 },
            { op: 'add', path: '/log/-', value: `${c}.${i}` },
            { op: '@txt', path: '/t', value: i === 0 ? [{ insert: String(c) }] : [{ retain: 1 }, { insert: String(c) }] },
          ];
          const reply = await commit(client, 'doc', [change(`k${c}-${i}`, head, head === 0 ? [{ op: 'add', path: '/log', value: [] }, ...ops] : ops)]);
          head = reply.changes[reply.changes.length - 1]?.rev ?? head;
        }
      }),
    );
    const history = resultOf<Change[]>(await clients[0].call('getChangesSince', ['doc', 0]));
    expect(history.map((c) => c.rev)).toEqual(history.map((_c, index) => index + 1));
    expect(new Set(history.map((c) => c.id)).size).toBe(clients.length * perClient);
    const head = headOf(resultOf<PatchesSnapshot>(await clients[0].call('getDoc', ['doc']))) as { n: number; log: string[]; t: { ops: Array<{ insert: string }> } };
    expect(head.n).toBe(clients.length * perClient);
    expect(head.log).toHaveLength(clients.length * perClient);
    expect(head.t.ops.map((op) => op.insert).join('')).toHaveLength(clients.length * perClient + 1);
    // Each client heard of every change it did not write, exactly once. (A reply on a socket
    // comes after every notification the server wrote to it before the request arrived.)
    await Promise.all(clients.map((client) => client.call('getDoc', ['doc'])));
    for (const [c, client] of clients.entries()) {
      const heard = client.notifications('changesCommitted').flatMap((n) => (n.params as { changes: Change[] }).changes.map((x) => x.id));
      expect(heard.sort()).toEqual(history.filter((x) => !x.id.startsWith(`k${c}-`)).map((x) => x.id).sort());
    }
  });

  it('should answer an empty commit with no changes', async () => {
    const a = await t.connect();
    expect(await commit(a, 'doc', [])).toEqual({ changes: [] });
  });
});

describe('OTDocService: resent ids older than what it holds in memory', () => {
  /** A memory store that records the rev each `readLog` starts after (an edge: the store is real). */
  class CountingStore extends MemoryServerStore {
    readonly readsAfter: number[] = [];
    override readLog(docId: string, afterRev: number): Promise<LogEntry[]> {
      this.readsAfter.push(afterRev);
      return super.readLog(docId, afterRev);
    }
  }

  const servers: TestServer[] = [];
  afterEach(async () => {
    for (const t of servers.splice(0)) {
      await t.close();
      expect(t.faults).toEqual([]);
    }
  });

  /** Revs 1–4 (c1…c4, snapshot at 3) through one server, then a second server on the same store: nothing in memory. */
  async function reloaded(store: CountingStore): Promise<Awaited<ReturnType<TestServer['connect']>>> {
    const first = await startTestServer({ store, snapshotEvery: 3 });
    const writer = await first.connect();
    for (let rev = 1; rev <= 4; rev++) await commitTo(writer, [change(`c${rev}`, rev - 1, [{ op: 'replace', path: `/k${rev}`, value: rev }])]);
    await first.close();
    const second = await startTestServer({ store, snapshotEvery: 3 });
    servers.push(second);
    store.readsAfter.length = 0;
    return second.connect();
  }

  async function commitTo(client: Awaited<ReturnType<TestServer['connect']>>, changes: unknown[]): Promise<CommitChangesResult> {
    return resultOf<CommitChangesResult>(await client.call('commitChanges', ['doc', changes]));
  }

  for (const uniqueChangeIds of [false, true]) {
    it(`should recognise them after a reload${uniqueChangeIds ? ', told by a store that refuses known ids, never reading the whole log' : ', reading the ids of the whole log once'}`, async () => {
      const store = new CountingStore({ uniqueChangeIds });
      const client = await reloaded(store);
      expect((await commitTo(client, [change('c5', 4, [{ op: 'replace', path: '/k5', value: 5 }])])).changes.map((c) => [c.id, c.rev])).toEqual([['c5', 5]]);
      // The first new id after the load: a store without unique ids makes the server read them all.
      expect(store.readsAfter.includes(0)).toBe(!uniqueChangeIds);

      // c1 (rev 1, before the snapshot) resent on top of rev 5, alone and then beside a new change.
      expect((await commitTo(client, [change('c1', 5, [{ op: 'replace', path: '/k1', value: 1 }])])).changes.map((c) => [c.id, c.rev])).toEqual([['c1', 1]]);
      const both = await commitTo(client, [change('c2', 5, [{ op: 'replace', path: '/k2', value: 2 }]), change('c6', 5, [{ op: 'replace', path: '/k6', value: 6 }], { rev: 7 })]);
      expect(both.changes.map((c) => [c.id, c.rev])).toEqual([['c2', 2], ['c6', 6]]);
      const history = resultOf<Change[]>(await client.call('getChangesSince', ['doc', 0]));
      expect(history.map((c) => [c.id, c.rev])).toEqual([['c1', 1], ['c2', 2], ['c3', 3], ['c4', 4], ['c5', 5], ['c6', 6]]);
    });
  }

  // Found in review, fixed: a loaded doc kept the id of every change ever committed (heap ~10 →
  // ~17 MB over 100,000 commits), and a reload read the whole log at its first new id (~0.4 s).
  it('should remember the latest rememberedChangeIds ids only, reading that much of the log after a reload, and still recognise any resend made after its base', async () => {
    const store = new CountingStore();
    const first = await startTestServer({ store, snapshotEvery: 4, rememberedChangeIds: 3 });
    const writer = await first.connect();
    for (let rev = 1; rev <= 10; rev++) await commitTo(writer, [change(`c${rev}`, rev - 1, [{ op: 'replace', path: `/k${rev}`, value: rev }])]);
    await first.close();
    const second = await startTestServer({ store, snapshotEvery: 4, rememberedChangeIds: 3 });
    servers.push(second);
    const client = await second.connect();
    store.readsAfter.length = 0;
    expect((await commitTo(client, [change('c11', 10, [{ op: 'replace', path: '/k11', value: 11 }])])).changes.map((c) => [c.id, c.rev])).toEqual([['c11', 11]]);
    // The first new id after the load: the last 3 changes are read, not the log from rev 0.
    expect(store.readsAfter).toEqual([7]);
    // A resend within the window, on top of its own committed copy, is recognised from memory.
    expect((await commitTo(client, [change('c10', 11, [{ op: 'replace', path: '/k10', value: 10 }])])).changes.map((c) => [c.id, c.rev])).toEqual([['c10', 10]]);
    // A resend of any age made on the base it was first sent on is in what the commit reads.
    expect((await commitTo(client, [change('c2', 1, [{ op: 'replace', path: '/k2', value: 2 }])])).changes.map((c) => c.id)).toContain('c2');
    const history = resultOf<Change[]>(await client.call('getChangesSince', ['doc', 0]));
    expect(history.map((c) => c.id)).toEqual(['c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7', 'c8', 'c9', 'c10', 'c11']);
  });

  // Found in review, fixed: only memory was asked, so a resend older than the window was moved
  // onto the head and committed again under its id.
  it('should recognise a resent edit made at baseRev 0 before the client loaded the doc, older than rememberedChangeIds, after more commits and after a reload', async () => {
    const store = new CountingStore();
    const offline = () => change('offline', 0, [{ op: 'replace', path: '/o', value: 1 }]);
    const expectCommittedOnce = async (client: Awaited<ReturnType<TestServer['connect']>>) => {
      const reply = await commitTo(client, [offline()]);
      expect(reply.changes.filter((c) => c.id === 'offline').map((c) => c.rev)).toEqual([2]);
      expect(reply.docReloadRequired).toBeUndefined();
      const history = resultOf<Change[]>(await client.call('getChangesSince', ['doc', 0]));
      expect(history.map((c) => c.id)).toEqual(['c1', 'offline', 'c3', 'c4', 'c5', 'c6', 'c7', 'c8', 'c9', 'c10']);
    };
    const first = await startTestServer({ store, snapshotEvery: 4, rememberedChangeIds: 3 });
    servers.push(first);
    const writer = await first.connect();
    await commitTo(writer, [change('c1', 0, [{ op: 'add', path: '', value: {} }])]);
    // Edited before the client loaded the doc: committed on the head, the client told to reload.
    expect(await commitTo(writer, [offline()])).toEqual({ changes: [expect.objectContaining({ id: 'offline', rev: 2 })], docReloadRequired: true });
    for (let rev = 3; rev <= 10; rev++) await commitTo(writer, [change(`c${rev}`, rev - 1, [{ op: 'replace', path: `/k${rev}`, value: rev }])]);
    await expectCommittedOnce(writer);
    await first.close();

    const second = await startTestServer({ store, snapshotEvery: 4, rememberedChangeIds: 3 });
    servers.push(second);
    await expectCommittedOnce(await second.connect());
  });

  it('should recognise a resent batch of more old ids than rememberedChangeIds, told by a store that refuses known ids', async () => {
    const store = new CountingStore({ uniqueChangeIds: true });
    const first = await startTestServer({ store, snapshotEvery: 2, rememberedChangeIds: 1 });
    servers.push(first);
    const writer = await first.connect();
    for (let rev = 1; rev <= 6; rev++) await commitTo(writer, [change(`c${rev}`, rev - 1, [{ op: 'replace', path: `/k${rev}`, value: rev }])]);
    // c1 and c2 resent on top of rev 6 beside a new change: the store names both, and both stay known for the retry.
    const resent = [1, 2].map((rev, i) => change(`c${rev}`, 6, [{ op: 'replace', path: `/k${rev}`, value: rev }], { rev: 7 + i }));
    const reply = await commitTo(writer, [...resent, change('c7', 6, [{ op: 'replace', path: '/k7', value: 7 }], { rev: 9 })]);
    expect(reply.changes.map((c) => [c.id, c.rev])).toEqual([['c1', 1], ['c2', 2], ['c7', 7]]);
    const history = resultOf<Change[]>(await writer.call('getChangesSince', ['doc', 0]));
    expect(history.map((c) => c.id)).toEqual(['c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7']);
  });

  it('should resume an upload at baseRev 0 after a reload without repeating its committed rows, with a store that refuses known ids', async () => {
    const store = new CountingStore({ uniqueChangeIds: true });
    const first = await startTestServer({ store, snapshotEvery: 2 });
    const a = await first.connect();
    const batch1 = [change('u1', 0, [{ op: 'replace', path: '', value: { list: [] } }], { batchId: 'u1' }), change('u2', 0, [{ op: 'add', path: '/list/-', value: 1 }], { rev: 2, batchId: 'u1' })];
    await commitTo(a, batch1);
    await commitTo(a, [change('x', 2, [{ op: 'add', path: '/list/-', value: 'x' }])]);
    await first.close();
    const second = await startTestServer({ store, snapshotEvery: 2 });
    servers.push(second);
    const again = await second.connect();
    // The whole upload again (its first answer lost), with its next part.
    const reply = await commitTo(again, [...batch1, change('u3', 0, [{ op: 'add', path: '/list/-', value: 2 }], { rev: 3, batchId: 'u1' })]);
    expect(reply.changes.map((c) => c.id)).toEqual(['u1', 'u2', 'x', 'u3']);
    expect(headOf(resultOf<PatchesSnapshot>(await again.call('getDoc', ['doc'])))).toEqual({ list: [1, 'x', 2] });
  });
});

describe('OTDocService: a commit whose transform passes maxTransformWork', () => {
  /** `count` inserts of `value` at the head of `/l`: two such changes at one base meet count² times. */
  const inserts = (count: number, value: string) => Array.from({ length: count }, () => ({ op: 'add', path: '/l/0', value }));
  const servers: TestServer[] = [];
  afterEach(async () => {
    for (const t of servers.splice(0)) {
      await t.close();
      expect(t.faults).toEqual([]);
    }
  });

  /** A server with `maxTransformWork`, a writer, and doc `d` at rev 2: `/l` made at rev 1, 40 inserts into it at rev 2. */
  async function busyDoc(maxTransformWork: number | undefined) {
    const t = await startTestServer({ maxTransformWork });
    servers.push(t);
    const [writer, other, follower] = await Promise.all([t.connect(), t.connect(), t.connect()]);
    resultOf(await writer.call('commitChanges', ['d', [change('s', 0, [{ op: 'add', path: '/l', value: [] }])]]));
    resultOf(await writer.call('commitChanges', ['d', [change('h', 1, inserts(40, 'h'))]]));
    resultOf(await follower.call('subscribe', [['d']]));
    return { t, other, follower };
  }

  it('should refuse it with exactly 409 { scope: "doc", headRev }, keeping and telling nothing, and commit it resent on the head', async () => {
    const { t, other, follower } = await busyDoc(1000);
    // 40 inserts at baseRev 1 meet the 40 committed since: 1,600 op pairs, past 1,000.
    const far = change('x', 1, inserts(40, 'x'));
    const refused = await other.call('commitChanges', ['d', [far]]);
    expect(refused).toEqual({
      jsonrpc: '2.0',
      id: expect.any(Number),
      error: { code: 409, message: expect.stringMatching(/^TOO_FAR_BEHIND: change x at baseRev 1 /), data: { scope: 'doc', headRev: 2 } },
    });
    expect(t.server.stats.commitsTooFarBehind).toBe(1);
    expect(resultOf<Change[]>(await other.call('getChangesSince', ['d', 0])).map((c) => c.id)).toEqual(['s', 'h']);
    // Fewer ops at the same base pay less (20 × 40): the bound is on the work, not on how far behind.
    const near = await other.call('commitChanges', ['d', [change('y', 1, inserts(20, 'y'))]]);
    expect(resultOf<CommitChangesResult>(near).changes.map((c) => [c.id, c.rev])).toEqual([['h', 2], ['y', 3]]);
    // Resent on the head (rebased by its client), the same change meets nothing.
    const resent = resultOf<CommitChangesResult>(await other.call('commitChanges', ['d', [change('x', 3, inserts(40, 'x'))]]));
    expect(resent.changes.map((c) => [c.id, c.rev])).toEqual([['x', 4]]);
    // The follower heard y and x, committed once each: nothing of the refused commit.
    await follower.next((frame) => JSON.stringify(frame).includes('"id":"x"'));
    const heard = follower.notifications('changesCommitted').flatMap((n) => (n.params as { changes: Change[] }).changes.map((c) => [c.id, c.rev]));
    expect(heard).toEqual([['y', 3], ['x', 4]]);
    expect(t.server.stats.commitsTooFarBehind).toBe(1);
  });

  it('should answer a resend of changes all committed already with their copies, however much its walk would cost', async () => {
    const { t, other } = await busyDoc(1000);
    // Written before its client loaded the doc: committed verbatim on the head, its client told to reload.
    const upload = change('u', 0, inserts(40, 'u'));
    expect(resultOf<CommitChangesResult>(await other.call('commitChanges', ['d', [upload]]))).toEqual({
      changes: [expect.objectContaining({ id: 'u', rev: 3 })],
      docReloadRequired: true,
    });
    // Its answer lost, it comes again at baseRev 0: walked from rev 0 it would meet h's 40 inserts (1,600 pairs).
    const again = resultOf<CommitChangesResult>(await other.call('commitChanges', ['d', [upload]]));
    expect(again.changes.map((c) => [c.id, c.rev])).toEqual([['s', 1], ['h', 2], ['u', 3]]);
    expect(again.docReloadRequired).toBeUndefined();
    expect(t.server.stats).toMatchObject({ commitsTooFarBehind: 0, duplicateChanges: 1 });
    expect(resultOf<Change[]>(await other.call('getChangesSince', ['d', 0])).map((c) => c.id)).toEqual(['s', 'h', 'u']);
  });

  it('should transform it as before with the bound off (Infinity), and bound it by default at MAX_TRANSFORM_WORK', async () => {
    expect(MAX_TRANSFORM_WORK).toBe(1_000_000);
    const { t, other } = await busyDoc(Infinity);
    const far = change('x', 1, inserts(40, 'x'));
    const committed = resultOf<CommitChangesResult>(await other.call('commitChanges', ['d', [far]])).changes;
    const history = resultOf<Change[]>(await other.call('getChangesSince', ['d', 0]));
    const expected = transformIncomingChanges([history[1]], [{ ...far, rev: 2, baseRev: 1 } as Change], () => false);
    expect(committed.map((c) => [c.id, c.rev])).toEqual([['h', 2], ['x', 3]]);
    expect(committed[1].ops).toEqual(expected[0].ops);
    expect(t.server.stats.commitsTooFarBehind).toBe(0);
  });

  it('should refuse to start with a bound that is not a positive number', async () => {
    for (const maxTransformWork of [0, -1, Number.NaN]) {
      await expect(startServer({ port: 0, maxTransformWork })).rejects.toThrow(RangeError);
    }
  });
});
