import { EMPTY, type Observable, defer } from 'rxjs';
import { StoreConflictError, StoreError, type StoreOutdatedError } from '../errors.js';
import type { Algorithm, Change, JSONPatchOp, PatchesState, TrackedDoc } from '../types.js';
import { openStoreChannel, storeChanges$, type StoreChannel } from '../streams/storeChanges.js';
import { pageAway$, pageTarget, type PageLifecycleTarget } from '../streams/pageAway.js';
import type { PatchesStore, ServerChangesUpdate, StoreChange, StoreGuard, StoredDoc, StoredDocSince, StoredQueue } from './PatchesStore.js';
import { guardConflict } from './guardConflict.js';
import { extendsLog, keptStateRev, leadsFrom, logCovers, maybeAbandoned, opsLogged, replayTail, wentBack, type DocRow } from './idbDocRow.js';
import { ALL_STORES, GUARDED_STORES, IDB_MIGRATIONS, docRange, type IDBStoreMigration, type Schema, type StoreName, type Tx } from './idbSchema.js';
import { clearDocData, fire, guardedRow, pendingOpsAt, putPendingQueue, putState, readGuarded, readPendingOps, retagQueue, retagged, rewoundTo } from './idbWrites.js';
import { IdbConnection } from './IdbConnection.js';
import { StoreAnnouncer } from './StoreAnnouncer.js';
import { WritesUnderWay } from './WritesUnderWay.js';
import { KnownQueues, queueEnd, type QueueEnd } from './KnownQueues.js';
import { afterWrite } from '../algorithms/lww/pathOrder.js';
import { raisedFloor, raisedFloorBy } from '../algorithms/lww/stampFloor.js';
import { deepCopy } from '../util/deepCopy.js';

/** What `readDoc` read: the queue, the rows after `since` if asked, the state if asked and needed (with the tail it lags by, until replayed). */
interface DocRead {
  queue: StoredQueue;
  since?: Change[];
  state?: unknown;
  stateRev?: number;
  tail?: { rev: number; change: Change }[];
}

/**
 * Options of `IndexedDBStore`.
 *
 * @example
 * const options: IndexedDBStoreOptions = { indexedDB: new IDBFactory(), compactEvery: 500 };
 */
export interface IndexedDBStoreOptions {
  /** The IndexedDB factory to open databases with (default: the global `indexedDB`). */
  indexedDB?: IDBFactory | undefined;
  /**
   * Committed history kept per doc, in revisions: the rows of the newest `compactEvery` revs stay,
   * older ones are deleted (default 200), every `compactEvery / 8` revisions (so up to that many
   * more rows may be there meanwhile).
   */
  compactEvery?: number | undefined;
  /**
   * Received revisions of a doc between writes of its whole committed state (default 50, at
   * most `compactEvery`). In between, a received change writes only its history row, and a read
   * replays the rows since the state. 1 writes the state every time.
   */
  snapshotEvery?: number | undefined;
  /**
   * Where writes are announced to (and heard from) other instances on the same database
   * (default: a `BroadcastChannel` named after the database, when the host has one; `null`: none).
   */
  channel?: StoreChannel | null | undefined;
  /**
   * The page whose lifecycle this store follows (default `window` where there is one; `null`:
   * none): while it is away (frozen, or in the back/forward cache: `pageAway$`), `changes$` holds
   * what the other instances wrote, and tells it once the page is back; on its `pagehide` the
   * store posts its writes under way at once (an unloading page may not live to see them commit).
   */
  page?: PageLifecycleTarget | null | undefined;
}

