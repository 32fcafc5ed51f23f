import { ReplaySubject, firstValueFrom, filter, take, toArray } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { leadership$ } from '../../src/streams/leadership.js';
import { FakeLocks } from '../helpers/fakeLocks.js';
import { ChannelHub } from '../helpers/channelHub.js';
import { createTestScheduler } from '../helpers/marbles.js';

describe('leadership$ (lease fallback, no Web Locks)', () => {
  let testScheduler: TestScheduler;
  let hub: ChannelHub;
  const values = { f: false, t: true };
  /** Every tab closes at 200 ms: a lease heartbeats for as long as it is subscribed. */
  const END = '^ 199ms !';
  const tab = (id: string) => leadership$({ name: 'app', locks: null, channel: hub.channel(), id, heartbeat: 10, leaseTimeout: 40, scheduler: testScheduler });

  beforeEach(() => {
    testScheduler = createTestScheduler();
    hub = new ChannelHub();
  });

  it('should lead alone after one heartbeat period without objection', () => {
    testScheduler.run(({ expectObservable }) => {
      expectObservable(tab('a'), END).toBe('f 9ms t', values);
    });
  });

  it('should keep a later tab following while the leader heartbeats', () => {
    testScheduler.run(({ expectObservable }) => {
      expectObservable(tab('a'), END).toBe('f 9ms t', values);
      expectObservable(tab('b'), '30ms ^ 169ms !').toBe('30ms f', values);
    });
  });

  it('should let the lowest id win when two tabs claim at once', () => {
    testScheduler.run(({ expectObservable }) => {
      expectObservable(tab('b'), END).toBe('f', values);
      expectObservable(tab('a'), END).toBe('f 9ms t', values);
    });
  });

  it('should hand over within one heartbeat period when the leader closes (resigns)', () => {
    testScheduler.run(({ expectObservable }) => {
      expectObservable(tab('a'), '^ 49ms !').toBe('f 9ms t', values);
      expectObservable(tab('b'), '30ms ^ 169ms !').toBe('30ms f 29ms t', values);
    });
  });

  it('should take over after the lease times out when the leader freezes without a word', () => {
    testScheduler.run(({ expectObservable }) => {
      testScheduler.schedule(() => hub.mute('a'), 45);
      // a's last heartbeat reaches b at 40; the lease runs out at 80, b claims, and leads at 90.
      expectObservable(tab('a'), '^ 99ms !').toBe('f 9ms t', values);
      expectObservable(tab('b'), '30ms ^ 169ms !').toBe('30ms f 59ms t', values);
    });
  });

  it('should step down when it hears a leader with a lower id (two leaders after a partition)', () => {
    testScheduler.run(({ expectObservable }) => {
      testScheduler.schedule(() => hub.mute('a'), 0);
      testScheduler.schedule(() => hub['muted'].delete('a'), 25);
      // Both lead while a cannot be heard; a's next heartbeat (at 30) makes b step down.
      expectObservable(tab('a'), END).toBe('f 9ms t', values);
      expectObservable(tab('b'), END).toBe('f 9ms t 19ms f', values);
    });
  });
});

describe('leadership$ (lease fallback on its own BroadcastChannel)', () => {
  // Found while making a tab ask for the lead only while it wants a connection: the default
  // channel was opened once per leadership$() and closed by the first unsubscribe, so asking for
  // the lead again (after a page was away, or a disconnect()) threw "BroadcastChannel is closed".
  it('should ask for the lead again after it was given up (a channel per subscription)', () => {
    const testScheduler = createTestScheduler();
    testScheduler.run(({ expectObservable }) => {
      const lead$ = leadership$({ name: `again-${Date.now()}`, locks: null, id: 'a', heartbeat: 10, leaseTimeout: 40, scheduler: testScheduler });
      expectObservable(lead$, '^ 19ms !').toBe('f 9ms t', { f: false, t: true });
      expectObservable(lead$, '30ms ^ 19ms !').toBe('30ms f 9ms t', { f: false, t: true });
    });
  });
});

describe('leadership$ (Web Locks)', () => {
  it('should lead while holding the lock and hand it to the next tab when unsubscribed', async () => {
    const locks = new FakeLocks();
    const a$ = new ReplaySubject<boolean>();
    const b$ = new ReplaySubject<boolean>();
    const a = leadership$({ name: 'app', locks }).subscribe(a$);
    const b = leadership$({ name: 'app', locks }).subscribe(b$);
    await firstValueFrom(a$.pipe(filter(Boolean)));
    expect(await firstValueFrom(b$.pipe(take(1)))).toBe(false);
    a.unsubscribe();
    expect(await firstValueFrom(b$.pipe(filter(Boolean)))).toBe(true);
    b.unsubscribe();
    a$.complete();
    b$.complete();
    expect(await firstValueFrom(a$.pipe(toArray()))).toEqual([false, true]);
    expect(await firstValueFrom(b$.pipe(toArray()))).toEqual([false, true]);
  });

  it('should let the lock go when its subscriber unsubscribes as it is told it leads (found in review)', async () => {
    const locks = new FakeLocks();
    const first = leadership$({ name: 'app', locks }).subscribe(leading => {
      if (leading) first.unsubscribe();
    });
    const seen: boolean[] = [];
    const second = leadership$({ name: 'app', locks }).subscribe(leading => seen.push(leading));
    // The fake's grants are promise callbacks: one macrotask runs every one of them that can run.
    await new Promise(resolve => setImmediate(resolve));
    expect(first.closed).toBe(true);
    expect(seen).toEqual([false, true]);
    second.unsubscribe();
  });

  it('should give up a request that was never granted when unsubscribed', async () => {
    const locks = new FakeLocks();
    const holder = leadership$({ name: 'app', locks }).subscribe();
    const seen: boolean[] = [];
    leadership$({ name: 'app', locks }).subscribe(v => seen.push(v)).unsubscribe();
    const third = firstValueFrom(leadership$({ name: 'app', locks }).pipe(filter(Boolean)));
    holder.unsubscribe();
    expect(await third).toBe(true);
    expect(seen).toEqual([false]);
  });
});

