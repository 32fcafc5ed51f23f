import { StatusError, StoreError } from '../../errors.js';
import type { Algorithm, Change, CommitChangesResult, DocumentTombstone, PatchesSnapshot } from '../../types.js';
import type { IncomingChange } from '../validate.js';
import type { Subscription } from 'rxjs';
import type { KeyedQueue } from '../../util/KeyedQueue.js';
import type { QueuedTask, SlotPriority, Slots } from '../../util/Slots.js';
import type { CarriedEntry, LogEntry, ServerStore, StoredDoc } from '../stores/ServerStore.js';
import { DuplicateChangeIdsError } from '../stores/DuplicateChangeIdsError.js';
import { RevConflictError } from '../stores/RevConflictError.js';
import type { SchedulerLike } from 'rxjs';
import { RefreshRetries } from './RefreshRetries.js';

/** How often a commit that lost the race to another server process is transformed again before a 503. */
const COMMIT_ATTEMPTS = 8;
/** How long after a lost commit race a document's commits take the cross-process lock first (ms). */
const CONTENDED_MS = 1_000;

/** Most cached documents one eviction pass looks at (see `evict`). */
const EVICT_SCAN = 32;

/**
 * What a refresh found: news (the document moved on, or was deleted or undeleted), nothing, or
 * another life of the document than the one loaded (deleted and created again while this process
 * missed the reports: `StoredDoc.recreated`).
 */
export type Refreshed = 'moved' | 'unchanged' | 'recreated';

/** Sends a notification about `docId` to its subscribers, except `exceptConnectionId`. */
export type Announce = (docId: string, method: 'changesCommitted' | 'docDeleted', params: { docId: string; changes?: Change[] }, exceptConnectionId?: string) => void;

/**
 * How many of its latest change ids a loaded document remembers to recognise a resend. For an OT
 * document it is the default of `rememberedChangeIds`, and matters for a resend whose committed
 * copy is at or before its `baseRev` (one after it is always recognised: it is in the history the
 * commit reads anyway); for an LWW document it is fixed (the option does not apply).
 */
export const REMEMBERED_CHANGE_IDS = 50_000;

/** Who made a call: the server connection id, stamped on committed OT changes as `clientId`. */
export interface CallOrigin {
  /** The connection's id. */
  connectionId: string;
  /**
   * Whether the caller may read the document (default true). A `commitChanges` of one that may
   * not is answered with its own changes only: no catch-up of others' changes or rows.
   */
  mayRead?: boolean;
}

/** Counters the services update (a subset of the server's `stats`). */
export interface DocServiceStats {
  /** Successful `commitChanges` calls. */
  commits: number;
  /** Changes stored (OT: committed changes; LWW: commits that stored rows). */
  changesCommitted: number;
  /** Re-sent changes recognised by id and not committed again. */
  duplicateChanges: number;
  /** OT changes dropped because their (transformed) ops did not apply to the head. */
  changesDropped: number;
  /** OT commits refused with 409 `{ scope: 'doc' }` because their transform passed `maxTransformWork` (their clients reload, rebase and resend). */
  commitsTooFarBehind: number;
  /** Snapshots written. */
  snapshots: number;
}

