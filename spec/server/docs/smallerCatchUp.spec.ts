import { CATCH_UP_MEASURE_FROM, smallerCatchUp } from '../../../src/server/docs/smallerCatchUp.js';
import type { Change } from '../../../src/types.js';
import { change, resultOf, startTestServer, type TestServer } from '../../helpers/testServer.js';

/** `count` committed changes after rev `from`, each writing `value` at /n. */
function history(from: number, count: number, value: unknown): Change[] {
  return Array.from({ length: count }, (_, i) => ({ id: `c${from + i + 1}`, baseRev: from + i, rev: from + i + 1, ops: [{ op: 'replace', path: '/n', value }], createdAt: 1, committedAt: 2 }));
}

describe('smallerCatchUp', () => {
  const small = { n: 1 };

  it('should answer a short catch-up as its changes, unmeasured, even when the state is smaller', () => {
    const changes = history(10, CATCH_UP_MEASURE_FROM - 1, 'x'.repeat(100));
    expect(smallerCatchUp(changes, { state: small, rev: 10 + changes.length })).toBe(changes);
  });

  it('should answer the state at the head, with no changes, when it is smaller than a long catch-up', () => {
    const changes = history(10, CATCH_UP_MEASURE_FROM, 'x'.repeat(100));
    expect(smallerCatchUp(changes, { state: small, rev: 10 + changes.length })).toEqual({ state: small, rev: 10 + CATCH_UP_MEASURE_FROM, changes: [] });
  });

  it('should measure from as few changes as it is told (the fuzz\'s test hook)', () => {
    const changes = history(10, 2, 'x'.repeat(100));
    expect(smallerCatchUp(changes, { state: small, rev: 12 }, 2)).toEqual({ state: small, rev: 12, changes: [] });
    expect(smallerCatchUp(changes, { state: small, rev: 12 }, 3)).toBe(changes);
    // An up-to-date client's catch-up is empty, whatever the hook says.
    expect(smallerCatchUp([], { state: small, rev: 12 }, 0)).toEqual([]);
  });

  it('should answer the changes when they are smaller than the state', () => {
    const changes = history(10, 200, 1);
    const big = { text: 'x'.repeat(200 * 200) };
    expect(smallerCatchUp(changes, { state: big, rev: 210 })).toBe(changes);
  });

  it('should answer the changes when the state is not at their last rev (a commit landed in between)', () => {
    const changes = history(10, 200, 'x'.repeat(100));
    expect(smallerCatchUp(changes, { state: small, rev: 211 })).toBe(changes);
  });
});

describe('getChangesSince with { orSnapshot: true }', () => {
  let t: TestServer | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  /** A doc of `commits` commits, each writing a 100-character string at /n (commit i: rev i). */
  async function commitHistory(docId: string, commits: number): Promise<TestServer> {
    const server = await startTestServer();
    const writer = await server.connect();
    for (let rev = 0; rev < commits; rev++) {
      resultOf(await writer.call('commitChanges', [docId, [change(`w${rev}`, rev, [{ op: 'replace', path: '/n', value: `${rev}`.padEnd(100, '.') }])]]));
    }
    return server;
  }

  it('should answer the head state of an OT doc far behind, and the changes without the option or when they are few', async () => {
    t = await commitHistory('notes', 100);
    const reader = await t.connect();
    const head = { n: '99'.padEnd(100, '.') };
    expect(resultOf(await reader.call('getChangesSince', ['notes', 1, { orSnapshot: true }]))).toEqual({ state: head, rev: 100, changes: [] });
    expect(resultOf<Change[]>(await reader.call('getChangesSince', ['notes', 1])).map(c => c.rev)).toEqual(Array.from({ length: 99 }, (_, i) => i + 2));
    expect(resultOf<Change[]>(await reader.call('getChangesSince', ['notes', 90, { orSnapshot: true }])).map(c => c.rev)).toEqual(Array.from({ length: 10 }, (_, i) => i + 91));
    expect(t.faults).toEqual([]);
  });

  it('should keep to the anchor wire (the changes) on a server that speaks only it, and answer an LWW doc with its one change', async () => {
    t = await startTestServer({ anchorWire: true });
    const writer = await t.connect();
    for (let rev = 0; rev < 100; rev++) resultOf(await writer.call('commitChanges', ['notes', [change(`w${rev}`, rev, [{ op: 'replace', path: '/n', value: 'x'.repeat(100) }])]]));
    expect(resultOf<Change[]>(await writer.call('getChangesSince', ['notes', 1, { orSnapshot: true }]))).toHaveLength(99);
    await t.close();
    t = await startTestServer();
    const lww = await t.connect();
    for (let rev = 0; rev < 100; rev++) resultOf(await lww.call('commitChanges', ['lww-settings', [change(`l${rev}`, rev, [{ op: 'replace', path: `/k${rev}`, value: 'x'.repeat(100), ts: 1000 + rev }])]]));
    const reply = resultOf<Change[]>(await lww.call('getChangesSince', ['lww-settings', 1, { orSnapshot: true }]));
    expect(reply).toHaveLength(1);
    expect(reply[0].ops).toHaveLength(99);
  });
});
