import type { StoreChannel } from '../../src/streams/storeChanges.js';

type Listener = (event: { data: unknown }) => void;

/** One channel of a `HeldChannelHub`: what it posted is counted and queued on the hub. */
export interface HeldChannel extends StoreChannel {
  /** Everything this channel posted, in order (cloned as a `BroadcastChannel` would). */
  readonly posted: unknown[];
}

/**
 * Channels of one name (one database) whose messages wait until the spec delivers them, so a spec
 * chooses the order in which instances hear each other (an edge fake of `BroadcastChannel`). As with
 * `BroadcastChannel`, a message goes to the channels open when it was posted, never to its sender,
 * and one sender's messages arrive in the order posted.
 *
 * @example
 * const hub = new HeldChannelHub();
 * const a = hub.channel(), b = hub.channel();
 * a.postMessage('hi'); // held
 * hub.deliverAll();    // b's listeners hear 'hi' now
 */
export class HeldChannelHub {
  private readonly open = new Set<{ listeners: Set<Listener> }>();
  private readonly queue: { data: unknown; to: { listeners: Set<Listener> }[] }[] = [];

  /** Messages posted and not yet delivered. */
  get held(): number {
    return this.queue.length;
  }

  /** A new channel on the hub. */
  channel(): HeldChannel {
    const end = { listeners: new Set<Listener>() };
    this.open.add(end);
    const posted: unknown[] = [];
    return {
      posted,
      postMessage: (message: unknown) => {
        if (!this.open.has(end)) throw new DOMException('Channel is closed', 'InvalidStateError');
        const data = structuredClone(message);
        posted.push(data);
        this.queue.push({ data, to: [...this.open].filter(other => other !== end) });
      },
      addEventListener: (_type: 'message', listener: Listener) => end.listeners.add(listener),
      removeEventListener: (_type: 'message', listener: Listener) => end.listeners.delete(listener),
      close: () => this.open.delete(end),
    };
  }

  /** Delivers the oldest held message to the channels it was posted to that are still open; false if none was held. */
  deliverNext(): boolean {
    const next = this.queue.shift();
    if (!next) return false;
    for (const end of next.to) {
      if (!this.open.has(end)) continue;
      for (const listener of [...end.listeners]) listener({ data: structuredClone(next.data) });
    }
    return true;
  }

  /** Delivers held messages, and those they make others post, until none is left (at most 1,000). */
  deliverAll(): void {
    for (let i = 0; i < 1000; i++) if (!this.deliverNext()) return;
    throw new Error('HeldChannelHub: still posting after 1,000 deliveries');
  }
}