/** What both document services are built from. */
export interface DocServiceOptions {
  /** Where documents live. */
  store: ServerStore;
  /** The server-wide per-document FIFO lock. */
  lock: KeyedQueue;
  /**
   * The server-wide bound on documents loaded from the store at once (default: none, every load
   * starts at once). A `subscribe`'s loads wait behind every other (see {@link tombstoneOf}).
   */
  loads?: Slots | undefined;
  /** The server clock (ms epoch). */
  now: () => number;
  /** Take a snapshot after this many changes (OT) or commits (LWW). */
  snapshotEvery: number;
  /** How many of its latest change ids a loaded OT document remembers (default {@link REMEMBERED_CHANGE_IDS}); OT documents only. */
  rememberedChangeIds?: number;
  /** The most one change may add to an OT document through its `copy` ops, in bytes of JSON (about; default: no limit): the server's `maxChangeBytes`. */
  maxChangeBytes?: number | undefined;
  /** The most op pairs one OT commit's transform may pay for before it is refused with 409 `{ scope: 'doc' }` (default: no limit; `startServer`'s default is `MAX_TRANSFORM_WORK`). OT documents only. */
  maxTransformWork?: number | undefined;
  /** How long one slice of a commit's work may hold the event loop, in ms (default `SLICE_MS`, 10; `Infinity` runs it at once, as a test compares). */
  sliceMs?: number | undefined;
  /** How many documents to keep loaded in memory. */
  cacheSize: number;
  /** Notification sink. */
  announce: Announce;
  /** Counters to update. */
  stats: DocServiceStats;
  /** Receives faults that have no caller to answer (failed background snapshots). */
  onError: (error: unknown) => void;
  /** Documents this process's clients follow: kept loaded, so news from other processes can be announced. */
  isFollowed?: (docId: string) => boolean;
  /** Where the retries of a followed doc's failed refresh wait (default `asyncScheduler`). */
  scheduler?: SchedulerLike;
  /** The jitter of those retries, in [0, 1) (default `Math.random`). */
  random?: () => number;
}

/**
 * The refusal of a rev ahead of the document's head (a `commitChanges` baseRev or a
 * `getChangesSince` rev): 409 `{ scope: 'doc', headRev }`. A healthy client never asks for
 * one, so it means the client saw revisions this server no longer has (restored from a backup,
 * or it lost data); `headRev` tells it where the server is, and it reloads the doc.
 */
export function revisionAhead(what: string, rev: number, headRev: number): StatusError {
  return new StatusError(409, `REV_AHEAD: ${what} ${rev} is ahead of the document (rev ${headRev}); reload it`, { scope: 'doc', headRev });
}

/** What every loaded document carries. */
export interface LoadedDoc {
  docId: string;
  /** Latest committed rev. */
  headRev: number;
  /** Set when the document is deleted. */
  tombstone?: DocumentTombstone;
  /** A snapshot task is queued. */
  snapshotQueued?: boolean;
  /** Until when (the service's clock) commits take the cross-process lock before they try: a race was lost. */
  contendedUntil?: number;
  /** A write to the store failed with its outcome unknown: the doc is read again before the next write. */
  stale?: boolean;
}

interface CacheSlot<TDoc> {
  promise: Promise<TDoc>;
  doc?: TDoc;
  /** Its load, until it settles (then dropped, with what it holds of the slots' queue). */
  loading?: PendingLoad;
  /**
   * When the store began to read the doc held (the service's count of loads begun, see
   * {@link DocService.refresh}); unset for a doc written here whole (deleted, undeleted).
   */
  readAt?: number;
}

/** A document's load while it is under way, and who waits on it. */
interface PendingLoad {
  /** Moves it, while it waits for a slot, ahead of the subscribes' (`Slots.queue`): another call waits on it. */
  hurry(): void;
  /** Drops it, if it still waits for a slot: it never runs. */
  cancel(): boolean;
  /** Subscribes that wait on it and may stop waiting (see {@link DocService.tombstoneOf}). */
  subscribes: number;
  /** Another call waits on it (a commit, a read, a refresh): it is never cancelled. */
  kept: boolean;
}

/** A document read from the store, and when the read began (see {@link CacheSlot.readAt}). */
interface Loaded {
  stored: StoredDoc;
  readAt: number;
}

/**
 * The machinery both algorithms share: a bounded cache of loaded documents (loaded once even
 * under concurrent calls), tombstones (410 for every call on a deleted document), delete and
 * undelete under the per-document lock, and background snapshots.
 *
 * Reads (`getDoc`, `getChangesSince`) do not take the lock: they see the document as of the
 * last acknowledged commit. Writes take it, so each sees the result of the previous one.
 */
export abstract class DocService<TDoc extends LoadedDoc> {
  /** The algorithm this service runs. */
  abstract readonly algorithm: Algorithm;
  private readonly cache = new Map<string, CacheSlot<TDoc>>();
  /** Per doc, the entries of commit reports that wait for the doc's lock (see {@link refresh}). */
  private readonly reported = new Map<string, Set<CarriedEntry>>();
  /** Followed docs whose last refresh failed: tried again until one succeeds (see {@link refresh}). */
  private readonly retries: RefreshRetries;
  /** Loads begun (their reads of the store started), counted: when each began, in order. */
  private loadsBegun = 0;

