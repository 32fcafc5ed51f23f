import type { Algorithm, Change } from './types.js';
import { errorName } from './util/errorName.js';

/**
 * Every typed error patches-rx raises. Callers branch on `name` (or `instanceof`), never on
 * message text. Each carries the facts a caller needs to recover (doc id, revs, op index).
 */

/** Base class of every error patches-rx raises; `name` says which (see `errorName`). */
export class PatchesError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = errorName(this, PatchesError, 'PatchesError');
  }
}

/**
 * An op could not be applied (missing path, wrong type, failed `test`, index out of range,
 * a forbidden `__proto__`/`prototype`/`constructor` segment). The input state is untouched.
 */
export class PatchError extends PatchesError {
  override name = errorName(this, PatchError, 'PatchError');
  constructor(
    message: string,
    /** Index of the failing op in the applied list (-1 when not tied to one op). */
    readonly opIndex: number,
    /** Path of the failing op. */
    readonly path: string,
  ) {
    super(`${message} (op ${opIndex} at "${path}")`);
  }
}

/** Committed changes arrived with a revision gap: the caller must refetch `getChangesSince(sinceRev)`. */
export class MissingChangesError extends PatchesError {
  override name = errorName(this, MissingChangesError, 'MissingChangesError');
  constructor(
    /** The revision that was expected next. */
    readonly expectedRev: number,
    /** The revision that arrived instead. */
    readonly gotRev: number,
    /** The last revision known locally. */
    readonly sinceRev: number,
  ) {
    super(`Missing changes: expected rev ${expectedRev}, got ${gotRev} (have ${sinceRev})`);
  }
}

/** A committed change failed to apply to the committed state. */
export class ApplyChangesError extends PatchesError {
  override name = errorName(this, ApplyChangesError, 'ApplyChangesError');
  constructor(
    readonly changeId: string,
    readonly rev: number,
    options?: { cause?: unknown },
  ) {
    super(`Committed change ${changeId} (rev ${rev}) failed to apply`, options);
  }
}

/**
 * The server is behind the client: it answered with, or holds, a revision older than the one the
 * client had committed (restored from a backup, or it lost data). The client has reloaded the
 * doc from the server and kept its pending changes, rebased onto the server's state and resent;
 * changes the server lost that were already committed are gone from the doc. Reported once per
 * doc and regression through `onError`.
 */
export class ServerRevisionRegressedError extends PatchesError {
  override name = errorName(this, ServerRevisionRegressedError, 'ServerRevisionRegressedError');
  constructor(
    readonly docId: string,
    /** The committed rev the client had. */
    readonly localRev: number,
    /** The rev the server is at. */
    readonly serverRev: number,
  ) {
    super(`The server went back in time on "${docId}": it is at rev ${serverRev}, the client had rev ${localRev}; reloaded from the server, pending changes kept`);
  }
}

/** A single op is larger than the size limit and cannot be split. Nothing is dropped. */
export class UnsplittableChangeError extends PatchesError {
  override name = errorName(this, UnsplittableChangeError, 'UnsplittableChangeError');
  constructor(
    readonly docId: string | undefined,
    /** Measured size of the offending op in bytes. */
    readonly size: number,
    /** The limit it exceeded. */
    readonly limit: number,
  ) {
    super(`An op of ${size} bytes${docId ? ` in doc "${docId}"` : ''} exceeds the ${limit}-byte limit and cannot be split`);
  }
}

/**
 * `change()` wrote what a JSON document cannot hold, so no other replica could get it: a BigInt,
 * a function or a symbol, a Map or a Set (JSON would make it `{}`), a value that contains itself,
 * nesting deeper than 256 levels, a key no document may have inside a written value (`__proto__`,
 * `prototype`, `constructor`), or a key holding a NUL or half of a surrogate pair, in a value or
 * in the path written. Thrown by `change()` itself: nothing was recorded, shown or stored. (What
 * JSON writes in another form is written in that form: a `Date` as its ISO string, `NaN` and
 * `Infinity` as `null`, `-0` as `0`, an `undefined` field not at all. A key `prototype` or
 * `constructor` set on the draft itself, `draft.constructor = 1`, throws a `PatchError` instead:
 * a forbidden path segment, nothing recorded either.)
 *
 * @example
 * try { doc.change(draft => { draft.total = 10n; }); } catch (error) { if (error instanceof InvalidValueError) console.error(error.path); }
 */
