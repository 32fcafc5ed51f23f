import { WritesUnderWay } from '../../src/stores/WritesUnderWay.js';

/** A write the spec ends when it likes. */
function pendingWrite(): { promise: Promise<string>; commit(): void; fail(): void } {
  let commit!: () => void;
  let fail!: () => void;
  const promise = new Promise<string>((resolve, reject) => {
    commit = () => resolve('committed');
    fail = () => reject(new Error('aborted'));
  });
  return { promise, commit, fail };
}

describe('WritesUnderWay', () => {
  it('should name each write while it is under way, and forget it once it committed or failed', async () => {
    const writes = new WritesUnderWay();
    const first = pendingWrite();
    const second = pendingWrite();
    const one = writes.run({ kind: 'write', docIds: ['a'] }, () => first.promise);
    const two = writes.run({ kind: 'delete', docIds: ['b'] }, () => second.promise);
    expect(writes.changes()).toEqual([
      { kind: 'write', docIds: ['a'] },
      { kind: 'delete', docIds: ['b'] },
    ]);
    first.commit();
    expect(await one).toBe('committed');
    await writes.run({ kind: 'write', docIds: ['x'] }, async () => undefined);
    expect(writes.changes()).toEqual([{ kind: 'delete', docIds: ['b'] }]);
    second.fail();
    await expect(two).rejects.toThrow('aborted');
    await writes.settled();
    expect(writes.changes()).toEqual([]);
  });

  it('should settle once every write ended, also one started while it waited', async () => {
    const writes = new WritesUnderWay();
    const first = pendingWrite();
    const later = pendingWrite();
    writes.run({ kind: 'write', docIds: ['a'] }, () => first.promise).catch(() => undefined);
    const settling = writes.settled().then(() => 'settled');
    // The first one's end starts another, as a retried write does.
    void first.promise.catch(() => writes.run({ kind: 'write', docIds: ['a'] }, () => later.promise));
    first.fail();
    // Every promise reaction runs before a macrotask: what has not settled by then waits for more.
    const drained = new Promise(resolve => setImmediate(() => resolve('waiting')));
    expect(await Promise.race([settling, drained])).toBe('waiting');
    expect(writes.changes()).toEqual([{ kind: 'write', docIds: ['a'] }]);
    later.commit();
    expect(await settling).toBe('settled');
    expect(writes.changes()).toEqual([]);
  });
});