  /** @param options store, lock, clock and sinks */
  constructor(protected readonly options: DocServiceOptions) {
    this.retries = new RefreshRetries((docId) => this.retryRefresh(docId), options.scheduler, options.random);
  }

  /** Stops the retries of failed refreshes (the server closes). */
  close(): void {
    this.retries.close();
  }

  /** The snapshot envelope a client hydrates from (§1.5.2 / §1.5.3). */
  abstract getDoc(docId: string): Promise<PatchesSnapshot>;

  /** Committed changes after `rev` (§1.5.4). */
  abstract getChangesSince(docId: string, rev: number): Promise<Change[]>;

  /**
   * `getChangesSince` for a client that takes a snapshot instead (`{ orSnapshot: true }`): by
   * default the changes (an LWW catch-up is one change already); OT answers the smaller of the
   * two (`smallerCatchUp`).
   */
  changesOrSnapshot(docId: string, rev: number, _measureFrom?: number): Promise<Change[] | PatchesSnapshot> {
    return this.getChangesSince(docId, rev);
  }

  /** Commits validated change inputs (§1.5.5 / §1.5.6). */
  abstract commitChanges(docId: string, changes: IncomingChange[], origin: CallOrigin): Promise<CommitChangesResult>;

  /** Builds the in-memory document from what the store returned. */
  protected abstract fromStored(docId: string, stored: StoredDoc): TDoc;

  /** A document with no history. */
  protected abstract emptyDoc(docId: string): TDoc;

  /** Writes a snapshot of `doc` and folds its tail. Runs under the lock. */
  protected abstract writeSnapshot(doc: TDoc): Promise<void>;

  /** Whether a snapshot is due. */
  protected abstract snapshotDue(doc: TDoc): boolean;

  /**
   * Applies log entries another process appended after `doc.headRev`, returning the changes to
   * announce; `undefined` (and `doc` untouched) when they do not continue it (the caller reloads).
   */
  protected abstract readOn(doc: TDoc, entries: LogEntry[]): Change[] | undefined;

  /**
   * Brings a loaded document up to date with what other server processes wrote (a store shared
   * by several processes reported it) and announces the news to this process's subscribers.
   * `reload` reads it whole again: after a delete or undelete, or a gap in the reports.
   * `knownRev`: a rev the store reported as committed (reading on that finds nothing reloads);
   * `carried`: the report's own entry, when the store's report carried it (see `StoreEvent`).
   *
   * A failed refresh rejects. A followed document stays loaded as it was, and a reload is tried
   * again, with backoff, until one succeeds (else its subscribers would not hear of this news, nor
   * of any the reports that failed meanwhile no longer tell of); one nobody follows is dropped, so
   * the next call loads it (kept, it served what the store no longer holds, a deleted doc
   * included, until it was evicted or written to).
   *
   * A document the store began to read after the report came (`reportedAt`, by default this
   * call: a load the refresh waited for, or an earlier refresh's reload) holds what the report
   * tells of: nothing is read again. A store that reports writes (`watch`) reports each one once
   * every read begun after it sees it.
   *
   * @param reportedAt when the report came ({@link loadsSoFar} then), if before this call
   * @return what it found: news, nothing, or another life of the document ({@link Refreshed})
   */
  refresh(docId: string, mode: 'read-on' | 'reload', knownRev = 0, carried?: CarriedEntry, reportedAt = this.loadsBegun): Promise<Refreshed> {
    if (carried) this.reported.set(docId, (this.reported.get(docId) ?? new Set()).add(carried));
    const done = this.options.lock.run(docId, async () => {
      this.forgetReport(docId, carried);
      try {
        return await this.refreshLocked(docId, mode, knownRev, carried, reportedAt);
      } catch (error) {
        if (!this.options.isFollowed?.(docId)) this.unload(docId);
        throw error;
      }
    });
    done.then(
      // Only a reload mends what a failed one left: a read-on (or a report it skips) does not.
      () => (mode === 'reload' ? this.retries.clear(docId) : undefined),
      // After `close` the retries schedule nothing.
      () => (this.options.isFollowed?.(docId) ? this.retries.schedule(docId) : this.retries.clear(docId)),
    );
    return done;
  }

