import { transformIncomingChanges } from '../../../src/algorithms/transformIncomingChanges.js';
import { runSliced } from '../../../src/server/docs/runSliced.js';
import { MemoryServerStore } from '../../../src/server/stores/MemoryServerStore.js';
import type { LogEntry } from '../../../src/server/stores/ServerStore.js';
import type { Change, JSONPatchOp } from '../../../src/types.js';
import type { Steps } from '../../../src/util/steps.js';
import { change, resultOf, startTestServer } from '../../helpers/testServer.js';

/** `count` inserts of `value` at the head of `/l`: two such lists at one base meet count² times in the transform. */
function inserts(count: number, value: number): JSONPatchOp[] {
  return Array.from({ length: count }, () => ({ op: 'add', path: '/l/0', value }));
}

describe('runSliced', () => {
  it('should give the event loop a turn between slices, and resolve with the steps result', async () => {
    const turns: number[] = [];
    function* counting(): Steps<string> {
      for (let i = 0; i < 3; i++) {
        turns.push(i);
        yield;
      }
      return 'done';
    }
    let served = -1;
    setImmediate(() => (served = turns.length));
    // A slice of 0 ms ends at every step: the callback queued before runs once the first step is done.
    await expect(runSliced(counting(), 0)).resolves.toBe('done');
    expect(served).toBe(1);
  });
});

describe('a long commit on the real server', () => {
  it("should let another doc's request be answered meanwhile, keep the doc's own commits in order, and commit what the transform gives", async () => {
    // The commit is written at baseRev 1 after 300 inserts at rev 2: its transform meets 300² pairs twice
    // (~0.35 s, some 35 slices; with 600 it took ~1.4 s, and beside 2 busy loops past the 5 s a reply
    // may take in wsClient, 3 runs in 5). The store's read of the history (snapshots every 2 changes,
    // so it is read) says the commit has started: then another client asks for another doc, and a
    // third commits to the same doc. The other doc's reply must come back before the long commit is
    // written to the store.
    // Its write to the store says it is transformed and applied (the reply may wait for more: the order
    // of the replies alone would not tell whether the other doc was served during the transform).
    let started: (() => void) | undefined;
    const order: string[] = [];
    class SignallingStore extends MemoryServerStore {
      override async readLog(docId: string, afterRev: number): Promise<LogEntry[]> {
        if (docId === 'long') started?.();
        return super.readLog(docId, afterRev);
      }
      override async append(docId: string, entry: LogEntry): Promise<void> {
        if (entry.kind === 'ot' && entry.changes.some((c) => c.id === 'x')) order.push('long commit written');
        return super.append(docId, entry);
      }
    }
    const test = await startTestServer({ store: new SignallingStore(), snapshotEvery: 2 });
    try {
      const [writer, bystander, follower] = await Promise.all([test.connect(), test.connect(), test.connect()]);
      const history = [change('s', 0, [{ op: 'add', path: '/l', value: [] }]), change('h', 1, inserts(300, 0))];
      for (const committed of history) resultOf(await writer.call('commitChanges', ['long', [committed]]));
      resultOf(await bystander.call('commitChanges', ['small', [change('o', 0, [{ op: 'add', path: '/x', value: 1 }])]]));

      const noted = <T>(label: string, reply: Promise<T>): Promise<T> => reply.then((value) => (order.push(label), value));
      const during = new Promise<[Record<string, unknown>, Record<string, unknown>]>((resolve) => {
        started = () => {
          started = undefined;
          resolve(Promise.all([
            noted('other doc', bystander.call('getDoc', ['small'])),
            // Its reply may reach this process before or after the long commit's (two sockets): its revs tell.
            follower.call('commitChanges', ['long', [change('y', 2, [{ op: 'add', path: '/z', value: 1 }])]]),
          ]));
        };
      });
      const stale = change('x', 1, inserts(300, 1));
      const long = await writer.call('commitChanges', ['long', [stale]]);
      const [other, later] = await during;

      expect(order).toEqual(['other doc', 'long commit written']);
      expect(resultOf<{ changes: Change[] }>(other).changes.map((c) => c.id)).toEqual(['o']);
      const committed = resultOf<{ changes: Change[] }>(long).changes;
      const expected = transformIncomingChanges(committed.slice(0, 1), [{ ...stale, rev: 2, baseRev: 1 } as Change], () => false);
      expect(committed.map((c) => [c.id, c.rev])).toEqual([['h', 2], ['x', 3]]);
      expect(committed[1].ops).toEqual(expected[0].ops);
      // The same doc's next commit waited for the long one: it comes after it, and is transformed over it.
      expect(resultOf<{ changes: Change[] }>(later).changes.map((c) => [c.id, c.rev])).toEqual([['x', 3], ['y', 4]]);
      expect(test.faults).toEqual([]);
    } finally {
      await test.close();
    }
  }, 60_000);
});
