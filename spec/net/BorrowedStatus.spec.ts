import { BorrowedStatus } from '../../src/net/BorrowedStatus.js';
import { OwnEdits } from '../../src/net/OwnEdits.js';
import { SyncedDocs } from '../../src/net/SyncedDocs.js';
import type { Algorithm, PatchesSyncState } from '../../src/types.js';

/** A tab tracking `tracked`; the states it set and the entries it read are recorded. */
function setup(tracked: string[], entriesRead: Promise<void> = Promise.resolve()) {
  const docs = new SyncedDocs();
  const ownEdits = new OwnEdits();
  const states: Partial<PatchesSyncState>[] = [];
  const reads: string[][] = [];
  const borrowed = new BorrowedStatus({
    patches: {
      getDocAlgorithm: (id: string): Algorithm | undefined => (tracked.includes(id) ? 'ot' : undefined),
      trackedDocs: new Set(tracked),
    },
    docs,
    ownEdits,
    unsaved: () => false,
    entries: {
      add: async ids => void reads.push(ids),
    },
    entriesRead,
    setState: change => states.push(change),
  });
  return { borrowed, docs, ownEdits, states, reads };
}

describe('BorrowedStatus', () => {
  it("should show the leader's state and map for the docs this tab tracks, its own edits pending", () => {
    const { borrowed, docs, ownEdits, states } = setup(['a', 'b']);
    ownEdits.edited('b');
    borrowed.show(
      { connected: true, syncing: null },
      { a: { committedRev: 4, hasPending: false, status: 'synced' }, b: { committedRev: 2, hasPending: false, status: 'synced' }, other: { committedRev: 9, hasPending: false, status: 'synced' } },
      [],
      false,
    );
    expect(states).toEqual([{ connected: true, syncing: null }]);
    expect(docs.value).toEqual({ a: { committedRev: 4, hasPending: false, status: 'synced' }, b: { committedRev: 2, hasPending: true, status: 'synced' } });
  });

  it('should show nothing syncing once the leader has stopped leading, whatever its last map said', () => {
    const { borrowed, docs } = setup(['a']);
    borrowed.show({ connected: false, syncing: null }, { a: { committedRev: 4, hasPending: true, status: 'syncing' } }, [], true);
    expect(docs.get('a')?.status).toBe('synced');
  });

  it('should make the state and map its own as it starts to lead after showing another tab: not connected, nothing syncing, its entries read again', async () => {
    const { borrowed, docs, states, reads } = setup(['a', 'b']);
    borrowed.show({ connected: true, syncing: 'updating' }, { a: { committedRev: 4, hasPending: true, status: 'syncing' } }, [], false);
    await borrowed.own();
    expect(states.at(-1)).toEqual({ connected: false, syncing: null });
    expect(reads).toEqual([['a', 'b']]);
    expect(docs.get('a')).toEqual({ committedRev: 4, hasPending: true, status: 'synced' });
    // Led since: a second lead takes nothing back.
    await borrowed.own();
    expect([states.length, reads.length]).toEqual([2, 1]);
  });

  it('should only wait for the first read of the entries when it has shown no other tab, even a failed one', async () => {
    let fail!: (error: Error) => void;
    const entriesRead = new Promise<void>((_resolve, reject) => (fail = reject));
    const { borrowed, states, reads } = setup(['a'], entriesRead);
    let owned = false;
    const own = borrowed.own().then(() => (owned = true));
    await Promise.resolve();
    expect(owned).toBe(false);
    fail(new Error('store down'));
    await own;
    expect([states, reads]).toEqual([[], []]);
  });
});