  /**
   * A retry's turn: a reload of the doc if it is still followed (its failure was reported when it
   * first failed), else the doc is dropped, as after a failed refresh of a doc nobody follows.
   */
  private retryRefresh(docId: string): void {
    if (this.options.isFollowed?.(docId)) {
      this.refresh(docId, 'reload').catch(() => undefined);
      return;
    }
    this.retries.clear(docId);
    void this.options.lock.run(docId, () => (this.options.isFollowed?.(docId) ? undefined : this.unload(docId)));
  }

  /** Loads begun so far, counted: a doc read from a load begun later is read after now (see {@link refresh}). */
  loadsSoFar(): number {
    return this.loadsBegun;
  }

  /** Every loaded document, for {@link refresh} after a gap in the reports. */
  loadedDocIds(): string[] {
    return [...this.cache.keys()];
  }

  /**
   * Runs a commit attempt; when the store says another process took the rev first, reads what
   * it missed and runs the whole attempt (transform included) again, a bounded number of times.
   * On a store shared by several processes the retries run under the document's cross-process
   * lock, so a process that lost a race is not overtaken again and again; a document no process
   * raced for lately is tried once without it first (the append's compare-and-set is what makes
   * a commit correct; the lock costs two more round trips to the database).
   *
   * @throws StatusError 503 (retryable) when the document stays too contended
   */
  protected async retryOnConflict<R>(docId: string, attempt: () => Promise<R>): Promise<R> {
    const { store } = this.options;
    this.assertSameLife(docId, await this.reloadIfStale(docId));
    // A store only this process writes to has no lock to take.
    if (!store.lockDoc) return this.attemptCommit(docId, attempt);
    let lostTry = false;
    if (!this.contended(docId)) {
      this.applyReported(docId);
      try {
        return await attempt();
      } catch (error) {
        if (!(error instanceof RevConflictError || error instanceof DuplicateChangeIdsError)) throw error;
        lostTry = error instanceof RevConflictError;
        const loaded = this.cache.get(docId)?.doc;
        if (loaded) loaded.contendedUntil = this.options.now() + CONTENDED_MS;
      }
    }
    let release: (() => Promise<void>) | undefined;
    try {
      release = await store.lockDoc(docId);
    } catch (error) {
      this.options.onError(error);
      throw new StatusError(503, `Could not lock ${docId} for the commit; retry`, { scope: 'doc' });
    }
    try {
      // The commit that held the lock before is likely reported already, its report waiting for
      // this one's in-process lock: applied now, the attempt does not lose a race to it.
      const head = this.cache.get(docId)?.doc?.headRev;
      this.applyReported(docId);
      // A try that lost to a commit not reported yet: read it (a reload, if one is due, is the retries').
      if (lostTry && this.cache.get(docId)?.doc?.headRev === head) this.assertSameLife(docId, await this.refreshLocked(docId, 'read-on'));
      return await this.attemptCommit(docId, attempt);
    } finally {
      await release?.().catch((error: unknown) => this.options.onError(error));
    }
  }

  /**
   * Before a read from `rev` that is past the loaded head, on a store other processes write to:
   * reads the store on, since one of them may have committed up to it unheard so far (the client
   * just committed there). Not for a caller that holds the doc's lock.
   */
  protected async readOnIfAhead(docId: string, rev: number): Promise<void> {
    if (!this.options.store.lockDoc) return;
    if (rev > (await this.openLive(docId)).headRev) await this.refresh(docId, 'read-on');
  }

