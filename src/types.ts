/**
 * The data model shared by client, server and algorithms: Change, op, snapshot and tracking
 * shapes exactly as they travel on the wire (see shared/spec/protocol.md §2).
 */

/** Which sync algorithm a document uses: operational transformation or last-write-wins. */
export type Algorithm = 'ot' | 'lww';

/** A JSON value. Document states are JSON. */
export type JSONValue = null | boolean | number | string | JSONValue[] | { [key: string]: JSONValue };

/**
 * One JSON Patch operation: the RFC 6902 set plus the custom ops `@inc`, `@bit`, `@max`, `@min`
 * and `@txt` (protocol §2.4). Unknown fields are preserved untouched.
 *
 * @example
 * const op: JSONPatchOp = { op: '@inc', path: '/counter', value: 1 };
 */
export interface JSONPatchOp {
  /** Operation name: add, remove, replace, move, copy, test, @inc, @bit, @max, @min, @txt. */
  op: string;
  /** JSON Pointer to the target ('' is the root). */
  path: string;
  /** Source pointer for move and copy. */
  from?: string;
  /** Operand; absent for remove and move. */
  value?: unknown;
  /** A soft write is skipped when its path already exists. */
  soft?: boolean;
  /** LWW timestamp in ms since the epoch. */
  ts?: number;
  /** LWW: the server revision that stored this op. */
  rev?: number;
  /** Unknown fields round-trip untouched. */
  [extra: string]: unknown;
}

/**
 * A change: a list of ops authored on `baseRev`. `committedAt === 0` marks a local (not yet
 * committed) change; the server sets it on commit. User metadata is spread as top-level keys.
 *
 * @example
 * const c: Change = { id: 'a1B2c3D4e5F6', ops: [{ op: 'replace', path: '/title', value: 'Hi' }],
 *   baseRev: 0, rev: 1, createdAt: Date.now(), committedAt: 0, user: 'alice' };
 */
export interface Change {
  /** Client-minted unique id, stable forever: the idempotency key. */
  id: string;
  /** The ops of the change. */
  ops: JSONPatchOp[];
  /** The committed revision this change was authored on. */
  baseRev: number;
  /** Provisional local position while pending; the authoritative server rev once committed. */
  rev: number;
  /** When the change was minted (ms epoch). */
  createdAt: number;
  /** 0 while local; the server's clock at commit time once committed. */
  committedAt: number;
  /** Set when one flush needs several wire batches: the id of the original queue head. */
  batchId?: string;
  /** User metadata and unknown keys, preserved verbatim. */
  [metadata: string]: unknown;
}

/**
 * What a client may send in `commitChanges`: a Change whose bookkeeping fields are optional.
 * (Spelled out: `Omit` over a type with an index signature would turn these fields into `unknown`.)
 */
export interface ChangeInput {
  id: string;
  ops: JSONPatchOp[];
  baseRev?: number;
  rev?: number;
  createdAt?: number;
  committedAt?: number;
  batchId?: string;
  [metadata: string]: unknown;
}

/** A document state at a revision. */
export interface PatchesState<T = unknown> {
  /** The document. `null` for a brand-new OT document. */
  state: T;
  /** The revision of `state`. */
  rev: number;
}

/**
 * A state plus changes. From the server's `getDoc`: `changes` is the committed tail after `rev`.
 * From a client store: `changes` is the pending (uncommitted) queue on top of `rev`.
 */
export interface PatchesSnapshot<T = unknown> extends PatchesState<T> {
  changes: Change[];
}

/** A document a client store tracks. */
export interface TrackedDoc {
  docId: string;
  /** Last revision confirmed by the server; 0 = never synced. */
  committedRev: number;
  /** Set on a local tombstone (deleted locally, server delete not yet confirmed). */
  deleted?: true;
  algorithm: Algorithm;
}

/** Server-side record of a deleted document. */
export interface DocumentTombstone {
  docId: string;
  deletedAt: number;
  lastRev: number;
  deletedByClientId?: string;
}

/** `PatchesSyncState.syncing`: first pass, later pass, idle, or the error that stopped a pass. */
export type SyncingState = 'initial' | 'updating' | null | Error;

/** Connection-level state of a PatchesSync: a frozen object, replaced whole on every change. */
export interface PatchesSyncState {
  /** Is the browser (or host) online? */
  readonly online: boolean;
  /** Is the WebSocket connected? */
  readonly connected: boolean;
  /** Sync pass state. */
  readonly syncing: SyncingState;
}

/** Per-document sync lifecycle state. */
export type SyncedDocStatus = 'unsynced' | 'syncing' | 'synced' | 'error';

/** Per-document sync status as reported by `PatchesSync.synced`: a frozen object, replaced whole on every change. */
export interface SyncedDoc {
  /** Last confirmed server revision. 0 = never synced. */
  readonly committedRev: number;
  /** Has local changes not yet confirmed by the server. */
  readonly hasPending: boolean;
  /** Current sync lifecycle state. */
  readonly status: SyncedDocStatus;
}

/** Measures the size of data in bytes; the default is the UTF-8 length of its JSON. */
export type SizeCalculator = (data: unknown) => number;

/** Unsubscribes a listener registered through a callback API. */
export type Unsubscriber = () => void;

/** Result of `commitChanges` on the wire. */
export interface CommitChangesResult {
  changes: Change[];
  docReloadRequired?: true;
}

/**
 * The state type of a document opened without a type argument. Deliberately loose (the seed's
 * untyped `openDoc(id)` then `draft.sections.push(…)` must compile); pass your own type for
 * checked drafts: `openDoc<MyDoc>(id)`.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyDoc = Record<string, any>;

/**
 * What a patches-rx server says it understands beyond the @dabble/patches protocol, as the
 * `getCapabilities` method answers it (a server without the method has none of them: the
 * reference answers -32000 "Unknown method").
 */
export interface ServerCapabilities {
  /** JSON-RPC batch arrays are accepted and answered with one array, at most `maxLength` requests each. */
  batch?: { maxLength: number };
  /**
   * `commitChanges` honours `{ compactAck: true }` in its options param (see `CommitAck`); with
   * it, a batch re-based onto the head (`docReloadRequired`) is answered with the document's whole
   * history, so the client needs no reload.
   */
  compactAck?: boolean;
  /**
   * `getChangesSince` honours `{ orSnapshot: true }` in its options param: an OT doc's catch-up
   * may then be answered by the doc's state at the head (a `PatchesSnapshot` with no changes)
   * instead of the changes since, when the state is the smaller. The client asks only for a doc
   * with nothing pending.
   */
  catchUpSnapshot?: boolean;
}

/**
 * In a `commitChanges` reply to a client that asked for `{ compactAck: true }`: one of the
 * request's own changes, committed exactly as it was sent (same ops, baseRev, createdAt and
 * metadata), acknowledged by id instead of echoed. The client rebuilds the committed change as
 * the change it sent with this `rev` and `committedAt`. A change the server altered (transformed,
 * re-based, clamped) comes back in full; one it dropped is left out, as without the option.
 * An LWW reply (one change the server puts together) instead lists in `acked` the indexes, among
 * the ops sent, of those stored exactly as sent, and leaves them out of its `ops`. A catch-up
 * change of another client that this connection was already sent in a `changesCommitted`
 * broadcast comes as `{ id, rev }` only (the broadcast arrived first, on the same socket).
 */
export interface CommitAck {
  id: string;
  rev: number;
  committedAt: number;
}
