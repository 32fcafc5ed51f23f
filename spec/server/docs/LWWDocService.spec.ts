import fc from 'fast-check';
import type { Change, CommitChangesResult, JSONPatchOp, PatchesSnapshot } from '../../../src/types.js';
import { LWWDocService } from '../../../src/server/docs/LWWDocService.js';
import { MemoryServerStore } from '../../../src/server/stores/MemoryServerStore.js';
import type { LogEntry } from '../../../src/server/stores/ServerStore.js';
import { KeyedQueue } from '../../../src/util/KeyedQueue.js';
import { applyPatch } from '../../../src/algorithms/applyPatch.js';
import { change, errorOf, resultOf, startTestServer } from '../../helpers/testServer.js';
import type { TestServer } from '../../helpers/testServer.js';
import type { WsTestClient } from '../../helpers/wsClient.js';

describe('LWWDocService (over real sockets)', () => {
  let t: TestServer;
  let clock: number;
  beforeEach(async () => {
    clock = 10_000;
    t = await startTestServer({ now: () => clock });
  });
  afterEach(async () => {
    await t.close();
    expect(t.faults).toEqual([]);
  });

  async function commit(client: WsTestClient, docId: string, changes: unknown[]): Promise<Change> {
    const { changes: reply } = resultOf<CommitChangesResult>(await client.call('commitChanges', [docId, changes]));
    expect(reply).toHaveLength(1);
    return reply[0];
  }

  it('should open a new LWW document as an empty object at rev 0', async () => {
    const a = await t.connect();
    expect(resultOf(await a.call('getDoc', ['lww-new']))).toEqual({ state: {}, rev: 0, changes: [] });
    expect(resultOf(await a.call('getChangesSince', ['lww-new', 0]))).toEqual([]);
  });

  it('should store concrete rows, echo them with ts and rev, and broadcast them from the previous rev', async () => {
    const a = await t.connect();
    const b = await t.connect();
    await a.call('subscribe', [['lww-doc']]);
    await b.call('subscribe', [['lww-doc']]);
    const first = await commit(a, 'lww-doc', [change('w1', 0, [{ op: 'replace', path: '/name', value: 'alice', ts: 9000 }, { op: '@inc', path: '/clicks', value: 3, ts: 9000 }])]);
    expect(first).toEqual({
      id: 'w1',
      baseRev: 0,
      rev: 1,
      ops: [
        { op: 'replace', path: '/name', value: 'alice', ts: 9000, rev: 1 },
        { op: 'replace', path: '/clicks', value: 3, ts: 9000, rev: 1 },
      ],
      createdAt: 10_000,
      committedAt: 10_000,
    });
    const notified = (await b.notification('changesCommitted', 'lww-doc')).params as { changes: Change[] };
    expect(notified.changes).toEqual([{ ...first, baseRev: 0 }]);

    // B wrote from rev 0: its reply also carries what it missed, and the combined counter.
    clock += 5;
    const second = await commit(b, 'lww-doc', [change('w2', 0, [{ op: 'replace', path: '/name', value: 'bob', ts: 10_001 }, { op: '@inc', path: '/clicks', value: 2, ts: 10_001 }])]);
    expect(second.rev).toBe(2);
    expect(second.ops).toEqual([
      { op: 'replace', path: '/name', value: 'bob', ts: 10_001, rev: 2 },
      { op: 'replace', path: '/clicks', value: 5, ts: 10_001, rev: 2 },
    ]);
    const toA = (await a.notification('changesCommitted', 'lww-doc')).params as { changes: Change[] };
    expect(toA.changes[0]).toMatchObject({ id: 'w2', baseRev: 1, rev: 2 });
  });

  it('should not apply an @inc twice when a change is resent after a lost response', async () => {
    const a = await t.connect();
    const inc = change('inc', 0, [{ op: '@inc', path: '/n', value: 4, ts: 9000 }]);
    const first = await commit(a, 'lww-doc', [inc]);
    const again = await commit(a, 'lww-doc', [inc]);
    expect(again.ops).toEqual(first.ops);
    expect(again.rev).toBe(1);
    const envelope = resultOf<PatchesSnapshot>(await a.call('getDoc', ['lww-doc']));
    expect(envelope.changes[0].ops).toEqual([{ op: 'replace', path: '/n', value: 4, ts: 9000, rev: 1 }]);
    expect(t.server.stats.duplicateChanges).toBe(1);
  });

  it('should clamp op timestamps to the server clock, so a future clock cannot win forever', async () => {
    const a = await t.connect();
    const future = await commit(a, 'lww-doc', [change('f', 0, [{ op: 'replace', path: '/x', value: 'from the future', ts: 99_999_999 }])]);
    expect(future.ops[0].ts).toBe(10_000);
    clock += 1;
    const later = await commit(a, 'lww-doc', [change('l', 1, [{ op: 'replace', path: '/x', value: 'later', ts: 10_001 }])]);
    expect(later.ops).toEqual([{ op: 'replace', path: '/x', value: 'later', ts: 10_001, rev: 2 }]);
  });

  it('should answer an older write with the newer stored row, without a new rev or a broadcast', async () => {
    const a = await t.connect();
    const b = await t.connect();
    await b.call('subscribe', [['lww-doc']]);
    await commit(a, 'lww-doc', [change('new', 0, [{ op: 'replace', path: '/x', value: 'new', ts: 9000 }])]);
    await b.notification('changesCommitted', 'lww-doc');
    const stale = await commit(a, 'lww-doc', [change('old', 1, [{ op: 'replace', path: '/x', value: 'old', ts: 8000 }])]);
    expect(stale).toMatchObject({ id: 'old', baseRev: 1, rev: 1, ops: [{ op: 'replace', path: '/x', value: 'new', ts: 9000, rev: 1 }] });
    // B's next reply proves no broadcast was queued before it.
    await b.call('getDoc', ['lww-doc']);
    expect(b.notifications('changesCommitted')).toHaveLength(1);
  });

  it('should hand out changes since a rev as one synthesised change', async () => {
    const a = await t.connect();
    await commit(a, 'lww-doc', [change('c1', 0, [{ op: 'replace', path: '/a', value: 1, ts: 1 }])]);
    await commit(a, 'lww-doc', [change('c2', 1, [{ op: 'replace', path: '/b', value: 2, ts: 2 }])]);
    const since1 = resultOf<Change[]>(await a.call('getChangesSince', ['lww-doc', 1]));
    expect(since1).toEqual([{ id: expect.stringMatching(/^2/), baseRev: 1, rev: 2, ops: [{ op: 'replace', path: '/b', value: 2, ts: 2, rev: 2 }], createdAt: 10_000, committedAt: 2 }]);
    expect(resultOf(await a.call('getChangesSince', ['lww-doc', 2]))).toEqual([]);
    const envelope = resultOf<PatchesSnapshot>(await a.call('getDoc', ['lww-doc']));
    expect(envelope).toMatchObject({ state: {}, rev: 2, changes: [{ baseRev: 0, rev: 2 }] });
    expect(envelope.changes[0].ops.map((op) => op.path)).toEqual(['/a', '/b']);
  });

  it('should replace the children of a path a newer parent write overwrites', async () => {
    const a = await t.connect();
    await commit(a, 'lww-doc', [change('c1', 0, [{ op: 'replace', path: '/prefs/a', value: true, ts: 1 }, { op: 'replace', path: '/prefs/b', value: true, ts: 1 }])]);
    const parent = await commit(a, 'lww-doc', [change('c2', 1, [{ op: 'replace', path: '/prefs', value: { c: true }, ts: 2 }])]);
    expect(parent.ops).toEqual([{ op: 'replace', path: '/prefs', value: { c: true }, ts: 2, rev: 2 }]);
    const envelope = resultOf<PatchesSnapshot>(await a.call('getDoc', ['lww-doc']));
    expect(envelope.changes[0].ops.map((op) => op.path)).toEqual(['/prefs']);
  });

  it('should hand out a parent before its child when both rows have one rev and one timestamp', async () => {
    // The child's row is older than the parent's: a change that writes both at once (no op ts, so
    // both take its createdAt) leaves the child first in the order rows were first stored.
    const a = await t.connect();
    const b = await t.connect();
    await commit(a, 'lww-doc', [change('c1', 0, [{ op: 'replace', path: '/a/b', value: 1, ts: 1 }])]);
    await b.call('subscribe', [['lww-doc']]);
    const both = await commit(a, 'lww-doc', [{ ...change('c2', 1, [{ op: 'replace', path: '/a', value: {} }, { op: 'replace', path: '/a/b', value: 2 }]), createdAt: 5 }]);
    const head = { a: { b: 2 } };
    const broadcast = (await b.notification('changesCommitted', 'lww-doc')).params as { changes: Change[] };
    const envelope = resultOf<PatchesSnapshot>(await a.call('getDoc', ['lww-doc']));
    const since1 = resultOf<Change[]>(await a.call('getChangesSince', ['lww-doc', 1]));
    // Each, applied in order as a client applies them, gives the head.
    expect(applyPatch({ a: { b: 1 } }, both.ops, { mode: 'lenient' })).toEqual(head);
    expect(applyPatch({ a: { b: 1 } }, broadcast.changes[0].ops, { mode: 'lenient' })).toEqual(head);
    expect(applyPatch({}, envelope.changes[0].ops, { mode: 'lenient' })).toEqual(head);
    expect(applyPatch({ a: { b: 1 } }, since1[0].ops, { mode: 'lenient' })).toEqual(head);
  });

  // Found in review (an end-to-end random LWW run, seed 124): an object that only a field's row
  // made (its own row a removal, older than the field's) vanished from the rows once the field was
  // removed, while every client that had applied the broadcasts kept it, empty: a client loading
  // the doc afresh, or catching up from an older rev, showed a different document.
  it.each([
    ['no row of its own', [{ op: 'replace', path: '/o/a', value: 1, ts: 2 }]],
    ['a removal older than the field', [{ op: 'replace', path: '/o', value: { x: 1 }, ts: 1 }, { op: 'remove', path: '/o', ts: 2 }, { op: 'replace', path: '/o/a', value: { b: 1 }, ts: 3 }]],
  ])('should keep an object made by a field once the field is removed (%s)', async (_, writes) => {
    const a = await t.connect();
    const b = await t.connect();
    await b.call('subscribe', [['lww-doc']]);
    const applied: Change[] = [];
    let rev = 0;
    for (const op of writes) {
      await commit(a, 'lww-doc', [change(`w${rev}`, rev, [op])]);
      applied.push(...((await b.notification('changesCommitted', 'lww-doc')).params as { changes: Change[] }).changes);
      rev++;
    }
    const before = resultOf<Change[]>(await a.call('getChangesSince', ['lww-doc', 0]));
    await commit(a, 'lww-doc', [change('rm', rev, [{ op: 'remove', path: '/o/a', ts: 9 }])]);
    applied.push(...((await b.notification('changesCommitted', 'lww-doc')).params as { changes: Change[] }).changes);
    const followed = applyPatch({}, applied.flatMap((c) => c.ops), { mode: 'lenient' });
    expect(followed).toEqual({ o: {} });
    const envelope = resultOf<PatchesSnapshot>(await a.call('getDoc', ['lww-doc']));
    expect(applyPatch({}, envelope.changes.flatMap((c) => c.ops), { mode: 'lenient' })).toEqual(followed);
    const caughtUp = applyPatch({}, before[0].ops, { mode: 'lenient' });
    const since = resultOf<Change[]>(await a.call('getChangesSince', ['lww-doc', rev]));
    expect(applyPatch(caughtUp, since.flatMap((c) => c.ops), { mode: 'lenient' })).toEqual(followed);
  });

  // Found in review (a follower property added to lwwConvergence.spec): an older soft write that
  // arrived after a newer one took the row (the older of two soft writes won), but it went out as
  // the soft write it was, which every client holding the newer value skipped: they kept it, while
  // a client loading the doc read the older.
  it('should give a client that applied the broadcasts the value a client loading the doc reads, when two soft writes meet', async () => {
    const a = await t.connect();
    const b = await t.connect();
    await b.call('subscribe', [['lww-doc']]);
    const applied: Change[] = [];
    await commit(a, 'lww-doc', [change('newer', 0, [{ op: 'replace', path: '/theme', value: 'dark', soft: true, ts: 5 }])]);
    applied.push(...((await b.notification('changesCommitted', 'lww-doc')).params as { changes: Change[] }).changes);
    const older = await commit(a, 'lww-doc', [change('older', 1, [{ op: 'replace', path: '/theme', value: 'light', soft: true, ts: 3 }])]);
    if (older.rev > 1) applied.push(...((await b.notification('changesCommitted', 'lww-doc')).params as { changes: Change[] }).changes);
    const followed = applyPatch({}, applied.flatMap((c) => c.ops), { mode: 'lenient' });
    const envelope = resultOf<PatchesSnapshot>(await a.call('getDoc', ['lww-doc']));
    expect(applyPatch({}, envelope.changes.flatMap((c) => c.ops), { mode: 'lenient' })).toEqual(followed);
    expect(applyPatch({ theme: 'dark' }, older.ops, { mode: 'lenient' })).toEqual(followed);
  });

  it('should hand out a doc of more rows than a call may take as arguments', async () => {
    const a = await t.connect();
    const fields = 150_000;
    for (let start = 0, rev = 0; start < fields; start += 10_000, rev++) {
      const ops = Array.from({ length: 10_000 }, (_, i) => ({ op: 'replace', path: `/b${(start + i) % 100}/f${start + i}`, value: 1, ts: 1 }));
      await commit(a, 'lww-doc', [change(`c${rev}`, rev, ops)]);
    }
    const envelope = resultOf<PatchesSnapshot>(await a.call('getDoc', ['lww-doc']));
    expect(envelope.changes[0]).toMatchObject({ rev: 15, committedAt: 1 });
    expect(envelope.changes[0].ops).toHaveLength(fields);
    expect(resultOf<Change[]>(await a.call('getChangesSince', ['lww-doc', 0]))[0].ops).toHaveLength(fields);
  }, 30_000);

  it('should refuse ops without an LWW meaning or with bad operands (400 scope change)', async () => {
    const a = await t.connect();
    for (const op of [
      { op: 'move', from: '/a', path: '/b' },
      { op: '@inc', path: '/n', value: 'one' },
      { op: '@max', path: '/n', value: { big: true } },
    ]) {
      expect(errorOf(await a.call('commitChanges', ['lww-doc', [change('bad', 0, [op as never])]]))).toMatchObject({ code: 400, data: { changeId: 'bad', scope: 'change' } });
    }
    expect(resultOf(await a.call('getDoc', ['lww-doc']))).toEqual({ state: {}, rev: 0, changes: [] });
  });

  it('should snapshot a big doc more rarely, so a snapshot costs a commit about 50 rows or ids at most', async () => {
    await t.close();
    t = await startTestServer({ now: () => clock, snapshotEvery: 2 });
    const a = await t.connect();
    const fields = Array.from({ length: 300 }, (_, i) => ({ op: 'replace', path: `/f${i}`, value: i, ts: 1 }));
    await commit(a, 'lww-doc', [change('big', 0, fields)]);
    // 301 rows and the ids remembered: due once ceil((301 + 7) / 50) = 7 commits are past, not 2.
    for (let i = 1; i <= 5; i++) await commit(a, 'lww-doc', [change(`c${i}`, i, [{ op: 'replace', path: '/n', value: i, ts: 2 + i }])]);
    expect(t.server.stats.snapshots).toBe(0);
    await commit(a, 'lww-doc', [change('c6', 6, [{ op: 'replace', path: '/n', value: 6, ts: 8 }])]);
    expect(t.server.stats.snapshots).toBe(1);
  });

  it('should keep rows and retry dedup across snapshots', async () => {
    await t.close();
    t = await startTestServer({ now: () => clock, snapshotEvery: 2 });
    const a = await t.connect();
    for (let i = 1; i <= 5; i++) await commit(a, 'lww-doc', [change(`c${i}`, i - 1, [{ op: '@inc', path: '/n', value: 1, ts: i }])]);
    expect(t.server.stats.snapshots).toBe(2);
    expect((await commit(a, 'lww-doc', [change('c1', 5, [{ op: '@inc', path: '/n', value: 1, ts: 1 }])])).ops).toEqual([
      { op: 'replace', path: '/n', value: 5, ts: 5, rev: 5 },
    ]);
  });
});