  /**
   * What to throw for a commit whose base rev is ahead of the loaded head. Another process may
   * have committed up to it and its report not reached this one yet (a client that moved to this
   * process right after a commit there, a LISTEN connection down): the first time in a commit
   * (`attempt.readOn` still false) it is a lost race, which reads the store on and tries again;
   * after that the client really is ahead: 409 `REV_AHEAD`.
   */
  protected aheadOfHead(docId: string, what: string, rev: number, headRev: number, attempt: { readOn: boolean }): Error {
    // A store only this process writes to: the loaded head is the head.
    if (attempt.readOn || !this.options.store.lockDoc) return revisionAhead(what, rev, headRev);
    attempt.readOn = true;
    return new RevConflictError(docId, headRev + 1);
  }

  /**
   * Refuses a call (410, as for a deleted doc) whose refresh found another life of the doc than
   * the one it arrived for: its client knows the life this process served, which was deleted
   * meanwhile (its subscribers are told `docDeleted`). A commit to the new one would land its ops
   * on a document they were not written for; changes since a rev of the new one would read as
   * continuing the old. Only the call whose refresh found it is refused: a call after it (a commit
   * queued behind it) is served from the new life, as after a delete heard live, since nothing in a
   * call says which life its rev belongs to (its subscribers, told `docDeleted` first, drop the doc).
   *
   * @throws StatusError 410 when `found` is `'recreated'`
   */
  protected assertSameLife(docId: string, found: Refreshed): void {
    if (found === 'recreated') throw new StatusError(410, `Document ${docId} was deleted and created again since this server loaded it`, { scope: 'doc' });
  }

  /** Whether the doc's commits take the cross-process lock before they try: this process lost a race for it lately. */
  private contended(docId: string): boolean {
    return this.options.now() < (this.cache.get(docId)?.doc?.contendedUntil ?? 0);
  }

  private async attemptCommit<R>(docId: string, attempt: () => Promise<R>): Promise<R> {
    for (let tries = 1; ; tries++) {
      try {
        return await attempt();
      } catch (error) {
        if (!(error instanceof RevConflictError || error instanceof DuplicateChangeIdsError)) throw error;
        if (tries >= COMMIT_ATTEMPTS) {
          throw new StatusError(503, `Document ${docId} is busy: ${tries} commit attempts lost to other servers; retry`, { scope: 'doc' });
        }
        // The attempt learned which resent ids are committed: nothing to read.
        if (error instanceof DuplicateChangeIdsError) continue;
        // Nothing new in the log means the race was over a delete or an id: read the doc whole.
        const read = await this.refreshLocked(docId, 'read-on');
        this.assertSameLife(docId, read === 'unchanged' ? await this.refreshLocked(docId, 'reload') : read);
      }
    }
  }

  /**
   * The tombstone of `docId`, if it is deleted: what a `subscribe` asks of each of its documents.
   * A load it starts waits for its turn behind the loads of every other call (a commit, a read,
   * a reload), as a subscribe's thousands of them would queue those calls behind them all.
   * Once `until` is unsubscribed (the subscribe stopped waiting), a load that has not started and
   * that no other call waits on is dropped (it rejects with a `TaskCancelled`), and the doc stays unloaded.
   */
  async tombstoneOf(docId: string, until?: Subscription): Promise<DocumentTombstone | undefined> {
    return (await this.open(docId, 'later', until)).tombstone;
  }

  /** @throws StatusError 410 with `{ deletedAt, lastRev }` when the document is deleted */
  async assertLive(docId: string): Promise<void> {
    await this.openLive(docId);
  }

  /**
   * Deletes a document: writes a tombstone, erases its history, and tells the other
   * subscribers (`docDeleted`). Deleting an already deleted or never created document succeeds.
   */
  deleteDoc(docId: string, origin: CallOrigin): Promise<void> {
    return this.options.lock.run(docId, async () => {
      await this.reloadIfStale(docId);
      const doc = await this.open(docId);
      if (doc.tombstone) return;
      const tombstone: DocumentTombstone = {
        docId,
        deletedAt: this.options.now(),
        lastRev: doc.headRev,
        deletedByClientId: origin.connectionId,
      };
      try {
        await this.options.store.deleteDoc(docId, tombstone);
      } catch (error) {
        throw this.writeFailed(doc, error, 'the delete of');
      }
      this.put(docId, { ...this.emptyDoc(docId), tombstone });
      this.options.announce(docId, 'docDeleted', { docId }, origin.connectionId);
    });
  }

