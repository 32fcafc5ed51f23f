import type { StoreChannel } from '../streams/storeChanges.js';
import type { StoreChange } from './PatchesStore.js';

/**
 * What an instance says about itself on its database's channel: `hello` when it starts, `here` in
 * reply to another's `hello`. It has no `kind`, so `storeChanges$` (and older versions) skip it.
 */
export interface StorePresence {
  type: 'hello' | 'here';
}

/** How many doc ids an instance alone keeps back before it posts every write at once instead. */
export const MAX_KEPT = 1_000;

/**
 * Posts a store's `StoreChange`s on its database's channel, but only once another instance on the
 * database is known to exist: alone (one tab, the common case) a store posts nothing per write.
 *
 * Each instance says `hello` as it starts, before its first transaction; an instance that hears
 * `hello` answers `here`, and one that hears anything on the channel knows a peer exists. From then
 * on it posts every write at once. What it wrote before, while it knew of no peer, it kept (merged
 * by kind, one entry per doc) and posts as soon as it learns of one, so no write is missed:
 * - a write committed before this instance heard the newcomer's `hello` is posted after that
 *   `hello`, so after the newcomer started listening, and the newcomer re-reads after the commit;
 *   a later write is posted as it happens;
 * - the newcomer's own writes made before it heard `here` are posted once it hears it, and the
 *   older instance was listening all along.
 * A late, merged or reordered announcement is as good as a prompt one because whoever hears one
 * re-reads the store (`Patches` refreshes the doc, or reads the tracked list again).
 *
 * An instance that never learns of a peer posts nothing but, once, what it kept as it stops (or,
 * past `MAX_KEPT` doc ids, what it kept and then every write at once); one
 * that has learned of one keeps posting after that peer is gone (a closed tab says nothing). A
 * tab still running a version from before `hello` never answers it: it is learned of by its first
 * announced write, and until then it does not hear this instance's writes (an idle old tab that
 * leads the connection sends a new tab's edits once it writes, or reconnects).
 *
 * @example
 * const announcer = new StoreAnnouncer(openStoreChannel('my-app')!);
 * announcer.announce({ kind: 'write', docIds: ['notes'] }); // posted only if another instance exists
 * announcer.stop();
 */
export class StoreAnnouncer {
  private peerKnown = false;
  /** Set once it kept more than `MAX_KEPT` doc ids alone: from then on it posts every write at once, as with a peer. */
  private postsAll = false;
  private keptIds = 0;
  /** What was written while no peer was known: doc ids by kind (and, for `track`, by algorithm). */
  private readonly unannounced = new Map<string, { change: Omit<StoreChange, 'docIds'>; docIds: Set<string> }>();
  private readonly listener = ({ data }: { data: unknown }): void => this.hear(data);

  /** Whether this instance has learned that another instance is on its database. */
  get knowsPeer(): boolean {
    return this.peerKnown;
  }

  /**
   * Starts listening on `channel` and says `hello` there.
   *
   * @param channel The database's channel (owned by the caller, who closes it).
   */
  constructor(private readonly channel: StoreChannel) {
    channel.addEventListener('message', this.listener);
    this.post({ type: 'hello' } satisfies StorePresence);
  }

  /**
   * Tells the other instances what was just written, now if one is known, else once one is.
   *
   * @param change What this instance just wrote (its transaction committed).
   */
  announce(change: StoreChange): void {
    if (this.peerKnown || this.postsAll) {
      this.post(change);
      return;
    }
    const key = change.kind === 'track' ? `track:${change.algorithm ?? ''}` : change.kind;
    let entry = this.unannounced.get(key);
    if (!entry) {
      const kept: Omit<StoreChange, 'docIds'> = { kind: change.kind };
      if (change.algorithm) kept.algorithm = change.algorithm;
      this.unannounced.set(key, (entry = { change: kept, docIds: new Set() }));
    }
    for (const docId of change.docIds) {
      if (entry.docIds.has(docId)) continue;
      entry.docIds.add(docId);
      this.keptIds++;
    }
    // A tab alone that writes many docs would keep every id for its life. Posting at once is as
    // good (a write posted before a newcomer listens committed before it first read the store),
    // only not free per write: past a bound, it does that.
    if (this.keptIds > MAX_KEPT) {
      this.postsAll = true;
      this.postKept();
    }
  }

  /**
   * Posts what it kept back and `changes` at once, whether a peer is known or not: the page is
   * going away (`pagehide`) and may run nothing more, not even the end of the writes under way.
   *
   * @param changes What the writes under way will have written, if they commit.
   */
  announceNow(changes: readonly StoreChange[]): void {
    this.postKept();
    for (const change of changes) this.post(change);
  }

  /**
   * Stops listening (the store is closing). What it kept back is posted first, once: a newcomer
   * whose `hello` is still on its way may have read the store before those writes.
   */
  stop(): void {
    this.postKept();
    this.channel.removeEventListener('message', this.listener);
  }

  private hear(data: unknown): void {
    // A channel never hands an instance its own messages: whatever arrives comes from a peer.
    if (isPresence(data) && data.type === 'hello') this.post({ type: 'here' } satisfies StorePresence);
    if (this.peerKnown) return;
    this.peerKnown = true;
    this.postKept();
  }

  private postKept(): void {
    const kept = [...this.unannounced.values()];
    this.unannounced.clear();
    this.keptIds = 0;
    for (const { change, docIds } of kept) this.post({ ...change, docIds: [...docIds] });
  }

  private post(message: StoreChange | StorePresence): void {
    try {
      this.channel.postMessage(message);
    } catch {
      // A closed channel: nobody is listening any more.
    }
  }
}

function isPresence(data: unknown): data is StorePresence {
  const type = typeof data === 'object' && data !== null ? (data as Partial<StorePresence>).type : undefined;
  return type === 'hello' || type === 'here';
}