/**
 * A `PatchesStore` on IndexedDB (through `idb`): one database per `dbName` holding OT and LWW docs,
 * so tracked docs, their committed state and their unsent local changes survive reloads and
 * offline periods.
 *
 * Every method is one IndexedDB transaction, so it is all-or-nothing: `applyServerChanges`
 * (state + history rows + pending queue + sending slot), `savePendingChanges` (the revs are
 * re-stamped inside the transaction, and restored on the passed objects if it fails),
 * `saveSendingChange` and `deleteDoc` never leave half a write behind. It follows the same
 * contract as `InMemoryStore` (a shared spec runs against both): writes to a doc that is not
 * tracked reject, reads of one return empty values, a brand-new doc has a `null` state.
 *
 * Received changes: writing a doc's whole committed state costs a structured clone and a disk
 * write of the whole document, so a received change (`replayable`: its state is the change
 * applied, as `OTAlgorithm` and `LWWAlgorithm` say) writes only its history row, and the state is
 * written every `snapshotEvery` revisions (default 50); a read replays the rows since the state on
 * it (one more round trip, and applying at most `snapshotEvery − 1` changes). Anything else (a
 * catch-up that skips revs, a late LWW reply at an old rev, a server that went back, a snapshot, a
 * caller that does not say `replayable`) writes the whole state.
 *
 * Compaction: committed change rows are history (`listChanges`) and the tail the state replays.
 * After each `applyServerChanges` only the rows of the newest `compactEvery` revisions (default
 * 200) of that doc are kept; older ones are deleted (never the tail: it is shorter).
 *
 * Several instances on one database (tabs of an app, or instances in one process) stay correct:
 * every read-modify-write is guarded (`StoreGuard`): the check and the write run in one
 * transaction, so a write computed from data another instance changed in between rejects with a
 * `StoreConflictError` and writes nothing (a guard on the OT queue or the LWW pending ops, which
 * grow with offline edits, is checked against what this instance last read or wrote of them while
 * the doc's row still carries the queue tag it saw then, and a read of an OT queue read before
 * fetches only the rows appended since while the row's queue base stays: `KnownQueues`); and
 * every write is announced on the database's
 * `BroadcastChannel`, which the other instances' `changes$` emit. A store that knows of no other
 * instance posts nothing per write: it keeps what it wrote and posts it once one says hello
 * (`StoreAnnouncer`). A write under way as the store closes is announced as it commits (`close()`
 * waits for it), and one under way as its page is hidden (`pagehide`) is posted at once: another
 * instance reading on that word reads behind it (IndexedDB orders overlapping transactions).
 *
 * What reads hand out is the caller's to change, but for an LWW doc's pending ops: those are the
 * ops this store knows (the objects last written or read, in a new array), so a tab following
 * another's offline session neither reads nor copies thousands of them per write. Like a doc's
 * state, treat them as immutable (patches-rx never changes an op it holds).
 *
 * Failures reject with a `StoreError` (with `cause` and `docId`) and leave what was stored intact:
 * a `QuotaExceededError` or any other abort rolls the transaction back. When another connection
 * upgrades the database, this store closes its connection cleanly (transactions in flight finish
 * first), and every later call rejects with a `StoreOutdatedError` until the app is updated. When the database is deleted under it (another
 * tab's `indexedDB.deleteDatabase`) or its connection is closed abnormally (the site's storage
 * cleared, a disk failure, WebKit losing its database process with the data still on disk; see
 * `StoreLostError.reason`), the store is lost for this page: `outdated$` emits a `StoreLostError`
 * and every call rejects with it, and the database is never opened again (a new one, maybe made
 * already by another tab, would be empty while the page holds the old content). An open that is
 * blocked by an old connection that will not close rejects, and so does every call at once while
 * it stays blocked; once the blocker closes the open goes on and is used, and if it fails the next
 * call tries again.
 *
 * idb recognises IndexedDB objects through the global `IDBRequest`, `IDBDatabase`… constructors,
 * so outside a browser install them first (e.g. `import 'fake-indexeddb/auto'` in Node tests).
 *
 * @example
 * const store = new IndexedDBStore('my-app');
 * await store.trackDocs(['notes'], 'ot');
 * await store.savePendingChanges('notes', [change]);
 * const doc = await store.getDoc('notes'); // survives a reload
 * await store.close();
 */
export class IndexedDBStore implements PatchesStore {
  /**
   * The schema steps this store opens its database with; its version is `migrations.length`.
   * A subclass can append steps (a later schema) — they must keep every existing row. The library
   * may add steps of its own in any release, before the subclass's: each of those then runs one
   * version later, again, on a database it has already upgraded. So write such a step to be
   * idempotent: check `db.objectStoreNames` and `store.indexNames` before creating anything.
   *
   * @example
   * class AppStore extends IndexedDBStore {
   *   protected override readonly migrations = [
   *     ...IDB_MIGRATIONS,
   *     (db, tx) => {
   *       if (!db.objectStoreNames.contains('drafts')) db.createObjectStore('drafts', { keyPath: 'id' });
   *       const docs = tx.objectStore('docs');
   *       if (!docs.indexNames.contains('byAlgorithm')) docs.createIndex('byAlgorithm', 'algorithm');
   *     },
   *   ];
   * }
   */
  protected readonly migrations: readonly IDBStoreMigration[] = IDB_MIGRATIONS;

