import { compactReply, wantsCompactAck } from '../../src/server/compactAck.js';
import type { IncomingChange } from '../../src/server/validate.js';
import type { Change } from '../../src/types.js';
import { change, resultOf, startTestServer, type TestServer } from '../helpers/testServer.js';

const sent = (id: string, extra: Partial<IncomingChange> = {}): IncomingChange => ({ id, baseRev: 3, rev: 4, ops: [{ op: 'replace', path: '/a', value: id }], createdAt: 100, committedAt: 0, ...extra }) as IncomingChange;
const committed = (c: IncomingChange, rev: number, extra: Partial<Change> = {}): Change => ({ ...(c as Change), rev, committedAt: 500, clientId: 'conn-1', ...extra }) as Change;

describe('compactReply', () => {
  it('should acknowledge by id an own change committed exactly as sent, and keep the others in full', () => {
    const mine = sent('mine');
    const foreign: Change = { id: 'theirs', baseRev: 3, rev: 4, ops: [{ op: 'add', path: '/b', value: 1 }], createdAt: 1, committedAt: 2 };
    const reply = compactReply({ changes: [foreign, committed(mine, 5)] }, [mine]);
    expect(reply).toEqual({ changes: [foreign, { id: 'mine', rev: 5, committedAt: 500 }] });
  });

  it('should keep in full an own change the server transformed, re-based or clamped', () => {
    const [a, b, c] = [sent('a'), sent('b'), sent('c', { createdAt: 9e15 })];
    const transformed = committed(a, 5, { ops: [{ op: 'replace', path: '/a', value: 'other' }] });
    const rebased = committed(b, 6, { baseRev: 5 });
    const clamped = committed(c, 7, { createdAt: 600 });
    const reply = compactReply({ changes: [transformed, rebased, clamped], docReloadRequired: true }, [a, b, c]);
    expect(reply).toEqual({ changes: [transformed, rebased, clamped], docReloadRequired: true });
  });

  it('should leave a dropped change absent and keep the reload flag beside acks', () => {
    const [a, b] = [sent('a'), sent('b')];
    expect(compactReply({ changes: [committed(b, 4)], docReloadRequired: true }, [a, b])).toEqual({ changes: [{ id: 'b', rev: 4, committedAt: 500 }], docReloadRequired: true });
  });

  it('should, for LWW, list by index the sent ops stored as sent and keep every other row', () => {
    const lww = sent('l', { ops: [{ op: 'replace', path: '/a', value: 1, ts: 5 }, { op: '@inc', path: '/n', value: 1 }, { op: 'replace', path: '/o/x', value: 2 }, { op: 'add', path: '/b', value: 3 }] });
    const reply: Change = {
      id: 'l',
      baseRev: 3,
      rev: 5,
      createdAt: 600,
      committedAt: 600,
      ops: [
        { op: 'replace', path: '/old', value: 0, ts: 1, rev: 4 }, // another client's row: kept
        { op: 'replace', path: '/a', value: 1, ts: 5, rev: 5 }, // as sent: acknowledged
        { op: 'replace', path: '/n', value: 7, ts: 5, rev: 5 }, // an @inc stored as its sum: kept
        { op: 'replace', path: '/o', value: { x: 2 }, ts: 9, rev: 5 }, // a parent of a sent path: both kept
        { op: 'replace', path: '/o/x', value: 2, ts: 5, rev: 5 },
        { op: 'replace', path: '/b', value: 3, ts: 5, rev: 5 }, // the sent add, stored as a replace: acknowledged
      ],
    };
    const compacted = compactReply({ changes: [reply] }, [lww], 'lww').changes[0] as Change & { acked?: number[] };
    expect(compacted.acked).toEqual([0, 3]);
    expect(compacted.ops.map(op => op.path)).toEqual(['/old', '/n', '/o', '/o/x']);
    expect(compactReply({ changes: [reply] }, [sent('other')], 'lww').changes[0]).toBe(reply);
  });

  it('should name by { id, rev } an OT catch-up change the connection was sent in a broadcast, and only that one', () => {
    const mine = sent('mine');
    const seen: Change = { id: 'seen', baseRev: 3, rev: 4, ops: [{ op: 'add', path: '/b', value: 1 }], createdAt: 1, committedAt: 2 };
    const unseen: Change = { ...seen, id: 'unseen', rev: 5 };
    const reply = compactReply({ changes: [seen, unseen, committed(mine, 6)] }, [mine], 'ot', id => id === 'seen');
    expect(reply.changes).toEqual([{ id: 'seen', rev: 4 }, unseen, { id: 'mine', rev: 6, committedAt: 500 }]);
  });

  it('should shrink an LWW reply that holds nothing but acknowledged rows to { id, rev, committedAt, acked }', () => {
    const lww = sent('l', { ops: [{ op: 'add', path: '/a', value: 1, ts: 5 }] });
    const reply: Change = { id: 'l', baseRev: 3, rev: 4, createdAt: 600, committedAt: 600, ops: [{ op: 'replace', path: '/a', value: 1, ts: 5, rev: 4 }] };
    expect(compactReply({ changes: [reply] }, [lww], 'lww').changes).toEqual([{ id: 'l', rev: 4, committedAt: 600, acked: [0] }]);
  });

  it('should read only { compactAck: true } as the request for it', () => {
    expect(wantsCompactAck({ compactAck: true })).toBe(true);
    expect([undefined, null, 'compactAck', { compactAck: 1 }, {}].map(wantsCompactAck)).toEqual([false, false, false, false, false]);
  });
});

