import { firstValueFrom, take, toArray } from 'rxjs';
import { openStoreChannel, storeChannelName, storeChanges$, type StoreChannel } from '../../src/streams/storeChanges.js';

describe('storeChanges$', () => {
  const opened: StoreChannel[] = [];
  function channel(dbName: string): StoreChannel {
    const c = openStoreChannel(dbName)!;
    opened.push(c);
    return c;
  }
  afterEach(() => {
    for (const c of opened.splice(0)) c.close();
  });

  it('should name one channel per database', () => {
    expect(storeChannelName('app')).toBe(storeChannelName('app'));
    expect(storeChannelName('app')).not.toBe(storeChannelName('other'));
  });

  it("should emit what another instance on the same database announced, skipping malformed messages", async () => {
    const tabA = channel('store-changes-a');
    const tabB = channel('store-changes-a');
    const heard = firstValueFrom(storeChanges$(tabB).pipe(take(2), toArray()));
    tabA.postMessage({ kind: 'write', docIds: ['d1'] });
    tabA.postMessage('garbage');
    tabA.postMessage({ kind: 'explode', docIds: ['d1'] });
    tabA.postMessage({ kind: 'write', docIds: [7] });
    tabA.postMessage({ kind: 'track', docIds: ['d2'], algorithm: 'lww' });
    expect(await heard).toEqual([
      { kind: 'write', docIds: ['d1'] },
      { kind: 'track', docIds: ['d2'], algorithm: 'lww' },
    ]);
  });

  it('should not hear its own announcements nor another database', async () => {
    const tabA = channel('store-changes-b');
    const tabB = channel('store-changes-b');
    const other = channel('store-changes-c');
    const seenByA: unknown[] = [];
    const subscription = storeChanges$(tabA).subscribe(change => seenByA.push(change));
    const heardByB = firstValueFrom(storeChanges$(tabB));
    other.postMessage({ kind: 'write', docIds: ['elsewhere'] });
    tabA.postMessage({ kind: 'write', docIds: ['mine'] });
    // B hears A's message; by then A would have heard the earlier one from `other` if it leaked.
    expect(await heardByB).toEqual({ kind: 'write', docIds: ['mine'] });
    subscription.unsubscribe();
    expect(seenByA).toEqual([]);
  });
});