  private readonly compactEvery: number;
  /** Compaction runs when a write's rev enters another step of this many revs. */
  private readonly compactStep: number;
  private readonly snapshotEvery: number;
  /** Each doc's algorithm as last read, so a read can leave out the other algorithm's stores (checked on every read). */
  private readonly algorithms = new Map<string, Algorithm>();
  private readonly connection: IdbConnection;
  private channel: StoreChannel | null;
  private readonly announcer: StoreAnnouncer | undefined;
  /**
   * The page `changes$` holds the other instances' writes while it is away
   * (`IndexedDBStoreOptions.page`), and whose `pagehide` makes this store post its writes under way.
   */
  private readonly page: PageLifecycleTarget | null;
  /** The writes under way: `close()` waits for them, and `pagehide` names them at once. */
  private readonly writes = new WritesUnderWay();
  /** Posts the writes under way now (`StoreAnnouncer.announceNow`): the page may never run again. */
  private readonly leaving = (): void => this.announcer?.announceNow(this.writes.changes());
  /** The OT queues and LWW pending ops this instance last read or wrote, by tag: a guard on them reads nothing more (`KnownQueues`). */
  private readonly queues = new KnownQueues();

  /** Emits once when a newer build upgraded the database past this store's `migrations`, or the database was lost (`StoreLostError`; see `PatchesStore.outdated$`). */
  get outdated$(): Observable<StoreOutdatedError> {
    return this.connection.outdated$;
  }

  /** The schema version this store opens its database at (`migrations.length`; see `IDB_SCHEMA_VERSION`). */
  get schemaVersion(): number {
    return this.migrations.length;
  }

  /** What other instances on this database wrote (never this one's own writes); empty without a channel. */
  readonly changes$: Observable<StoreChange> = defer(() => (this.channel ? storeChanges$(this.channel, pageAway$(this.page)) : EMPTY));

  /**
   * @param dbName The database name (one database per name).
   * @param options See `IndexedDBStoreOptions`.
   *
   * @example
   * new IndexedDBStore('my-app', { compactEvery: 500 });
   */
  constructor(
    readonly dbName: string,
    options: IndexedDBStoreOptions = {},
  ) {
    // The steps are read when the database opens, so a subclass's own `migrations` count.
    this.connection = new IdbConnection(dbName, options.indexedDB, () => this.migrations);
    // Open and listening before the first transaction, so no write of another instance is missed.
    this.channel = options.channel === undefined ? (openStoreChannel(dbName) ?? null) : options.channel;
    this.announcer = this.channel ? new StoreAnnouncer(this.channel) : undefined;
    this.page = pageTarget(options.page) ?? null;
    if (this.announcer) this.page?.addEventListener('pagehide', this.leaving);
    this.compactEvery = options.compactEvery ?? 200;
    if (!(this.compactEvery >= 0)) throw new RangeError(`compactEvery must be >= 0, got ${options.compactEvery}`);
    this.compactStep = Math.max(1, Math.floor(this.compactEvery / 8));
    const snapshotEvery = options.snapshotEvery ?? 50;
    if (!(snapshotEvery >= 1)) throw new RangeError(`snapshotEvery must be >= 1, got ${options.snapshotEvery}`);
    // The tail must survive compaction, so it is never longer than what compaction keeps.
    this.snapshotEvery = Math.min(snapshotEvery, this.compactEvery);
  }

  /**
   * Track docs; an already-tracked doc keeps its algorithm and data, a tombstoned one is revived empty.
   *
   * @example
   * await store.trackDocs(['a', 'b'], 'lww');
   */
  async trackDocs(docIds: string[], algorithm: Algorithm): Promise<void> {
    await this.write({ kind: 'track', docIds, algorithm }, ['docs', 'states'], 'trackDocs', undefined, async (tx) => {
      const docs = tx.objectStore('docs');
      for (const docId of new Set(docIds)) {
        const row = await docs.get(docId);
        if (row && !row.deleted) continue;
        // A revived tombstone starts again at rev 0: its earlier revs are another history.
        fire(docs.put(row ? { docId, algorithm, committedRev: 0, logFrom: 0, ...wentBack(row, 0) } : { docId, algorithm, committedRev: 0, logFrom: 0 }));
        fire(tx.objectStore('states').put({ docId, state: null }));
      }
    });
  }

  /**
   * Stop tracking docs and drop all their data, tombstones included.
   *
   * @example
   * await store.untrackDocs(['a']);
   */
  async untrackDocs(docIds: string[]): Promise<void> {
    await this.write({ kind: 'untrack', docIds }, ALL_STORES, 'untrackDocs', undefined, async (tx) => {
      for (const docId of docIds) {
        fire(tx.objectStore('docs').delete(docId));
        clearDocData(tx, docId);
      }
    });
    for (const docId of docIds) {
      this.algorithms.delete(docId);
      this.queues.forget(docId);
    }
  }

  /**
   * Tracked docs in id order; tombstones only with `includeDeleted`.
   *
   * @example
   * const docs = await store.listDocs(true);
   */
  async listDocs(includeDeleted = false): Promise<TrackedDoc[]> {
    const rows = await this.connection.transact('readonly', ['docs'], 'listDocs', undefined, (tx) => tx.objectStore('docs').getAll());
    return rows.filter((row) => includeDeleted || !row.deleted).map(toTrackedDoc);
  }

