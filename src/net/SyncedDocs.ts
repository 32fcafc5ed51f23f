import { BehaviorSubject, defer, type Observable } from 'rxjs';
import type { SyncedDoc } from '../types.js';
import { InOrderEmitter } from '../util/InOrderEmitter.js';
import { currentThenChanges } from '../util/currentThenChanges.js';

/**
 * The per-document status map behind `PatchesSync.synced`: immutable snapshots (every change is
 * a new object, so shallow comparison detects it; snapshots and entries are frozen, so a write
 * throws rather than reaching the entries kept here; an unchanged entry keeps its object), no
 * emission when nothing changed, and no write can recreate an entry that was removed: only
 * `put` adds entries, for docs its caller found tracked, and `mirror` for docs its caller tracks;
 * updates change existing entries only.
 *
 * Entries live in a Map and the public snapshot is built once per microtask checkpoint: a sync
 * pass over N docs makes several updates per doc in a row, and copying an N-key record on each of
 * them made a pass cost O(N²). A microtask (not a timer) keeps every state a user could see, e.g.
 * 'syncing' during a fast loopback round trip. Reading `value` always sees every update so far.
 * While nobody subscribes, no snapshot is built: the next reader (`value`, a new subscriber, the
 * stream's completion) gets one of the map as it is then. 200 docs opened and edited one by one,
 * each in microtasks of its own, made 400 snapshots of up to 200 keys that nobody saw (at 1,000
 * docs, half of the loop's time).
 */
export class SyncedDocs {
  private readonly entries = new Map<string, SyncedDoc>();
  /** Each entry's latest change, numbered from one counter, so no number comes twice (see {@link changesOf}). */
  private readonly lastChanges = new Map<string, number>();
  private lastChange = 0;
  /** Entries removed so far: what a doc without an entry answers `changesOf` by. */
  private removals = 0;
  private readonly subject = new BehaviorSubject<Readonly<Record<string, SyncedDoc>>>(NO_ENTRIES);
  /** A snapshot built during an emission (`value` read by a listener) is emitted after it, to everyone. */
  private readonly emitter = new InOrderEmitter<Readonly<Record<string, SyncedDoc>>>(snapshot => this.subject.next(snapshot));
  /** A microtask will flush the updates (see `queueFlush`). */
  private flushQueued = false;
  /** The subject's snapshot is older than the map: updates queued, or flushed while nobody listened (see `flush`). */
  private behind = false;
  /** Snapshots built so far (for tests). */
  private built = 0;

  /** Every distinct snapshot of the map, starting with the current one (the last one, then `complete`, once completed). */
  readonly synced$: Observable<Readonly<Record<string, SyncedDoc>>> = defer(() => {
    // Updates a microtask is about to flush come with it, as they would have.
    if (this.behind && !this.flushQueued) this.emitSnapshot();
    return currentThenChanges(this.subject);
  });

  /** The current snapshot, including updates not yet emitted. */
  get value(): Readonly<Record<string, SyncedDoc>> {
    if (this.behind) this.emitSnapshot();
    return this.emitter.latest ?? this.subject.value;
  }

  /** How many snapshots have been built (for tests: none while nobody listens). */
  get snapshots(): number {
    return this.built;
  }

  /** The doc's entry as it is now, updates not yet emitted included (builds no snapshot). */
  get(docId: string): SyncedDoc | undefined {
    return this.entries.get(docId);
  }

  /**
   * A number that moves whenever the doc's entry changes (set or removed). A value read from the
   * store is put only if this did not move during the read: an entry written meanwhile (a rev
   * the doc just applied, say) may be newer than what the read saw, and would be undone. A doc
   * without an entry answers by the removals so far, so nothing is kept of removed docs (a tab
   * going through many docs kept a count of each for good); a removal of another doc then moves
   * it too, and such a read is only made again.
   */
  changesOf(docId: string): number {
    return this.lastChanges.get(docId) ?? -this.removals;
  }

  /** Adds or replaces entries: those of docs the caller found tracked (a store read). */
  put(entries: Readonly<Record<string, SyncedDoc>>): void {
    for (const id in entries) this.set(id, entries[id]);
  }