describe('commitChanges with { compactAck: true } on a real server', () => {
  let t: TestServer;
  beforeEach(async () => {
    t = await startTestServer();
  });
  afterEach(async () => {
    expect(t.faults).toEqual([]);
    await t.close();
  });

  it('should acknowledge own unchanged changes by id and send a transformed one in full, while others get the full broadcast', async () => {
    const [a, b] = [await t.connect(), await t.connect()];
    await b.call('subscribe', [['doc']]);
    resultOf(await a.call('commitChanges', ['doc', [change('c1', 0, [{ op: 'replace', path: '/list', value: ['x'] }])], { compactAck: true }]));
    // b inserts at 0 concurrently with a's write of item 0 and of a field: a's item write moves to 1, its field write does not.
    resultOf(await b.call('commitChanges', ['doc', [change('b1', 1, [{ op: 'add', path: '/list/0', value: 'b' }])]]));
    const mine = [change('a1', 1, [{ op: 'replace', path: '/list/0', value: 'a' }]), change('a2', 1, [{ op: 'replace', path: '/title', value: 't' }])];
    const reply = resultOf<{ changes: Array<Record<string, unknown>> }>(await a.call('commitChanges', ['doc', mine, { compactAck: true }]));
    expect(reply.changes.map(c => [c.id, c.rev, 'ops' in c])).toEqual([
      ['b1', 2, true],
      ['a1', 3, true],
      ['a2', 4, false],
    ]);
    expect(reply.changes[1].ops).toEqual([{ op: 'replace', path: '/list/1', value: 'a' }]);
    expect(reply.changes[2]).toEqual({ id: 'a2', rev: 4, committedAt: expect.any(Number) });
    const broadcast = (await b.next(f => JSON.stringify(f).includes('"a1"'))) as { params: { changes: Change[] } };
    expect(broadcast.params.changes.map(c => [c.id, c.ops.length])).toEqual([
      ['a1', 1],
      ['a2', 1],
    ]);
  });

  it('should name a concurrent change by id in the reply to a connection that was sent its broadcast, and in full to one that was not', async () => {
    const [a, b, c] = [await t.connect(), await t.connect(), await t.connect()];
    await a.call('subscribe', [['race']]);
    resultOf(await c.call('commitChanges', ['race', [change('c0', 0, [{ op: 'replace', path: '/n', value: 0 }])]]));
    // b commits on rev 1; a (subscribed, so sent b's broadcast) and c (not subscribed) then commit on rev 1 too.
    resultOf(await b.call('commitChanges', ['race', [change('b1', 1, [{ op: 'replace', path: '/b', value: 1 }])]]));
    await a.next(f => JSON.stringify(f).includes('"b1"'));
    const toA = resultOf<{ changes: Array<Record<string, unknown>> }>(await a.call('commitChanges', ['race', [change('a1', 1, [{ op: 'replace', path: '/a', value: 1 }])], { compactAck: true }]));
    expect(toA.changes).toEqual([{ id: 'b1', rev: 2 }, { id: 'a1', rev: 3, committedAt: expect.any(Number) }]);
    const toC = resultOf<{ changes: Array<Record<string, unknown>> }>(await c.call('commitChanges', ['race', [change('c1', 1, [{ op: 'replace', path: '/c', value: 1 }])], { compactAck: true }]));
    expect(toC.changes.map(entry => [entry.id, 'ops' in entry])).toEqual([
      ['b1', true],
      ['a1', true],
      ['c1', false],
    ]);
  });

  it('should echo in full without the option, as the anchor does', async () => {
    const a = await t.connect();
    const reply = resultOf<{ changes: Change[] }>(await a.call('commitChanges', ['plain', [change('p1', 0, [{ op: 'replace', path: '/x', value: 1 }])]]));
    expect(reply.changes).toEqual([expect.objectContaining({ id: 'p1', rev: 1, ops: [{ op: 'replace', path: '/x', value: 1 }] })]);
  });
});