  /**
   * Everything stored for a tracked, non-deleted doc, read in one transaction.
   *
   * @example
   * const doc = await store.getDoc<{ title: string }>('notes');
   */
  async getDoc<T = unknown>(docId: string): Promise<StoredDoc<T> | undefined> {
    const read = await this.readDoc(docId, { state: true }, 'getDoc');
    return read && { ...read.queue, state: read.state as T };
  }

  /**
   * The queue and the committed changes after `rev`, in one transaction; the state is read (in a
   * second round) only if those rows do not lead from `rev` to the committed rev, or if the doc
   * went back past `rev` since (`DocRow.rewound`: a view at `rev` may be of the abandoned history).
   *
   * @example
   * const news = await store.getDocSince('notes', view.committedRev); // { since: [...], pending, ... }
   */
  async getDocSince<T = unknown>(docId: string, rev: number): Promise<StoredDocSince<T> | undefined> {
    const read = await this.readDoc(docId, { state: true, since: rev }, 'getDocSince');
    if (!read) return undefined;
    const since = read.since ?? [];
    return read.state === undefined ? { ...read.queue, since } : { ...read.queue, since, state: read.state as T };
  }

  /**
   * Everything but the state, read in one transaction (the state can be large; nothing else is).
   *
   * @example
   * const queue = await store.getQueue('notes'); // { committedRev, pending, pendingOps, sending, ... }
   */
  async getQueue(docId: string): Promise<StoredQueue | undefined> {
    return (await this.readDoc(docId, {}, 'getQueue'))?.queue;
  }

  /**
   * One transaction over the doc's row and its algorithm's stores (an OT doc has no pending ops
   * or in-flight change, an LWW doc no pending changes: the writes refuse them), so a read waits
   * for fewer requests. The algorithm is the one this store last saw for the doc; if the row says
   * otherwise (another tab re-tracked it), the doc is read again over every store.
   *
   * `want.state` reads the state (with the history rows it lags by, replayed); with `want.since`
   * the history rows after that rev are read first, and the state only if they fall short.
   */
  private async readDoc(docId: string, want: { state?: boolean; since?: number }, action: string, algorithm: Algorithm | null = this.algorithms.get(docId) ?? null): Promise<DocRead | undefined> {
    const names: StoreName[] = ['docs'];
    if (want.state || want.since !== undefined) names.push('states', 'committedChanges');
    if (algorithm !== 'lww') names.push('pendingChanges');
    if (algorithm !== 'ot') names.push('pendingOps', 'sending');
    const { since } = want;
    const read = await this.connection.transact('readonly', names, action, docId, async (tx) => {
      const range = docRange(docId);
      const history = () => tx.objectStore('committedChanges');
      // An OT queue read whole before is read from where that read ended: if only appends came since, that is all.
      const from = algorithm !== 'lww' ? this.queues.readFrom(docId) : undefined;
      // LWW pending ops known under some tag are read whole (in a second round) only if the row's log does not lead from that tag.
      const [row, stored, rows, opsRead, sending, after] = await Promise.all([
        tx.objectStore('docs').get(docId),
        want.state && since === undefined ? tx.objectStore('states').get(docId) : undefined,
        algorithm !== 'lww' ? tx.objectStore('pendingChanges').getAll(from ? IDBKeyRange.bound([docId, from.lastSeq], [docId, []], true) : range) : [],
        algorithm === null || (algorithm === 'lww' && !this.queues.has(docId)) ? readPendingOps(tx, docId) : undefined,
        algorithm !== 'ot' ? tx.objectStore('sending').get(docId) : undefined,
        since !== undefined ? history().getAll(IDBKeyRange.bound([docId, since], [docId, []], true)) : undefined,
      ]);
      if (!row || row.deleted) return undefined;
      let pending: Change[] = [];
      if (row.algorithm === 'ot' && algorithm !== 'lww') {
        pending = (from && this.queues.extendRead(docId, row.queueBase, from, rows)) || (await this.readQueueWhole(tx, docId, row, from ? undefined : rows));
        // What the queue holds under the row's tag, as of this read (a read-only transaction sees one moment).
        this.queues.remember(docId, row.queueTag, { ids: pending.map((change) => change.id) });
      }
      let ops: readonly JSONPatchOp[] = [];
      if (algorithm !== 'ot' && row.algorithm === 'lww') {
        ops = await pendingOpsAt(tx, row, this.queues, opsRead);
        this.queues.remember(docId, row.queueTag, { ops });
      }
      const queue: StoredQueue = {
        docId,
        algorithm: row.algorithm,
        committedRev: row.committedRev,
        // The read is remembered for the next one to extend: callers get copies they may change
        // (but not of the LWW ops: see the class comment).
        pending: deepCopy(pending),
        pendingOps: ops.slice(),
        sending: sending?.change ?? null,
      };
      if (row.rewinds) queue.rewinds = row.rewinds;
      if (row.stampFloor !== undefined) queue.stampFloor = row.stampFloor;
      // Rows past the committed rev are a timeline the server went back from: not history.
      const sinceRows = after?.filter((r) => r.rev <= row.committedRev);
      const result: DocRead = { queue, since: sinceRows?.map((r) => r.change) };
      const rowsLead = sinceRows && leadsFrom(sinceRows, since!, row.committedRev) && logCovers(row, since!) && !maybeAbandoned(row, since!);
      if (!want.state || rowsLead) return result;
      // The state (in a second round if the rows fell short), then the rows it lags by.
      const stateRev = row.stateRev ?? row.committedRev;
      const [state, tail] = await Promise.all([
        stored ?? tx.objectStore('states').get(docId),
        stateRev < row.committedRev ? history().getAll(IDBKeyRange.bound([docId, stateRev], [docId, row.committedRev], true)) : undefined,
      ]);
      return { ...result, state: state?.state ?? null, stateRev, tail };
    });
    if (!read) return undefined;
    if (algorithm !== null && algorithm !== read.queue.algorithm) return this.readDoc(docId, want, action, null);
    this.algorithms.set(docId, read.queue.algorithm);
    if (read.tail) read.state = replayTail(read.queue, read.state, read.stateRev!, read.tail);
    return read;
  }