export class InvalidValueError extends PatchesError {
  override name = errorName(this, InvalidValueError, 'InvalidValueError');
  constructor(
    reason: string,
    /** The JSON Pointer of what could not be written. */
    readonly path: string,
  ) {
    super(`Cannot write ${reason} at "${path}"`);
  }
}

/**
 * An `@txt` (rich-text) op arrived but rich-text support is not enabled: it lives in its own
 * entry point so apps without it do not bundle quill-delta. Call `enableRichText()` once at
 * startup (`import { enableRichText } from 'patches-rx/txt'`). Retrying cannot help; nothing was
 * applied or stored, so nothing pending is lost, and the doc syncs once it is enabled.
 */
export class RichTextNotEnabledError extends PatchesError {
  override name = errorName(this, RichTextNotEnabledError, 'RichTextNotEnabledError');
  constructor() {
    super("An @txt op needs rich-text support: call enableRichText() once at startup (import { enableRichText } from 'patches-rx/txt')");
  }
}

/**
 * The server syncs the doc with the other algorithm than the one it was opened with here. The
 * protocol carries no algorithm: the app names it (`openDoc(id, { algorithm: 'lww' })`,
 * `trackDocs(ids, 'lww')`, OT by default) and the server decides per doc id. Found for an OT doc
 * that the server keeps as LWW, when its catch-up comes as LWW rows (one change whose every op is
 * a `replace` or `remove` with a numeric `ts` and `rev`), which OT cannot place: a `getDoc` whose
 * changes are at or below its rev (a doc that would show with its fields missing), or a
 * `getChangesSince` folding many revs into one change (which failed as "Missing changes" after
 * every edit of another client). Retrying cannot help: the doc goes `'error'`, reported once per
 * connection, and its pending changes stay in the store. The reverse (an OT doc opened as LWW)
 * gives no such sign and is not reported (README, Known limits).
 *
 * A tracked doc keeps the algorithm it was tracked with, so the fix is to untrack it (which drops
 * its local copy; what it sent is on the server) and open it again with the server's algorithm.
 *
 * @example
 * sync.onError(async (error) => {
 *   if (!(error instanceof AlgorithmMismatchError)) return;
 *   await patches.untrackDocs([error.docId]);
 *   await patches.openDoc(error.docId, { algorithm: error.serverAlgorithm });
 * });
 */
export class AlgorithmMismatchError extends PatchesError {
  override name = errorName(this, AlgorithmMismatchError, 'AlgorithmMismatchError');
  constructor(
    readonly docId: string,
    /** The algorithm the doc was opened (tracked) with here. */
    readonly openedAs: Algorithm,
    /** The algorithm the server's changes show it uses. */
    readonly serverAlgorithm: Algorithm,
  ) {
    super(
      `Doc "${docId}" is ${label(serverAlgorithm)} on the server but was opened as ${label(openedAs)} here: open it with { algorithm: '${serverAlgorithm}' } ` +
        `(untrack it first: a tracked doc keeps its algorithm)`,
    );
  }
}

function label(algorithm: Algorithm): string {
  return algorithm === 'lww' ? 'LWW' : 'OT';
}

/**
 * An `openDoc` (or `doc$`) of a doc already open or being opened asked for options other than the
 * ones it has: an `algorithm` other than the handle's, or than the one a doc tracked already keeps
 * (`option: 'algorithm'`; the first open too), or `metadata` other
 * than what an earlier open gave it (`option: 'metadata'`; compared by value; an open that gives
 * none, or the first to give some, never conflicts). One handle serves every open of a doc, with
 * one algorithm and one metadata, so the call is refused instead of handing out a handle that
 * ignores them. It took no reference, but its `closeDoc` is owed, as for any `openDoc` that
 * rejected. Not about the server: see `AlgorithmMismatchError` for that.
 *
 * @example
 * await patches.openDoc('notes');
 * await patches.openDoc('notes', { algorithm: 'lww' }).catch(e => e instanceof OpenDocConflictError); // true
 */