  /**
   * Removes a tombstone; the document restarts empty. Resolves whether there was one: a store
   * several processes share may have none left although this process holds it (another process
   * undeleted the doc, perhaps wrote to it since, and its report is not here yet). Then the doc is
   * live already, as for an undelete of a live doc on one process: `false`, and the doc is read
   * as the store holds it (its subscribers, told of the delete, hear the new life's changes), so
   * the report, when it comes, finds the life this process holds and tells nobody of a delete.
   */
  undeleteDoc(docId: string): Promise<boolean> {
    return this.options.lock.run(docId, async () => {
      await this.reloadIfStale(docId);
      const doc = await this.open(docId);
      if (!doc.tombstone) return false;
      try {
        if (!(await this.options.store.removeTombstone(docId))) {
          await this.refreshLocked(docId, 'reload');
          return false;
        }
      } catch (error) {
        throw this.writeFailed(doc, error, 'the undelete of');
      }
      this.put(docId, this.emptyDoc(docId));
      return true;
    });
  }

  /** Opens a document that must not be deleted. @throws StatusError 410 with `{ deletedAt, lastRev }` */
  protected async openLive(docId: string): Promise<TDoc> {
    const doc = await this.open(docId);
    if (doc.tombstone) {
      const { deletedAt, lastRev } = doc.tombstone;
      throw new StatusError(410, `Document ${docId} was deleted`, { deletedAt, lastRev });
    }
    return doc;
  }

  /**
   * The loaded document, loading it once however many callers ask at the same time; a load waits
   * for one of the server's load slots (`options.loads`), at `priority`. A caller that gives
   * `until` (a subscribe) may stop waiting (see {@link tombstoneOf}).
   */
  protected open(docId: string, priority: SlotPriority = 'first', until?: Subscription): Promise<TDoc> {
    const slot = this.cache.get(docId);
    if (slot) {
      // Refresh its place in the LRU order.
      this.cache.delete(docId);
      this.cache.set(docId, slot);
      this.waitOn(docId, slot, priority, until);
      return slot.promise;
    }
    const { result, hurry, cancel } = this.load(docId, priority);
    const fresh: CacheSlot<TDoc> = {
      promise: result.then(({ stored, readAt }) => {
        const doc = this.fromStored(docId, stored);
        fresh.doc = doc;
        fresh.readAt = readAt;
        return doc;
      }),
      loading: { hurry, cancel, subscribes: 0, kept: false },
    };
    fresh.promise.then(
      () => (fresh.loading = undefined),
      () => {
        fresh.loading = undefined;
        if (this.cache.get(docId) !== fresh) return;
        this.cache.delete(docId);
        this.options.store.unloadDoc?.(docId);
      },
    );
    this.cache.set(docId, fresh);
    this.waitOn(docId, fresh, priority, until);
    this.evict();
    return fresh.promise;
  }

  /**
   * Notes who waits on a slot's load under way. A commit or read (or a refresh) keeps it, and
   * moves it ahead of the subscribes' if one queued it: not behind the rest of the herd. Once
   * every subscribe that waits on it alone stopped waiting, a load still queued is dropped.
   */
  private waitOn(docId: string, slot: CacheSlot<TDoc>, priority: SlotPriority, until?: Subscription): void {
    const { loading } = slot;
    if (!loading) return;
    if (!until) {
      loading.kept = true;
      if (priority === 'first') loading.hurry();
      return;
    }
    loading.subscribes++;
    until.add(() => {
      if (slot.loading !== loading || --loading.subscribes > 0 || loading.kept || !loading.cancel()) return;
      // It never read anything: nothing for the store to forget.
      if (this.cache.get(docId) === slot) this.cache.delete(docId);
    });
  }