  /**
   * The committed revision (a tombstone keeps its last one; 0 for an unknown doc).
   *
   * @example
   * await store.getCommittedRev('notes');
   */
  async getCommittedRev(docId: string): Promise<number> {
    const row = await this.connection.transact('readonly', ['docs'], 'getCommittedRev', docId, (tx) => tx.objectStore('docs').get(docId));
    return row?.committedRev ?? 0;
  }

  /**
   * Install a server snapshot as the committed state; pending data is kept.
   *
   * @example
   * await store.saveDoc('notes', { state: { title: 'Hi' }, rev: 7 });
   */
  async saveDoc(docId: string, snapshot: PatchesState, expect?: StoreGuard): Promise<void> {
    await this.write({ kind: 'write', docIds: [docId] }, [...GUARDED_STORES, 'committedChanges'], 'saveDoc', docId, async (tx) => {
      const row = await guardedRow(tx, docId, expect);
      putState(tx, { ...rewoundTo(tx, row, snapshot.rev), logFrom: snapshot.rev }, snapshot.rev, snapshot.state);
    });
  }

  /**
   * Leave a tombstone: data cleared, `deleted: true`, algorithm and committed rev kept. Idempotent;
   * deleting a doc this store never tracked leaves an `'ot'` tombstone at rev 0.
   *
   * @example
   * await store.deleteDoc('notes');
   */
  async deleteDoc(docId: string): Promise<void> {
    await this.write({ kind: 'delete', docIds: [docId] }, ALL_STORES, 'deleteDoc', docId, async (tx) => {
      const row = await tx.objectStore('docs').get(docId);
      if (row?.deleted) return;
      const tombstone: DocRow = { docId, algorithm: row?.algorithm ?? 'ot', committedRev: row?.committedRev ?? 0, deleted: true };
      if (row?.rewound) tombstone.rewound = row.rewound;
      if (row?.rewinds) tombstone.rewinds = row.rewinds;
      fire(tx.objectStore('docs').put(tombstone));
      clearDocData(tx, docId);
    });
    this.queues.forget(docId);
  }

  /**
   * Remove everything, the tombstone included, if the doc holds what `expect` says (see
   * `PatchesStore.confirmDeleteDoc`). A no-op for an unknown doc.
   *
   * @example
   * await store.confirmDeleteDoc('notes', { deleted: true }); // only while it is a tombstone
   */
  async confirmDeleteDoc(docId: string, expect?: StoreGuard): Promise<void> {
    const removed = await this.write({ kind: 'untrack', docIds: [docId] }, ALL_STORES, 'confirmDeleteDoc', docId, async (tx) => {
      const { row, conflict } = await readGuarded(tx, docId, expect, this.queues);
      if (!row) return false;
      if (conflict) throw new StoreConflictError(docId, conflict);
      fire(tx.objectStore('docs').delete(docId));
      clearDocData(tx, docId);
      return true;
    }, (removed) => removed);
    if (removed) this.queues.forget(docId);
  }