/** `count` writes of new values of fields spread over 100 bucket objects (as bench/lwwStall.js lays them out). */
function fieldWrites(count: number, value: number, ts: number): JSONPatchOp[] {
  return Array.from({ length: count }, (_, k) => ({ op: 'replace', path: `/b${k % 100}/f${k}`, value, ts }));
}

describe('LWWDocService, a long commit on the real server', () => {
  it("should answer another doc's request and a read of its own doc between its slices, keep the doc's next commit behind it, and store it whole", async () => {
    // A commit of 12,000 ops over a doc of 12,000 fields resolves for ~0.1-0.3 s before the store
    // has it. Its first read of the clock says it has begun: then another client asks for another
    // doc and for this one, and a third commits to this doc. Both reads must be answered before the
    // long commit is written to the store (before, it held the event loop from start to end), the
    // read of its own doc as it was before the commit.
    let started: (() => void) | undefined;
    const order: string[] = [];
    class SignallingStore extends MemoryServerStore {
      override async append(docId: string, entry: LogEntry): Promise<void> {
        if (entry.kind === 'lww' && entry.changeIds.includes('long')) order.push('long commit written');
        return super.append(docId, entry);
      }
    }
    const now = () => {
      const start = started;
      started = undefined;
      start?.();
      return 50_000;
    };
    const test = await startTestServer({ store: new SignallingStore(), now });
    try {
      const [writer, bystander, follower] = await Promise.all([test.connect(), test.connect(), test.connect()]);
      resultOf(await writer.call('commitChanges', ['lww-long', [change('first', 0, fieldWrites(12_000, 1, 10))]]));
      resultOf(await writer.call('commitChanges', ['lww-long', [change('second', 1, [{ op: 'replace', path: '/x', value: 2, ts: 10 }])]]));
      resultOf(await bystander.call('commitChanges', ['lww-small', [change('o', 0, [{ op: 'replace', path: '/x', value: 1, ts: 10 }])]]));

      const noted = <T>(label: string, reply: Promise<T>): Promise<T> => reply.then((value) => (order.push(label), value));
      const during = new Promise<Record<string, unknown>[]>((resolve) => {
        started = () => {
          resolve(Promise.all([
            noted('other doc', bystander.call('getDoc', ['lww-small'])),
            noted('own doc', bystander.call('getDoc', ['lww-long'])),
            follower.call('commitChanges', ['lww-long', [change('next', 2, [{ op: 'replace', path: '/y', value: 3, ts: 20 }])]]),
          ]));
        };
      });
      const long = resultOf<CommitChangesResult>(await writer.call('commitChanges', ['lww-long', [change('long', 2, fieldWrites(12_000, 2, 20))]]));
      const [other, own, next] = await during;

      expect(order).toEqual(['other doc', 'own doc', 'long commit written']);
      expect(resultOf<PatchesSnapshot>(other).rev).toBe(1);
      // Its own doc as before the commit: rev 2, every field still 1.
      const before = resultOf<PatchesSnapshot>(own);
      expect(before.rev).toBe(2);
      expect(before.changes[0].ops.filter((op) => op.value === 2)).toEqual([{ op: 'replace', path: '/x', value: 2, ts: 10, rev: 2 }]);
      // Stored whole at rev 3, every field written; the doc's next commit came after it and was sent its rows.
      expect(long.changes[0].rev).toBe(3);
      expect(long.changes[0].ops).toHaveLength(12_000);
      expect(long.changes[0].ops.every((op) => op.value === 2 && op.rev === 3)).toBe(true);
      const later = resultOf<CommitChangesResult>(next).changes[0];
      expect(later.rev).toBe(4);
      expect(later.ops.filter((op) => op.rev === 3)).toHaveLength(12_000);
      const after = resultOf<PatchesSnapshot>(await bystander.call('getDoc', ['lww-long']));
      expect(after.rev).toBe(4);
      expect(after.changes[0].ops.filter((op) => op.rev === 3)).toHaveLength(12_000);
      expect(test.faults).toEqual([]);
    } finally {
      await test.close();
    }
  }, 60_000);
});

