/**
 * The reference server's storage contract: per document, an append-only log of commit records,
 * an occasional snapshot, and an optional tombstone. The document services hold all the rules
 * (transform, LWW resolution, dedup); a store only has to keep what it is given, in order, and
 * never acknowledge an append it could lose.
 */
import type { Change, DocumentTombstone, JSONPatchOp } from '../../types.js';
import type { StoreError } from '../../errors.js';

/** One OT commit: the changes it committed, with contiguous server revs. */
export interface OTLogEntry {
  kind: 'ot';
  /** Committed changes in rev order (never empty). */
  changes: Change[];
}

/** One LWW commit: the stored rows it wrote and the paths whose rows it deleted. */
export interface LWWLogEntry {
  kind: 'lww';
  /** The document rev this commit produced. */
  rev: number;
  /** Server clock at commit. */
  committedAt: number;
  /** Ids of the changes this commit consumed (for retry dedup). */
  changeIds: string[];
  /** Rows written: concrete `replace`/`remove` ops carrying `ts` and `rev`. */
  save: JSONPatchOp[];
  /** Paths whose rows were deleted (covered by a new parent write, or removed ancestors). */
  remove: string[];
}

/** A record in a document's log. */
export type LogEntry = OTLogEntry | LWWLogEntry;

/** OT snapshot: the document state after `rev`. */
export interface OTSnapshot {
  kind: 'ot';
  /** Every change up to and including this rev is folded into `state`. */
  rev: number;
  /** The document at `rev` (`null` for a document whose changes never created a root). */
  state: unknown;
  /** Id and batchId of the change at rev 1: recognises the upload that created the doc (§1.5.5). */
  first?: { id: string; batchId?: string };
}

/** LWW snapshot: every stored row at `rev`, plus the change ids remembered for dedup. */
export interface LWWSnapshot {
  kind: 'lww';
  /** The document rev the rows describe. */
  rev: number;
  /** Stored rows (`replace`/`remove` with `ts` and `rev`). */
  rows: JSONPatchOp[];
  /** Recently committed change ids with the rev that consumed them, oldest first. */
  changeIds: Array<[id: string, rev: number]>;
}

/** A snapshot of either kind. */
export type DocSnapshot = OTSnapshot | LWWSnapshot;

/** What a store returns when a document is opened. */
export interface StoredDoc {
  /** The latest snapshot, if one was taken. */
  snapshot?: DocSnapshot;
  /** Every log entry after the snapshot's rev (all entries when there is no snapshot), in order. */
  tail: LogEntry[];
  /** Present when the document was deleted; the log and snapshot are then empty. */
  tombstone?: DocumentTombstone;
  /**
   * Set by a store several processes share (see `watch`) when the document was deleted since this
   * process last loaded, read or wrote it, and is live again (undeleted, perhaps written to since):
   * what the process holds is an earlier life of it, whose delete it never heard of (it missed the
   * reports, e.g. while a LISTEN connection was down). It tells for every document the server
   * holds, from its `loadDoc` until its `unloadDoc`, however many that is. The server takes it for
   * that delete heard late: its subscribers are told `docDeleted`, then the new life's changes from
   * rev 1, and the one call whose reload found it (a commit, or an OT history read that found the
   * stored history changed under it) is refused with 410. Only that one: a call after it (an
   * old-life commit queued behind it) is served from the new life, and one answered from memory
   * before the reload from the old, as around a delete heard live, since no call says which life
   * its rev belongs to (our client, told `docDeleted` first, drops the document before it sends
   * more). Stores of one process leave it out.
   */
  recreated?: boolean;
}

/** A commit report's own entry, handed out for a head rev it follows (see `StoreEvent`). */
export type CarriedEntry = (headRev: number) => LogEntry | undefined;

/**
 * A write another server process made to a store they share (see `ServerStore.watch`):
 * `commit` (revs `firstRev..lastRev` of `docId` are in the log), `delete`, `undelete`, or
 * `resync` after a gap in these reports (every cached document may be stale).
 *
 * A `commit` report may carry the entry itself (`carried`), so a process that holds the document
 * up to `firstRev - 1` reads nothing: called with the head rev the process holds, it returns
 * the entry only if it is the very next one of the incarnation the store knows now (another
 * process may have deleted and recreated the document since the report was sent), else
 * `undefined`, and the log is read as without it.
 *
 * A report comes once what it tells of is visible: every `loadDoc` or `readLog` begun after it
 * sees the write (PostgreSQL delivers a NOTIFY after its commit is visible), and a `resync` comes
 * once every write of the gap is. The server relies on it: a document read from a load begun after
 * a report (or a resync) is not read again for it.
 */
export type StoreEvent =
  | { type: 'commit'; docId: string; firstRev: number; lastRev: number; carried?: CarriedEntry }
  | { type: 'delete' | 'undelete'; docId: string }
  | { type: 'resync' };