  /**
   * The OT pending queue, in queue order.
   *
   * @example
   * const pending = await store.getPendingChanges('notes');
   */
  async getPendingChanges(docId: string): Promise<Change[]> {
    const rows = await this.connection.transact('readonly', ['pendingChanges'], 'getPendingChanges', docId, (tx) =>
      tx.objectStore('pendingChanges').getAll(docRange(docId)),
    );
    return rows.map((row) => row.change);
  }

  /**
   * Append to the OT pending queue; inside the transaction each passed change's `rev` is re-stamped
   * to `tail+1, tail+2, …` (tail = max(committedRev, last pending rev)). If the write fails the
   * passed changes get their old revs back.
   *
   * @example
   * await store.savePendingChanges('notes', [change]); // change.rev === committedRev + 1 on an empty queue
   */
  async savePendingChanges(docId: string, changes: Change[], expect?: StoreGuard): Promise<void> {
    const oldRevs = changes.map((change) => change.rev);
    try {
      await this.appendPending(docId, changes, expect, true).catch((error: unknown) => {
        if (!isConstraintError(error)) throw error;
        // The known end was not the queue's (a writer that did not retag it): nothing was written; find it by reading.
        this.queues.forget(docId);
        changes.forEach((change, i) => (change.rev = oldRevs[i]));
        return this.appendPending(docId, changes, expect, false);
      });
    } catch (error) {
      changes.forEach((change, i) => (change.rev = oldRevs[i]));
      throw error;
    }
  }

  /**
   * One append transaction. Where the queue ends (its last seq, and the rev the new changes follow)
   * is what this instance wrote last when the row's tag is still the one it wrote (`useKnown`),
   * else read from the queue's last row. The rows are `add`ed, so a wrong end can never overwrite
   * a change: the transaction fails with a `ConstraintError` instead.
   */
  private async appendPending(docId: string, changes: Change[], expect: StoreGuard | undefined, useKnown: boolean): Promise<void> {
    const latest = useKnown ? this.queues.latestEnd(docId) : undefined;
    const written = await this.write({ kind: 'write', docIds: [docId] }, ['docs', 'pendingChanges'], 'savePendingChanges', docId, async (tx) => {
      const pending = tx.objectStore('pendingChanges');
      const lastRow = () => pending.openCursor(docRange(docId), 'prev').then((cursor): QueueEnd => ({ seq: cursor?.value.seq ?? 0, rev: cursor?.value.change.rev ?? 0 }));
      const [row, read] = await Promise.all([guardedRow(tx, docId, expect, 'ot', this.queues), latest ? undefined : lastRow()]);
      const end = read ?? (latest && row.queueTag === latest.tag ? latest.end : await lastRow());
      let tail = Math.max(row.committedRev, end.rev);
      let seq = end.seq;
      const added: Promise<unknown>[] = [];
      for (const change of changes) {
        change.rev = ++tail;
        // Handled now (a later add may throw before they are awaited), awaited below.
        const request = pending.add({ docId, seq: ++seq, change });
        fire(request);
        added.push(request);
      }
      const tag = retagQueue(tx, row, true);
      // Awaited so a refused add is reported as what it is (the transaction's own error need not say).
      await Promise.all(added);
      return { from: row.queueTag, tag, end: changes.length > 0 ? { seq, rev: tail } : end };
    });
    // The guard held, so the queue was `expect.pendingIds`; without one, what it held is not known here.
    const ids = changes.map((change) => change.id);
    if (!expect?.pendingIds) this.queues.forget(docId);
    else if (!this.queues.extend(docId, written.from, written.tag, ids, written.end)) this.queues.remember(docId, written.tag, { ids: [...expect.pendingIds, ...ids], end: written.end });
  }

  /**
   * Replace the OT pending queue (revs and order kept as given): only its leading `replacedIds`
   * when given (a queue not starting with them is a conflict), else all of it.
   *
   * @example
   * await store.replacePendingChanges('notes', pieces, [original.id]);
   */
  async replacePendingChanges(docId: string, changes: Change[], replacedIds?: readonly string[], expect?: StoreGuard): Promise<void> {
    const written = await this.write({ kind: 'write', docIds: [docId] }, ['docs', 'pendingChanges'], 'replacePendingChanges', docId, async (tx) => {
      const [row, rows] = await Promise.all([guardedRow(tx, docId, expect, 'ot'), tx.objectStore('pendingChanges').getAll(docRange(docId))]);
      const queue = rows.map((row) => row.change);
      const kept = replacedIds ? queue.slice(replacedIds.length) : [];
      if (replacedIds) {
        const conflict = guardConflict({ committedRev: 0, pendingIds: queue.map((change) => change.id) }, { pendingIds: [...replacedIds, ...kept.map((change) => change.id)] });
        if (conflict) throw new StoreConflictError(docId, conflict);
      }
      const next = [...changes, ...kept];
      putPendingQueue(tx, docId, next);
      return { tag: retagQueue(tx, row), ids: next.map((change) => change.id), end: queueEnd(next) };
    });
    this.queues.remember(docId, written.tag, { ids: written.ids, end: written.end });
  }