export class OpenDocConflictError extends PatchesError {
  override name = errorName(this, OpenDocConflictError, 'OpenDocConflictError');
  constructor(
    readonly docId: string,
    /** The option that conflicts. */
    readonly option: 'algorithm' | 'metadata',
    /** What the open or opening doc has (its tracked algorithm, or the metadata an earlier open gave it). */
    readonly current: unknown,
    /** What this call asked for. */
    readonly requested: unknown,
  ) {
    super(
      option === 'algorithm'
        ? `Doc "${docId}" is tracked and opened as ${label(current as Algorithm)}; this openDoc asked for ${label(requested as Algorithm)}: ` +
            `open it without an algorithm; to change its algorithm, close it and untrack it first (a tracked doc keeps its algorithm)`
        : `Doc "${docId}" is open (or opening) with other metadata (${JSON.stringify(current)}) than this openDoc gives (${JSON.stringify(requested)}): ` +
            `one handle serves every open of a doc; open it without metadata, or close every reference first`,
    );
  }
}

/**
 * Something the app passed in `PatchesSyncOptions` failed: `subscribeFilter` threw, or the
 * `online$` or `wake$` observable errored (`cause`: what it threw). Sync goes on without it: a doc
 * the filter throws for subscribes as itself (reported with the doc, once per doc per
 * connection); an `online$` that errored counts as online from then on, a `wake$` as silent
 * (reported once). Fix the option.
 *
 * @example
 * sync.onError(error => { if (error instanceof SyncOptionError) console.error(`${error.option} failed`, error.cause); });
 */