  /**
   * Shows what another tab (the leader) has: drops the entries it `removed`, and replaces the
   * entries by its own, each as `shown` makes it, only for docs with an entry here or that this
   * tab `tracks`: the leader's map may still hold a doc this tab dropped (untracked or deleted
   * here), and is shown again on every change of this tab's map. A doc this tab tracks keeps its
   * entry whatever the leader removed, and gets the leader's when it has none: a removal may be
   * older than this tab's tracking (found in review: an untrack the leader heard late, then a
   * follower's openDoc, or a new leader's first map announced before it had read its docs), and
   * an entry dropped for it would never come back, the leader's later changes applying only to
   * existing entries. Its own untrack removes it (`remove`).
   */
  mirror(
    entries: Readonly<Record<string, SyncedDoc>>,
    removed: Iterable<string>,
    shown: (docId: string, entry: SyncedDoc) => SyncedDoc,
    tracks: (docId: string) => boolean = () => false,
  ): void {
    for (const id of removed) if (!tracks(id)) this.remove([id]);
    // `for…in`, not `Object.entries`: a follower is shown the leader's whole map on every announcement.
    for (const id in entries) if (this.entries.has(id) || tracks(id)) this.set(id, shown(id, entries[id]));
  }

  /** Updates fields of existing entries (a removed entry stays removed). */
  update(docIds: Iterable<string>, change: Partial<SyncedDoc> | ((entry: SyncedDoc) => Partial<SyncedDoc>)): void {
    for (const id of docIds) {
      const entry = this.entries.get(id);
      if (entry) this.set(id, { ...entry, ...(typeof change === 'function' ? change(entry) : change) });
    }
  }

  /** Removes entries. */
  remove(docIds: Iterable<string>): void {
    for (const id of docIds) {
      if (!this.entries.delete(id)) continue;
      this.lastChanges.delete(id);
      this.removals++;
      this.queueFlush();
    }
  }

  /**
   * Docs no longer syncing (all of them after a disconnect, or those given, whose run failed for
   * a reason that is not theirs): 'syncing' falls back to 'synced' or 'unsynced'.
   */
  settleSyncing(docIds: Iterable<string> = this.entries.keys()): void {
    for (const id of [...docIds]) {
      const entry = this.entries.get(id);
      if (entry?.status === 'syncing') this.set(id, settled(entry));
    }
  }

  /** Emits the pending updates now, then completes the stream. */
  complete(): void {
    if (this.behind) this.emitSnapshot();
    this.emitter.complete(() => this.subject.complete());
  }

  private set(id: string, entry: SyncedDoc): void {
    const current = this.entries.get(id);
    if (current && current.committedRev === entry.committedRev && current.hasPending === entry.hasPending && current.status === entry.status) return;
    // A frozen copy: the caller's object (another tab's message, say) stays the caller's.
    this.entries.set(id, Object.freeze({ committedRev: entry.committedRev, hasPending: entry.hasPending, status: entry.status }));
    this.changed(id);
  }

  private changed(id: string): void {
    this.lastChanges.set(id, ++this.lastChange);
    this.queueFlush();
  }

  private queueFlush(): void {
    this.behind = true;
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => this.flush());
  }

  /** Emits the pending updates now instead of at the end of the microtask (a leader about to stop announcing). */
  flush(): void {
    if (!this.flushQueued) return;
    if (this.subject.observed) return this.emitSnapshot();
    this.flushQueued = false;
  }

  /** Builds the snapshot of the map as it is now and emits it (to nobody, if nobody listens). */
  private emitSnapshot(): void {
    this.flushQueued = false;
    this.behind = false;
    this.built++;
    // Assigned one by one: `Object.fromEntries(map)` makes a [key, value] array per entry first
    // (nearly a third of a many-docs pass's allocations, measured), and is ~3× slower at 200 docs.
    const snapshot: Record<string, SyncedDoc> = {};
    this.entries.forEach((entry, id) => (snapshot[id] = entry));
    this.emitter.next(Object.freeze(snapshot));
  }
}

/** An entry no longer syncing: 'syncing' falls back to 'synced' (something committed or pending) or 'unsynced'; any other status stays. */
export function settled(entry: SyncedDoc): SyncedDoc {
  return entry.status === 'syncing' ? { ...entry, status: entry.committedRev > 0 || entry.hasPending ? 'synced' : 'unsynced' } : entry;
}

/** The snapshot before any entry. */
const NO_ENTRIES: Readonly<Record<string, SyncedDoc>> = Object.freeze({});
