import { Observable, asyncScheduler, distinctUntilChanged, type SchedulerLike, type Subscription } from 'rxjs';

/** The part of the Web Locks API `leadership$` uses (`navigator.locks`). */
export interface LockManagerLike {
  request(name: string, options: { signal?: AbortSignal }, callback: () => Promise<void>): Promise<unknown>;
}

/** The part of a `BroadcastChannel` the fallback lease uses. */
export interface LeaseChannel {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  removeEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  close(): void;
}

/** Options of `leadership$`. */
export interface LeadershipOptions {
  /** What is led, e.g. one name per database: every tab using the same name competes. */
  name: string;
  /** Web Locks (default `navigator.locks` where there is one); `null` forces the fallback lease. */
  locks?: LockManagerLike | null;
  /** Fallback: the channel of the lease (default a `BroadcastChannel` named after `name`); `null`: lead alone. */
  channel?: LeaseChannel | null;
  /** Fallback: ms between a leader's heartbeats, and how long a claim waits for objections (default 250). */
  heartbeat?: number;
  /** Fallback: a leader silent this long is gone (default 1000). */
  leaseTimeout?: number;
  /** Fallback: this candidate's id; the lowest id wins a tie (default random). */
  id?: string;
  /** Fallback: scheduler of the heartbeat and lease timers. */
  scheduler?: SchedulerLike;
}

type LeaseMessage = { lease: string; type: 'claim' | 'heartbeat' | 'resign'; id: string };

/**
 * Whether this tab leads: `false` at once, `true` while it holds the leadership, `false` again if
 * it loses it. Unsubscribing gives the leadership up (the next tab takes over).
 *
 * Several tabs of one app share one store; only one of them should hold the WebSocket. With Web
 * Locks the leader holds an exclusive lock named `name` for as long as it is subscribed; the
 * browser hands the lock to the next waiting tab the moment the leader closes or crashes. Without
 * Web Locks a lease over a `BroadcastChannel` stands in: the leader sends a heartbeat every
 * `heartbeat` ms; a tab that hears none for `leaseTimeout` ms (or hears the leader resign) claims
 * the lease and leads if nobody objects within one heartbeat period (a heartbeat, or a claim from
 * a lower id). With neither, every tab leads alone.
 *
 * ## Example
 * ```ts
 * leadership$({ name: 'patches-rx:my-app' }).subscribe(leading => console.log(leading ? 'leader' : 'follower'));
 * ```
 *
 * @param options The name, and the fallback's timing.
 * @return An Observable of `true` (leading) / `false`, without repeats.
 */
export function leadership$(options: LeadershipOptions): Observable<boolean> {
  const locks = options.locks === undefined ? defaultLocks() : options.locks;
  if (locks) return lockLeadership$(locks, options.name);
  if (options.channel === null || (options.channel === undefined && !channelCtor())) return new Observable<boolean>(subscriber => subscriber.next(true));
  return leaseLeadership$(options);
}

/** Leadership as an exclusive Web Lock held while subscribed. */
function lockLeadership$(locks: LockManagerLike, name: string): Observable<boolean> {
  return new Observable<boolean>(subscriber => {
    subscriber.next(false);
    const abort = new AbortController();
    let release: (() => void) | undefined;
    locks
      .request(name, { signal: abort.signal }, () => {
        if (subscriber.closed) return Promise.resolve();
        // Held until released, and releasable before it is announced: a subscriber that
        // unsubscribes inside this `next(true)` (an app that destroys its sync as it learns it
        // leads) runs the teardown now, which found nothing to release and aborted a request
        // already granted, so the lock was held for good (found in review).
        const held = new Promise<void>(resolve => (release = resolve));
        subscriber.next(true);
        return held;
      })
      .catch(() => undefined); // aborted before it was granted: nothing to release
    return () => (release ? release() : abort.abort());
  });
}

/**
 * Leadership as a heartbeat lease over a channel (where Web Locks are missing). The default
 * channel is opened per subscription and closed with it: one opened once and closed by the first
 * unsubscribe failed every later subscription (a tab asks for the lead again after its page was
 * away, or when it wants a connection again).
 */
function leaseLeadership$(options: LeadershipOptions): Observable<boolean> {
  const { name } = options;
  const heartbeat = options.heartbeat ?? 250;
  const leaseTimeout = options.leaseTimeout ?? 1000;
  const scheduler = options.scheduler ?? asyncScheduler;
  return new Observable<boolean>(subscriber => {
    const channel = options.channel ?? defaultChannel(name);
    const id = options.id ?? Math.random().toString(36).slice(2);
    let role: 'follower' | 'claiming' | 'leader' = 'follower';
    let timer: Subscription | undefined;
    const post = (type: LeaseMessage['type']) => channel.postMessage({ lease: name, type, id } satisfies LeaseMessage);
    const after = (ms: number, then: () => void) => {
      timer?.unsubscribe();
      timer = scheduler.schedule(then, ms);
    };
    const follow = () => {
      if (role === 'leader') subscriber.next(false);
      role = 'follower';
      after(leaseTimeout, claim);
    };
    const claim = () => {
      role = 'claiming';
      post('claim');
      after(heartbeat, lead);
    };
    const lead = () => {
      if (role !== 'leader') subscriber.next(true);
      role = 'leader';
      post('heartbeat');
      after(heartbeat, lead);
    };
    const listener = ({ data }: { data: unknown }) => {
      const message = data as Partial<LeaseMessage> | null;
      if (!message || message.lease !== name || typeof message.id !== 'string' || message.id === id) return;
      if (message.type === 'resign') {
        if (role === 'follower') claim();
      } else if (message.type === 'heartbeat') {
        // A leader exists. Two leaders (a partition healed): the higher id steps down.
        if (role !== 'leader' || message.id < id) follow();
      } else if (message.type === 'claim') {
        if (role === 'leader') post('heartbeat');
        else if (role === 'claiming' && message.id < id) follow();
      }
    };
    channel.addEventListener('message', listener);
    subscriber.next(false);
    claim();
    return () => {
      timer?.unsubscribe();
      channel.removeEventListener('message', listener);
      if (role === 'leader') post('resign');
      if (options.channel === undefined) channel.close();
    };
  }).pipe(distinctUntilChanged());
}

function defaultLocks(): LockManagerLike | null {
  const navigator = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator;
  return navigator?.locks ?? null;
}

function channelCtor(): (new (name: string) => LeaseChannel & { unref?: () => void }) | undefined {
  return (globalThis as { BroadcastChannel?: new (name: string) => LeaseChannel & { unref?: () => void } }).BroadcastChannel;
}

function defaultChannel(name: string): LeaseChannel {
  const channel = new (channelCtor()!)(`${name}:lease`);
  channel.unref?.();
  return channel;
}