export class SyncOptionError extends PatchesError {
  override name = errorName(this, SyncOptionError, 'SyncOptionError');
  constructor(
    /** The option that failed. */
    readonly option: 'subscribeFilter' | 'online$' | 'wake$',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The connection is not available (dropped, closed, or never opened). Retryable. */
export class NetworkError extends PatchesError {
  override name = errorName(this, NetworkError, 'NetworkError');
  /** The WebSocket close code when the server closed with one (e.g. 1011, 4000), else undefined. */
  declare readonly closeCode?: number;
  /** The close reason the server gave with `closeCode`. */
  declare readonly closeReason?: string;

  constructor(message: string, options?: { cause?: unknown; closeCode?: number; closeReason?: string }) {
    super(message, options);
    // Set only when known, so errors without a code compare equal to plain ones.
    if (options?.closeCode !== undefined) Object.assign(this, { closeCode: options.closeCode });
    if (options?.closeReason) Object.assign(this, { closeReason: options.closeReason });
  }
}

/**
 * The server refused the connection for authentication or authorization: it closed the socket
 * with 1008, 4401 or 4403, or answered the HTTP upgrade with 401 or 403. Retrying with the same
 * credentials cannot help, so PatchesSync stops reconnecting until `connect()` is called again
 * (with fresh credentials from the token provider).
 */
export class AuthError extends NetworkError {
  override name = errorName(this, AuthError, 'AuthError');
  constructor(
    message: string,
    /** The close code (1008, 4401, 4403) or HTTP status (401, 403) of the refusal. */
    readonly code: number,
    options?: { cause?: unknown; closeCode?: number; closeReason?: string },
  ) {
    super(message, options);
  }
}

/** Close codes that mean "refused for auth": policy violation, and the 4000-range mirrors of 401 and 403. */
export const AUTH_CLOSE_CODES: ReadonlySet<number> = new Set([1008, 4401, 4403]);

/** An RPC did not get a response in time. Retryable. */
export class TimeoutError extends PatchesError {
  override name = errorName(this, TimeoutError, 'TimeoutError');
}

/**
 * The server answered an RPC with an HTTP-style error (`code > 0`, e.g. 403, 409, 410).
 * Terminal codes (401, 402, 403, 404, 410) will never succeed by retrying.
 */
export class StatusError extends PatchesError {
  override name = errorName(this, StatusError, 'StatusError');
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The server answered with a JSON-RPC protocol error (`code <= 0`, e.g. -32000, -32601). */
export class JSONRPCError extends PatchesError {
  override name = errorName(this, JSONRPCError, 'JSONRPCError');
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

/** An inbound frame was not valid JSON-RPC; all in-flight calls are rejected with this. */
export class JSONRPCParseError extends PatchesError {
  override name = errorName(this, JSONRPCParseError, 'JSONRPCParseError');
}

/** A client store operation failed (quota, aborted transaction, database gone). Data already stored is kept. */
export class StoreError extends PatchesError {
  override name = errorName(this, StoreError, 'StoreError');
  constructor(
    message: string,
    readonly docId?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A store write named a doc the store does not track: never tracked, untracked or deleted (by
 * this instance or another tab on the same database, maybe while the write was on its way).
 * Nothing was written. `PatchesSync` drops such a doc's sync quietly: the doc left the database.
 * `openDoc` rejects with it too, when an untrack or delete called after it (here, in another tab
 * or on the server) comes before its handle is ready.
 *
 * @example
 * await store.untrackDocs(['notes']);
 * await store.savePendingChanges('notes', [change]).catch(e => e instanceof DocNotTrackedError); // true
 */
export class DocNotTrackedError extends StoreError {
  override name = errorName(this, DocNotTrackedError, 'DocNotTrackedError');
  constructor(
    docId: string,
    /** True when the doc was deleted (a tombstone; for `openDoc`, deleted anywhere), false when it is not tracked at all. */
    readonly deleted: boolean,
    /** What could not be done, for the message. */
    action: 'write' | 'open' = 'write',
  ) {
    super(`Cannot ${action} doc "${docId}": ${deleted ? 'it was deleted' : 'it is not tracked'}`, docId);
  }
}

/**
 * A guarded store write found the doc changed since the caller read it (another instance on the
 * same database wrote in between). Nothing was written: the caller reads fresh data, recomputes
 * and tries again.
 */
export class StoreConflictError extends StoreError {
  override name = errorName(this, StoreConflictError, 'StoreConflictError');
  constructor(
    docId: string,
    /** What differed, e.g. `committedRev 4 ≠ expected 3`. */
    readonly detail: string,
  ) {
    super(`Doc "${docId}" changed under a guarded write: ${detail}`, docId);
  }
}

/**
 * A newer build of the app upgraded the database to a schema this build does not know: this
 * tab's store can no longer open it, so every call rejects with this until the tab is reloaded
 * (with the new build). A tab that held the connection for the others gives it up, so a tab of
 * the new build takes over. Reported once through `onError` and `state.syncing`.
 *
 * @example
 * sync.onError(error => { if (error instanceof StoreOutdatedError) showReloadBanner(); });
 */
export class StoreOutdatedError extends StoreError {
  override name = errorName(this, StoreOutdatedError, 'StoreOutdatedError');
  constructor(
    /** The database name. */
    readonly dbName: string,
    /** The schema version this build opens the database at. */
    readonly version: number,
    /** The version the database was upgraded to, when known. */
    readonly newVersion?: number,
    options?: { cause?: unknown },
  ) {
    super(`A newer version of the app upgraded the database "${dbName}"${newVersion === undefined ? '' : ` to version ${newVersion}`}: this tab (version ${version}) can no longer use it; reload it`, undefined, options);
  }
}

/**
 * The database was deleted (another tab's `indexedDB.deleteDatabase`: `reason` `'deleted'`) or the
 * browser closed this tab's connection to it (its `close` event: `reason` `'closed'`) while this
 * tab was using it. The store never opens the database again (another tab may already have made a
 * new, empty one, and what this tab holds in memory was read from the old): every call rejects
 * with this until the page is reloaded. A `StoreOutdatedError`, so it goes the same way: a tab
 * that held the connection for the others gives it up, it is reported once through `onError` and
 * `state.syncing`, and an edit made after it is rolled back from its view and reported with it as
 * cause.
 *
 * Whether edits not yet sent to the server are lost depends on what happened, which the `close`
 * event does not say: when the site's storage was cleared (by the user or devtools) they went with
 * it, but WebKit also fires it when it loses its connection to its IndexedDB server process (iOS
 * Safari after backgrounding: "Connection to Indexed Database server lost"), the data still on
 * disk, and a reload finds them again. Edits the server acked come back on reload either way.
 * Those of the unsent edits this page still holds in its open docs come with the error, in
 * `unsentChanges`, for the app to keep (a download, say); `Patches.onError` hears it too, for an
 * app without `PatchesSync`. Some of them may be on the server already (see `unsentChanges`):
 * after the reload the doc shows what the server committed, so an app that makes them again with
 * `change()` compares first.
 *
 * @example
 * sync.onError(error => {
 *   if (!(error instanceof StoreLostError)) return;
 *   for (const [docId, changes] of error.unsentChanges) localStorage.setItem(`unsent:${docId}`, JSON.stringify(changes));
 *   showReloadBanner(error.reason === 'deleted' ? 'Changes not yet saved to the server were lost' : 'Reload to go on saving');
 * });
 */
export class StoreLostError extends StoreOutdatedError {
  override name = errorName(this, StoreLostError, 'StoreLostError');
  private readonly unsent = new Map<string, Change[]>();
  constructor(
    /** The database name. */
    dbName: string,
    /** The schema version this build opens the database at. */
    version: number,
    /**
     * What happened: `'deleted'`, the database was deleted (`versionchange` to no version), and
     * the edits not sent to the server with it; `'closed'`, the browser closed the connection (the
     * site's storage cleared, or the browser lost its database process), unsent edits lost only
     * if the storage was cleared.
     */
    readonly reason: 'deleted' | 'closed',
  ) {
    super(dbName, version);
    this.message =
      reason === 'deleted'
        ? `The database "${dbName}" was deleted (by another tab or the app) while this tab was using it: edits not yet sent to the server are lost; reload the page`
        : `The browser closed the database "${dbName}" while this tab was using it (the site's storage cleared, or the browser's database process lost): this tab can no longer save; reload the page. Edits not yet sent to the server are lost if the storage was cleared, and kept otherwise`;
  }

  /**
   * The edits this page held unsent when the store was lost, per doc id: for each doc open in the
   * `Patches` on this store, its pending OT changes, edits not saved yet included (`id` and `ops`
   * as `change()` made them, rebased over what the page received since; `baseRev` the doc's
   * committed rev, `createdAt` 0 and no metadata: the page holds only their ops), or an LWW doc's
   * unsent ops as one change (as `onRemoteDocDeleted` hands them over; id `''`). A doc with
   * nothing unsent is not listed. One map on the one error every store call rejects with, filled
   * by `Patches` as the loss is announced, before `onError` hears of it: an edit made after it is
   * not in it (it was refused and rolled back); an edit whose save the browser aborted as it
   * closed the connection is. Edits in no open doc of this page (a doc not open, another tab's) are
   * not in it.
   *
   * Unsent means not acknowledged: any of them may have been sent (by this tab, another tab on the
   * database, or a page before a reload whose answer never came) and committed by the server, and
   * the client cannot tell which. An OT doc's go to the server front first, in order, so what it
   * has of them is a leading part of the list; an LWW doc's ops in flight come first. After the
   * reload the doc shows what the server committed: an edit it has, made again with `change()`,
   * is applied twice (an array append, an `@inc`), so compare first.
   */
  get unsentChanges(): ReadonlyMap<string, Change[]> {
    return this.unsent;
  }

  /** @internal `Patches` hands over an open doc's unsent edits as it hears of the loss. */
  _keepUnsent(docId: string, changes: Change[]): void {
    this.unsent.set(docId, changes);
  }
}

/** Status codes that retrying can never fix. */
export const TERMINAL_STATUS_CODES: ReadonlySet<number> = new Set([401, 402, 403, 404, 410]);

/** True for errors that a retry may fix (network, timeout, non-terminal server errors). */
export function isRetryable(error: unknown): boolean {
  if (error instanceof AuthError) return false;
  if (error instanceof StatusError) return !TERMINAL_STATUS_CODES.has(error.code);
  if (error instanceof PatchError || error instanceof UnsplittableChangeError || error instanceof RichTextNotEnabledError || error instanceof AlgorithmMismatchError) return false;
  return true;
}

/** True for errors caused by the connection rather than by the request. */
export function isNetworkError(error: unknown): boolean {
  return error instanceof NetworkError || error instanceof TimeoutError;
}