  /**
   * Committed history rows with `rev > startAfterRev`, rev ascending (about `compactEvery` of them at most).
   *
   * @example
   * const since5 = await store.listChanges('notes', 5);
   */
  async listChanges(docId: string, startAfterRev = 0): Promise<Change[]> {
    const range = IDBKeyRange.bound([docId, startAfterRev], [docId, []], true);
    const rows = await this.connection.transact('readonly', ['committedChanges'], 'listChanges', docId, (tx) =>
      tx.objectStore('committedChanges').getAll(range),
    );
    return rows.map((row) => row.change);
  }

  /**
   * Apply server changes in one transaction: state, rev, history rows (then compaction), optional
   * pending queue and sending slot.
   *
   * @example
   * await store.applyServerChanges('notes', { state: next, rev: 8, changes: [committed], pending: rebased });
   */
  async applyServerChanges(docId: string, update: ServerChangesUpdate): Promise<void> {
    const tag = await this.write({ kind: 'write', docIds: [docId] }, ALL_STORES, 'applyServerChanges', docId, async (tx) => {
      let row = await guardedRow(tx, docId, update.expect, undefined, this.queues);
      const committedBefore = row.committedRev;
      if (update.pending && row.algorithm !== 'ot') {
        throw new StoreError(`Cannot replace the pending queue of LWW doc "${docId}"`, docId);
      }
      if (update.pending) row = retagged(row);
      if (row.algorithm === 'lww') {
        const stampFloor = raisedFloorBy(row.stampFloor, update.changes);
        if (stampFloor !== row.stampFloor) row = { ...row, stampFloor };
      }
      if (update.rev < row.committedRev && !update.regressed) throw new StoreConflictError(docId, `committedRev ${row.committedRev} > update rev ${update.rev}`);
      row = rewoundTo(tx, row, update.rev);
      if (!extendsLog(row, update)) row = { ...row, logFrom: update.rev };
      const stateRev = keptStateRev(row, update, this.snapshotEvery);
      if (stateRev === undefined) putState(tx, row, update.rev, update.state);
      else fire(tx.objectStore('docs').put({ ...row, committedRev: update.rev, stateRev }));
      const history = tx.objectStore('committedChanges');
      for (const change of update.changes) fire(history.put({ docId, rev: change.rev, change }));
      if (update.pending) putPendingQueue(tx, docId, update.pending);
      if (update.clearSending) fire(tx.objectStore('sending').delete(docId));
      // Compaction by rev (revs are consecutive), so it costs no read: rows the newest
      // `compactEvery` revisions leave out go (the state's tail is shorter than that), once per
      // step of revisions rather than with every write (a request each).
      if (Math.floor(update.rev / this.compactStep) !== Math.floor(committedBefore / this.compactStep)) {
        fire(history.delete(IDBKeyRange.bound([docId], [docId, update.rev - this.compactEvery])));
      }
      return row.queueTag;
    });
    if (update.pending) this.queues.remember(docId, tag, { ids: update.pending.map((change) => change.id), end: queueEnd(update.pending) });
  }

  /**
   * The LWW pending ops, one per path, in path order.
   *
   * @example
   * const ops = await store.getPendingOps('settings');
   */
  async getPendingOps(docId: string): Promise<JSONPatchOp[]> {
    return this.connection.transact('readonly', ['pendingOps'], 'getPendingOps', docId, (tx) => readPendingOps(tx, docId));
  }