describe('LWWDocService, sliced or at once', () => {
  interface Run {
    service: LWWDocService;
    appended: { docId: string; entry: LogEntry }[];
    announced: { docId: string; method: string; params: unknown }[];
  }

  /** A service over a memory store whose appends are noted, its commits run in slices of `sliceMs`. */
  function run(sliceMs: number): Run {
    const appended: Run['appended'] = [];
    const announced: Run['announced'] = [];
    class NotingStore extends MemoryServerStore {
      override async append(docId: string, entry: LogEntry): Promise<void> {
        appended.push({ docId, entry: structuredClone(entry) });
        return super.append(docId, entry);
      }
    }
    const service = new LWWDocService({
      store: new NotingStore(),
      lock: new KeyedQueue(),
      now: () => 50_000,
      snapshotEvery: 3,
      cacheSize: 10,
      announce: (docId, method, params) => announced.push(structuredClone({ docId, method, params })),
      stats: { commits: 0, changesCommitted: 0, duplicateChanges: 0, changesDropped: 0, commitsTooFarBehind: 0, snapshots: 0 },
      onError: (error) => {
        throw error;
      },
      sliceMs,
    });
    return { service, appended, announced };
  }

  /** A path among few, so writes meet: a field, its bucket, or a top-level key. */
  const path = fc.oneof(
    fc.tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 30 })).map(([b, f]) => `/b${b}/f${f}`),
    fc.integer({ min: 0, max: 4 }).map((b) => `/b${b}`),
    fc.constantFrom('/x', '/y'),
  );
  const op: fc.Arbitrary<JSONPatchOp> = fc.record({
    kind: fc.constantFrom('replace', 'replace', 'remove', '@inc', '@max', 'add', 'soft'),
    path,
    n: fc.integer({ min: -5, max: 5 }),
    ts: fc.integer({ min: 40_000, max: 60_000 }),
  }).map(({ kind, path, n, ts }): JSONPatchOp => {
    if (kind === 'remove') return { op: 'remove', path, ts };
    if (kind === 'add') return { op: 'add', path, value: {}, ts };
    if (kind === 'soft') return { op: 'replace', path, value: { f0: n }, soft: true, ts };
    if (kind === '@inc' || kind === '@max') return { op: kind, path, value: n, ts };
    return { op: 'replace', path, value: n % 2 ? n : { f1: n }, ts };
  });
  /** A commit: to one of two docs, 1-3 changes of up to 60 ops (an id may be one sent before), maybe by a caller that may not read. */
  const commit = fc.record({
    docId: fc.constantFrom('d', 'd', 'e'),
    changes: fc.array(fc.record({ id: fc.integer({ min: 0, max: 40 }).map((i) => `c${i}`), ops: fc.array(op, { minLength: 1, maxLength: 60 }) }), { minLength: 1, maxLength: 3 }),
    base: fc.nat(),
    mayRead: fc.boolean(),
    readAfterTurns: fc.option(fc.integer({ min: 0, max: 60 }), { nil: undefined }),
  });

  /** Resolves after `turns` turns of the event loop. */
  const afterTurns = async (turns: number): Promise<void> => {
    for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  };
  /** What a call answered: its result or its error's message. */
  const settled = <T>(call: Promise<T>): Promise<T | string> => call.catch((error: Error) => `${error.name}: ${error.message}`);
  /** A snapshot without its synthesised change's fresh id. */
  const shown = (snapshot: PatchesSnapshot) => ({ rev: snapshot.rev, ops: snapshot.changes.map((c) => c.ops) });

  it('should commit random LWW commits in slices as at once: the same replies, stored entries and broadcasts, reads meanwhile seeing a committed rev', async () => {
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.array(commit, { minLength: 1, maxLength: 12 }), async (seeded, commits) => {
        // A seed of 1,500 fields makes every part of the work take many steps.
        const calls = [...(seeded ? [{ docId: 'd', changes: [{ id: 'seed', ops: fieldWrites(1_500, 7, 45_000) }], base: 0, mayRead: true, readAfterTurns: 5 }] : []), ...commits];
        const input = (i: number) => {
          const { changes, base } = calls[i];
          return changes.map((c) => ({ ...c, ops: structuredClone(c.ops), baseRev: base % (i + 1), createdAt: 45_000 }));
        };

        // At once, one call after another, the doc read after each commit: its state at each rev.
        const atOnce = run(Infinity);
        const states = new Map<string, ReturnType<typeof shown>>();
        const expected: unknown[] = [];
        for (let i = 0; i < calls.length; i++) {
          const { docId, mayRead } = calls[i];
          expected.push(await settled(atOnce.service.commitChanges(docId, input(i), { connectionId: 'c', mayRead })));
          const state = shown(await atOnce.service.getDoc(docId));
          states.set(`${docId}@${state.rev}`, state);
        }

        // In slices of 0 ms (a turn of the event loop after every step), every call sent at once, reads between them.
        const sliced = run(0);
        const replies = calls.map(({ docId, mayRead }, i) => settled(sliced.service.commitChanges(docId, input(i), { connectionId: 'c', mayRead })));
        const reads = calls.flatMap(({ docId, readAfterTurns }) =>
          readAfterTurns === undefined ? [] : [afterTurns(readAfterTurns).then(async () => ({ docId, read: shown(await sliced.service.getDoc(docId)) }))],
        );
        expect(await Promise.all(replies)).toEqual(expected);
        // A read between the slices sees the doc as at a rev committed (as at once after that commit), never a commit half done.
        for (const { docId, read } of await Promise.all(reads)) expect(read).toEqual(read.rev === 0 ? { rev: 0, ops: [] } : states.get(`${docId}@${read.rev}`));
        const since = async (service: LWWDocService, docId: string) => (await service.getChangesSince(docId, 0)).map((c) => [c.rev, c.ops]);
        for (const docId of ['d', 'e']) {
          // Each doc's in the same order (the two docs' commits interleave otherwise when sent at once).
          expect(sliced.appended.filter((a) => a.docId === docId)).toEqual(atOnce.appended.filter((a) => a.docId === docId));
          expect(sliced.announced.filter((a) => a.docId === docId)).toEqual(atOnce.announced.filter((a) => a.docId === docId));
          expect(shown(await sliced.service.getDoc(docId))).toEqual(shown(await atOnce.service.getDoc(docId)));
          expect(await since(sliced.service, docId)).toEqual(await since(atOnce.service, docId));
        }
      }),
      { numRuns: 60 },
    );
  }, 120_000);
});