  /**
   * What a write under the lock throws when the store failed it for another reason than a lost
   * race. Its outcome is unknown (the store may have kept it and lost the answer), so the doc is
   * read again before the next write, and a reload queued behind this lock holder announces
   * what the store kept. The loaded doc stays meanwhile: forgotten, a doc this process's clients
   * follow would hear nothing more from other processes (their news goes to loaded docs only).
   */
  protected writeFailed(doc: TDoc, error: unknown, what: string): StatusError {
    doc.stale = true;
    this.options.onError(error);
    this.refresh(doc.docId, 'reload').catch((reloadError: unknown) => this.options.onError(reloadError));
    return new StatusError(503, `Could not store ${what} ${doc.docId}; retry`, { scope: 'doc' });
  }

  /** Under the lock, before a write: reads the doc again if a write's outcome is unknown. */
  private async reloadIfStale(docId: string): Promise<Refreshed> {
    if (!this.cache.get(docId)?.doc?.stale) return 'unchanged';
    const found = await this.refreshLocked(docId, 'reload');
    this.retries.clear(docId);
    return found;
  }

  /** Queues a snapshot behind the current lock holder when one is due. */
  protected maybeSnapshot(doc: TDoc): void {
    if (doc.snapshotQueued || !this.snapshotDue(doc)) return;
    doc.snapshotQueued = true;
    this.options.lock
      .run(doc.docId, async () => {
        doc.snapshotQueued = false;
        // A doc whose last write's outcome is unknown is not what the store holds: no snapshot of it.
        if (this.cache.get(doc.docId)?.doc !== doc || doc.tombstone || doc.stale || !this.snapshotDue(doc)) return;
        await this.writeSnapshot(doc);
        this.options.stats.snapshots++;
      })
      .catch((error: unknown) => this.options.onError(error));
  }

  /** Checks that stored entries belong to this algorithm. */
  protected checkKind(docId: string, kind: LogEntry['kind'] | undefined): void {
    if (kind !== undefined && kind !== this.algorithm) {
      throw new StoreError(`Document "${docId}" is stored as ${kind.toUpperCase()}, but this server routes it to ${this.algorithm.toUpperCase()}`, docId);
    }
  }

  /** `getChangesSince` for a caller that holds the document's lock (a service whose reads may reload takes no lock here). */
  protected changesSinceLocked(docId: string, rev: number): Promise<Change[]> {
    return this.getChangesSince(docId, rev);
  }

  /**
   * Under the doc's lock: applies the entries reports carried that follow the loaded doc's head
   * and announces them, as their refreshes will find they have nothing left to do.
   */
  private applyReported(docId: string): void {
    const doc = this.cache.get(docId)?.doc;
    const waiting = this.reported.get(docId);
    if (!doc || doc.tombstone || !waiting) return;
    for (const carried of waiting) {
      const next = carried(doc.headRev);
      if (next) this.applyEntries(doc, [next]);
    }
  }

  /** Applies entries that continue the loaded doc and announces them; false (doc untouched) when they do not. */
  private applyEntries(doc: TDoc, entries: LogEntry[]): boolean {
    const news = this.readOn(doc, entries);
    if (!news) return false;
    if (news.length) this.options.announce(doc.docId, 'changesCommitted', { docId: doc.docId, changes: news });
    this.maybeSnapshot(doc);
    return true;
  }

  private forgetReport(docId: string, carried: CarriedEntry | undefined): void {
    const waiting = this.reported.get(docId);
    if (!carried || !waiting) return;
    waiting.delete(carried);
    if (waiting.size === 0) this.reported.delete(docId);
  }

