import { firstValueFrom, take, toArray } from 'rxjs';
import { openStoreChannel, storeChannelName, storeChanges$, type StoreChannel } from '../../src/streams/storeChanges.js';
import { pageAway$ } from '../../src/streams/pageAway.js';
import type { StoreChange } from '../../src/stores/PatchesStore.js';
import { ChannelHub } from '../helpers/channelHub.js';
import { FakePage } from '../helpers/fakePage.js';

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

  it('should hold what others wrote while the page is frozen or in the back/forward cache, and tell it in order once the page is back, a run of writes as one (found with a frozen Chromium tab)', () => {
    // Chromium runs a frozen page's channel handlers but not the IndexedDB callbacks of the reads
    // they start: such a read held the database, and every other tab's next write, until it resumed.
    const hub = new ChannelHub();
    const other = hub.channel();
    const page = new FakePage();
    const heard: StoreChange[] = [];
    const subscription = storeChanges$(hub.channel(), pageAway$(page)).subscribe(change => heard.push(change));
    other.postMessage({ kind: 'write', docIds: ['a'] });
    page.freeze();
    other.postMessage({ kind: 'write', docIds: ['a', 'b'] });
    other.postMessage({ kind: 'write', docIds: ['c', 'a'] });
    other.postMessage({ kind: 'untrack', docIds: ['c'] });
    other.postMessage('garbage');
    other.postMessage({ kind: 'write', docIds: ['b'] });
    expect(heard).toEqual([{ kind: 'write', docIds: ['a'] }]);
    page.resume();
    expect(heard).toEqual([
      { kind: 'write', docIds: ['a'] },
      { kind: 'write', docIds: ['a', 'b', 'c'] },
      { kind: 'untrack', docIds: ['c'] },
      { kind: 'write', docIds: ['b'] },
    ]);
    page.store();
    other.postMessage({ kind: 'track', docIds: ['d'], algorithm: 'lww' });
    expect(heard).toHaveLength(4);
    page.restore();
    expect(heard.slice(4)).toEqual([{ kind: 'track', docIds: ['d'], algorithm: 'lww' }]);
    other.postMessage({ kind: 'write', docIds: ['d'] });
    expect(heard.slice(5)).toEqual([{ kind: 'write', docIds: ['d'] }]);
    subscription.unsubscribe();
    expect(page.listenerCount).toBe(0);
  });
});