/**
 * Persistence for the reference server. Calls for one document are never concurrent with an
 * `append`, `saveSnapshot`, `deleteDoc` or `removeTombstone` for the same document (the server
 * serialises them per document); `readLog` may run alongside an `append`.
 *
 * ## Example
 * ```ts
 * const store: ServerStore = new MemoryServerStore();
 * await store.append('doc1', { kind: 'ot', changes: [committed] });
 * const { tail } = await store.loadDoc('doc1');
 * ```
 */
export interface ServerStore {
  /**
   * Set by stores whose `append` refuses an OT entry holding a change id already in the
   * document's log (a unique key, as PostgreSQL's), rejecting with `DuplicateChangeIdsError` and
   * writing nothing. The server then keeps only the ids since the latest snapshot in memory and
   * learns of an older one from the refusal. Without it, the server reads the ids of the whole
   * history once per load, before the first commit that brings an id it does not know.
   */
  readonly uniqueChangeIds?: boolean;
  /**
   * Optional: set once the store takes no more writes until the process restarts (the error each
   * write gets, e.g. `FileServerStore` after a failed sync). The server's `stats.storeStopped`
   * carries its message, and `healthCheck` answers 503 so an orchestrator restarts the process.
   */
  readonly writesStopped?: StoreError | undefined;
  /**
   * Optional: how many documents the store loads well at once (a positive integer). The server
   * loads at most this many at once, for all its calls together, and a resync reloads two fewer
   * (at least one), so a commit's load finds room meanwhile. Without it, 6 and 4
   * ({@link DEFAULT_CONCURRENT_LOADS}, `RESYNC_RELOADS`). `PostgresServerStore` derives it from
   * its pool's size (never more than the default) unless told.
   */
  readonly concurrentLoads?: number | undefined;
  /**
   * Optional: gets the store ready and rejects if it cannot work (a data directory it may not
   * write, a database it cannot reach). `startServer` awaits it before it listens, so such a
   * fault stops the start with its own error instead of failing every call. May be called more than once.
   */
  open?(): Promise<void>;
  /** Opens a document: latest snapshot, the log after it, and its tombstone. Unknown docs are empty. */
  loadDoc(docId: string): Promise<StoredDoc>;
  /** Every log entry holding a rev greater than `afterRev`, in order (older history than the snapshot included). */
  readLog(docId: string, afterRev: number): Promise<LogEntry[]>;
  /** Appends one commit record. Must not resolve before the record would survive a crash. */
  append(docId: string, entry: LogEntry): Promise<void>;
  /** Stores a snapshot; later `loadDoc` calls start from it. */
  saveSnapshot(docId: string, snapshot: DocSnapshot): Promise<void>;
  /** Writes the tombstone, then erases the document's log and snapshots. */
  deleteDoc(docId: string, tombstone: DocumentTombstone): Promise<void>;
  /**
   * Removes a tombstone; resolves `true` if there was one. The document restarts empty. On a store
   * several processes share, `false` may come for a tombstone this process loaded (another process
   * undeleted the doc meanwhile): the server then reads the doc again.
   */
  removeTombstone(docId: string): Promise<boolean>;
  /** Releases resources; no call is made after it. */
  close(): Promise<void>;
  /**
   * Optional: the server dropped `docId` from memory (it loads it again before its next call on
   * it). A store that keeps something for each document the server holds (a shared store tells
   * `recreated` against the life the server loaded) forgets it here, so what it keeps is bounded
   * by what the server holds, not by what it ever loaded. A document the server keeps loaded (one
   * its clients follow, on a store with `watch`) is never unloaded, however many other documents
   * it loads meanwhile.
   */
  unloadDoc?(docId: string): void;
  /**
   * Only stores that several server processes share implement this. Their `append` rejects
   * with `RevConflictError` when another process took the rev first, and `watch` reports the
   * other processes' writes so this one can update its cache and notify its subscribers.
   *
   * @return stops the reports
   */
  watch?(listener: (event: StoreEvent) => void): () => void;
  /**
   * Only stores that several server processes share implement this: takes the document's
   * commit lock across processes (waiting for it), so a commit that lost a race and read on
   * is not overtaken again and again by a process that never has to read. Correctness never
   * depends on it (`append` checks the rev), only progress does. The server commits to a
   * document no process raced for lately without it, so an `append` made without the lock must
   * refuse (`RevConflictError`) while another process holds it.
   *
   * @return releases the lock
   */
  lockDoc?(docId: string): Promise<() => Promise<void>>;
}

/**
 * Most documents the server loads at once when its store does not say (`ServerStore.concurrentLoads`):
 * after a restart every client's `subscribe` of all its documents, all loaded at once, queued the
 * commits made meanwhile behind tens of thousands of loads (`bench/subscribeHerd.js`).
 */
export const DEFAULT_CONCURRENT_LOADS = 6;

/** The last rev a log entry holds. */
export function entryLastRev(entry: LogEntry): number {
  return entry.kind === 'ot' ? entry.changes[entry.changes.length - 1].rev : entry.rev;
}

/** The first rev a log entry holds. */
export function entryFirstRev(entry: LogEntry): number {
  return entry.kind === 'ot' ? entry.changes[0].rev : entry.rev;
}
