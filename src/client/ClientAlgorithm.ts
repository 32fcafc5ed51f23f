import type { Algorithm, Change, PatchesSnapshot, SizeCalculator } from '../types.js';
import type { ApplyCommittedOptions } from '../algorithms/applyCommittedChanges.js';
import type { PatchesStore } from '../stores/PatchesStore.js';
import type { KeyedQueue } from '../util/KeyedQueue.js';
import type { OptimisticChange, PatchesDoc } from './PatchesDoc.js';

/** What an algorithm needs from `Patches`: the store, the per-doc queue and the open docs. */
export interface AlgorithmContext {
  store: PatchesStore;
  /** Every read-modify-write of one doc's stored data runs through this queue. */
  queue: KeyedQueue;
  getOpenDoc(docId: string): PatchesDoc<object> | undefined;
  /** User metadata spread into every OT change of this doc. */
  metadataFor(docId: string): Record<string, unknown>;
  /** The clock (ms epoch); injectable so tests are deterministic. */
  clock(): number;
  /**
   * True, once, after another instance untracked or deleted the doc: tracked again, its new
   * history's revs may repeat the old ones, so a refresh must read it whole (absent: never).
   */
  historyReplaced?(docId: string): boolean;
  /** Per-change storage limit; a larger change is split when minted. */
  maxStorageBytes?: number;
  sizeCalculator?: SizeCalculator;
}

/** What a doc had and what the server has, after the server was found behind the client. */
export interface RegressedRevs {
  /** The committed rev the client had. */
  localRev: number;
  /** The server's rev, now the doc's committed rev. */
  serverRev: number;
}

/** Result of installing a server snapshot. */
export type InstallResult = 'installed' | 'stale' | 'flush-first';

/**
 * The per-algorithm sync logic `Patches` mints with and `PatchesSync` dispatches to (the seed's
 * "algorithm objects"). Every method runs inside the doc's queue, so calls never interleave.
 */
export interface ClientAlgorithm {
  readonly name: Algorithm;
  /** Persists an optimistic local change; returns the changes written (none if it was rebased away). */
  mint(docId: string, change: OptimisticChange): Promise<Change[]>;
  /** True if the doc has local changes the server has not confirmed (no side effects). */
  hasPending(docId: string): Promise<boolean>;
  /** The changes to send now, in order (LWW moves pending ops into the sending slot). */
  getPendingToSend(docId: string): Promise<Change[]>;
  /** True while the change with this id is still waiting to be confirmed (pending, or LWW in flight). */
  isQueued(docId: string, changeId: string): Promise<boolean>;
  /**
   * Stores the pieces actually sent in place of the changes `replaced` (after splitting). Resolves
   * whether the store now holds the pieces: OT does; LWW keeps its one sending change whole until
   * the reply to its last piece.
   */
  replacePending(docId: string, changes: Change[], replaced?: Change[]): Promise<boolean>;
  /** Brings the open doc (if any) in line with the store after another instance (tab) wrote it. */
  refresh(docId: string): Promise<void>;
  /**
   * Applies committed server changes (a broadcast, a catch-up, or the reply to `sent`), rebases or
   * merges local changes, writes the store atomically and updates the open doc. Returns the
   * changes that were new. Throws `MissingChangesError` on a revision gap. Options (OT): see
   * `applyCommittedChanges` (`seenUpTo`: the rev the server placed a batch of ours after;
   * `head`: the server's state at the last change, taken instead of applying them).
   */
  applyServerChanges(docId: string, changes: Change[], sent?: Change[], options?: ApplyCommittedOptions<unknown>): Promise<Change[]>;
  /** Installs a `getDoc` envelope if it is ahead of what the store has. */
  installSnapshot(docId: string, snapshot: PatchesSnapshot): Promise<InstallResult>;
  /**
   * A server that went back in time: if the `getDoc` envelope is behind the committed rev, makes
   * it the committed state and keeps every local change on top of it (OT rebases them onto it),
   * so they are resent. Returns the two revs, or `undefined` when the server is not behind.
   */
  rebaseOntoServer(docId: string, snapshot: PatchesSnapshot): Promise<RegressedRevs | undefined>;
}
