import type { StoreChannel } from '../../src/streams/storeChanges.js';

type Listener = (event: { data: unknown }) => void;

/**
 * Channels of one name in one place (an edge fake of `BroadcastChannel`, delivering at once): a
 * message reaches every other member as it is posted, never its sender, unless the sender is
 * muted (a frozen or crashed tab). For a spec that must choose the order of deliveries, see
 * `HeldChannelHub`.
 *
 * @example
 * const hub = new ChannelHub();
 * const a = hub.channel(), b = hub.channel();
 * b.addEventListener('message', ({ data }) => console.log(data));
 * a.postMessage({ id: 'a' }); // b logs it now
 * hub.mute('a');              // a's messages (`{ id: 'a' }`) reach no one from here on
 */
export class ChannelHub {
  private readonly members = new Set<Listener>();
  private readonly muted = new Set<string>();
  /** Every message posted (muted ones included), in order. */
  readonly posted: unknown[] = [];

  /** A new channel on the hub; it joins when it adds its listener. */
  channel(): StoreChannel {
    let mine: Listener | undefined;
    return {
      postMessage: data => {
        this.posted.push(data);
        if (this.muted.has((data as { id?: string } | null)?.id ?? '')) return;
        for (const member of [...this.members]) if (member !== mine) member({ data });
      },
      addEventListener: (_type, listener) => {
        mine = listener;
        this.members.add(listener);
      },
      removeEventListener: (_type, listener) => void this.members.delete(listener),
      close: () => undefined,
    };
  }

  /** Messages carrying `id` (a tab's) go silent: the tab froze or crashed without a word. */
  mute(id: string): void {
    this.muted.add(id);
  }
}