  /**
   * Delete the ops at `pathsToDelete`, then upsert `ops` by path (so an op in `ops` always survives).
   *
   * @example
   * await store.savePendingOps('settings', [{ op: 'replace', path: '/theme', value: 'dark', ts: Date.now() }]);
   */
  async savePendingOps(docId: string, ops: JSONPatchOp[], pathsToDelete: string[] = [], expect?: StoreGuard): Promise<void> {
    const tag = await this.write({ kind: 'write', docIds: [docId] }, GUARDED_STORES, 'savePendingOps', docId, async (tx) => {
      const row = await guardedRow(tx, docId, expect, 'lww', this.queues);
      const store = tx.objectStore('pendingOps');
      for (const path of pathsToDelete) fire(store.delete([docId, path]));
      for (const op of ops) fire(store.put({ docId, path: op.path, op }));
      // Logged on the row, so another instance that knew the ops before reads only these paths (`pendingOpsAt`).
      const next = retagged(row);
      const stampFloor = raisedFloor(row.stampFloor, ops);
      fire(tx.objectStore('docs').put({ ...next, opsLog: opsLogged(row.opsLog, row.queueTag, next.queueTag, [...pathsToDelete, ...ops.map((op) => op.path)]), ...(stampFloor !== undefined && { stampFloor }) }));
      return next.queueTag;
    });
    // The guard held, so the ops were `expect.pendingOps` (in path order, as this store holds them);
    // without one, what they are is not known here. The caller's objects are kept: its next guard
    // names them, and is then compared by identity, not deeply.
    if (expect?.pendingOps) {
      this.queues.remember(docId, tag, { ops: afterWrite(expect.pendingOps, ops, pathsToDelete) });
    } else {
      this.queues.forget(docId);
    }
  }

  /**
   * The LWW in-flight change, or `null`.
   *
   * @example
   * const sending = await store.getSendingChange('settings');
   */
  async getSendingChange(docId: string): Promise<Change | null> {
    const row = await this.connection.transact('readonly', ['sending'], 'getSendingChange', docId, (tx) => tx.objectStore('sending').get(docId));
    return row?.change ?? null;
  }

  /**
   * In one transaction, set the LWW in-flight change (replacing any previous one) and clear all
   * pending ops of the doc (the change is built from them).
   *
   * @example
   * await store.saveSendingChange('settings', change);
   */
  async saveSendingChange(docId: string, change: Change, expect?: StoreGuard): Promise<void> {
    const tag = await this.write({ kind: 'write', docIds: [docId] }, GUARDED_STORES, 'saveSendingChange', docId, async (tx) => {
      const row = await guardedRow(tx, docId, expect, 'lww', this.queues);
      fire(tx.objectStore('sending').put({ docId, change }));
      // All of them, not just the paths sent: the guard held, so they are the ops the change was
      // built from, and one range delete beats one per op (thousands after an offline session).
      // Deleting by path would not have saved an op written behind the row's tag either (at a
      // path sent it goes too): the tag is what must hold, and schema 4 shuts out builds without it.
      fire(tx.objectStore('pendingOps').delete(docRange(docId)));
      return retagQueue(tx, row);
    });
    this.queues.remember(docId, tag, { ops: [] });
  }

  /**
   * Close the database; every later call rejects with a `StoreError`. The writes under way finish
   * first, and are announced to the other instances as they commit, before the channel closes (a
   * write waiting for another connection's transaction makes this wait as long). Idempotent.
   *
   * @example
   * await store.close();
   */
  async close(): Promise<void> {
    const closing = this.connection.close();
    await this.writes.settled();
    await closing;
    this.queues.clear();
    this.page?.removeEventListener('pagehide', this.leaving);
    this.announcer?.stop();
    this.channel?.close();
    this.channel = null;
  }

  /** The doc's whole OT queue (read now unless `rows` already are all of it), remembered for the next read to extend. */
  private async readQueueWhole(tx: Tx<'readonly'>, docId: string, row: DocRow, rows?: readonly Schema['pendingChanges']['value'][]): Promise<Change[]> {
    const all = rows ?? (await tx.objectStore('pendingChanges').getAll(docRange(docId)));
    this.queues.rememberRead(docId, row.queueBase, all);
    return all.map((r) => r.change);
  }

  /**
   * One write transaction, announced once it committed (unless `announces` says it wrote
   * nothing) to the other instances on this database (once there are any: `StoreAnnouncer`). It is
   * under way until then: `close()` waits for it, and the page leaving posts `change` at once.
   */
  private write<R>(change: StoreChange, names: StoreName[], action: string, docId: string | undefined, body: (tx: Tx<'readwrite'>) => Promise<R>, announces: (result: R) => boolean = () => true): Promise<R> {
    return this.writes.run(change, async () => {
      const result = await this.connection.transact('readwrite', names, action, docId, body);
      if (announces(result)) this.announcer?.announce(change);
      return result;
    });
  }
}

/** An IndexedDB write refused because its key is taken (an `add` over an existing row), as `transact` reports it. */
function isConstraintError(error: unknown): boolean {
  const cause = error instanceof StoreError ? error.cause : error;
  return (cause instanceof Error || (typeof DOMException !== 'undefined' && cause instanceof DOMException)) && cause.name === 'ConstraintError';
}

function toTrackedDoc(row: DocRow): TrackedDoc {
  const doc: TrackedDoc = { docId: row.docId, committedRev: row.committedRev, algorithm: row.algorithm };
  if (row.deleted) doc.deleted = true;
  return doc;
}