  /**
   * {@link refresh} under the lock. Resolves with what it found. `reportedAt`: the count of loads
   * begun when the report came (a doc read after it is up to date with it).
   */
  private async refreshLocked(docId: string, mode: 'read-on' | 'reload', knownRev = 0, carried?: CarriedEntry, reportedAt?: number): Promise<Refreshed> {
    // A document being loaded (a read does not take the lock) may have been read before the
    // reported commit: wait for it and read on from there. A subscribe's load is moved ahead of
    // the others (`hurry`): the calls queued behind this lock (a delete, say) wait on it too.
    const slot = this.cache.get(docId);
    if (slot) this.waitOn(docId, slot, 'first');
    const doc = slot?.doc ?? (await slot?.promise.catch(() => undefined));
    const held = this.cache.get(docId);
    if (!doc || held?.doc !== doc) return 'unchanged';
    // Read from the store after the report came (no write of its own in doubt since): it holds
    // what was reported. A load begun before it may not: it is read on (or again), below.
    if (reportedAt !== undefined && held.readAt !== undefined && held.readAt > reportedAt && !doc.stale) return 'unchanged';
    const before = doc.headRev;
    if (mode === 'read-on' && !doc.tombstone && !doc.stale) {
      // A report this process has overtaken (it read on past it, e.g. after losing a commit race).
      if (knownRev > 0 && knownRev <= before) return 'unchanged';
      // The report's own entry when it is the next one: nothing to read.
      const next = carried?.(before);
      const entries = next ? [next] : await this.options.store.readLog(docId, before);
      // Nothing after our head although a later rev was reported: folded into a snapshot (LWW).
      if (entries.length === 0 && knownRev <= before) return 'unchanged';
      if (entries.length && this.applyEntries(doc, entries)) return 'moved';
    }
    // The loaded doc stays until the store answers: a failed read leaves it (and its followers) in place.
    const { stored, readAt } = await this.load(docId, 'first').result;
    const fresh = this.fromStored(docId, stored);
    this.put(docId, fresh, readAt);
    if (fresh.tombstone) {
      if (!doc.tombstone) this.options.announce(docId, 'docDeleted', { docId });
      return doc.tombstone ? 'unchanged' : 'moved';
    }
    // Deleted and created again while this process missed the reports: the delete, heard late. Its
    // subscribers are told as when it is heard (their next news is the new life's, from rev 1).
    const recreated = !doc.tombstone && stored.recreated === true;
    if (recreated) this.options.announce(docId, 'docDeleted', { docId });
    // Undeleted by another process: the document started over from rev 0.
    const from = doc.tombstone || recreated ? 0 : before;
    if (fresh.headRev > from) {
      const missed = await this.changesSinceLocked(docId, from);
      if (missed.length) this.options.announce(docId, 'changesCommitted', { docId, changes: missed });
    }
    if (recreated) return 'recreated';
    return fresh.headRev !== from || doc.tombstone !== undefined ? 'moved' : 'unchanged';
  }

  /** Reads a document from the store once one of the server's load slots is free. */
  private load(docId: string, priority: SlotPriority): QueuedTask<Loaded> {
    const read = async (): Promise<Loaded> => {
      const readAt = ++this.loadsBegun;
      return { stored: await this.options.store.loadDoc(docId), readAt };
    };
    const { loads } = this.options;
    return loads ? loads.queue(read, priority) : { result: read(), hurry: () => {}, cancel: () => false };
  }

  /** Drops the loaded document (under its lock) and tells the store: the next call loads it. */
  private unload(docId: string): void {
    if (!this.cache.get(docId)?.doc) return;
    this.cache.delete(docId);
    this.options.store.unloadDoc?.(docId);
  }

  /** Holds `doc` as the doc's state: read from the store at `readAt`, or written here whole. */
  private put(docId: string, doc: TDoc, readAt?: number): void {
    this.cache.delete(docId);
    this.cache.set(docId, { promise: Promise.resolve(doc), doc, readAt });
    this.evict();
  }

  /**
   * Drops the least recently used documents that are loaded and idle, and tells the store
   * (`unloadDoc`). Documents that must stay (loading, locked or followed) are moved to the back
   * as they are passed, and one call looks at no more than {@link EVICT_SCAN} documents: a cache
   * full of followed documents (100,000 subscriptions) would otherwise be scanned whole on every load.
   */
  private evict(): void {
    let budget = EVICT_SCAN;
    for (const [docId, slot] of this.cache) {
      if (this.cache.size <= this.options.cacheSize || budget-- === 0) break;
      this.cache.delete(docId);
      if (!slot.doc || this.options.lock.isBusy(docId) || this.options.isFollowed?.(docId)) this.cache.set(docId, slot);
      else this.options.store.unloadDoc?.(docId);
    }
  }
}
