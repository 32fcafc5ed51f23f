import { PatchError, StatusError, StoreError } from '../../errors.js';
import { errorName } from '../../util/errorName.js';
import { applyPatch } from '../../algorithms/applyPatch.js';
import { deepEqual } from '../../algorithms/deepEqual.js';
import { transformIncomingChanges, transformIncomingChangesSteps } from '../../algorithms/transformIncomingChanges.js';
import type { WalkMeter } from '../../algorithms/rebaseChanges.js';
import type { Steps } from '../../util/steps.js';
import { enableRichText } from '../../txt/enableRichText.js';
import type { Change, CommitChangesResult, PatchesSnapshot } from '../../types.js';
import type { IncomingChange } from '../validate.js';
import { DocService, REMEMBERED_CHANGE_IDS, revisionAhead } from './DocService.js';
import { applyWithinLimitsSteps, type KnownHeights } from './applyWithinLimits.js';
import { runSliced } from './runSliced.js';
import { smallerCatchUp } from './smallerCatchUp.js';
import type { CallOrigin, DocServiceOptions, LoadedDoc } from './DocService.js';
import type { LogEntry, OTSnapshot, StoredDoc } from '../stores/ServerStore.js';
import { DuplicateChangeIdsError } from '../stores/DuplicateChangeIdsError.js';
import { RevConflictError } from '../stores/RevConflictError.js';

/**
 * How the server transforms an incoming batch over the changes committed since its `baseRev`
 * (the signature of `transformIncomingChanges`, the default). Replaceable for tests only: a
 * server with another rule (say, the opposite tie-break for inserts at one index) proves that
 * clients converge to whatever the server commits.
 */
export type TransformIncoming = typeof transformIncomingChanges;

/** An OT document as the server holds it in memory. */
export interface OTDoc extends LoadedDoc {
  /** Rev of the latest snapshot (0 = none). */
  snapshotRev: number;
  /** State at `snapshotRev` (`null` when there is no snapshot). */
  snapshotState: unknown;
  /** Committed changes after `snapshotRev`, in rev order. */
  tail: Change[];
  /** State at `headRev`: every commit is validated against it. */
  headState: unknown;
  /** Id and batchId of the change at rev 1. */
  first?: { id: string; batchId?: string };
  /**
   * Change id → committed rev, oldest first, of the latest `rememberedChangeIds` commits: the
   * tail's always; older ones once `indexed`; with a store that refuses known ids, only the tail's
   * and those it refused (cleared at each snapshot).
   */
  ids: Map<string, number>;
  /** Whether `ids` holds the latest ids from before the snapshot too (read once after a load). */
  indexed: boolean;
}

/**
 * The OT document service (protocol §1.5.5): one server order per document, contiguous revs,
 * incoming changes transformed over everything committed since their `baseRev`.
 *
 * Commits are idempotent by change id: a change that was committed before (a client resending
 * after a lost response, possibly from a new connection) is never committed twice; the reply
 * carries its committed copy so the client can drop it from its pending queue. That is why
 * "own" changes are recognised by change id and batch id (client-minted random keys), not by
 * connection id: a client that reconnects gets a new connection id but resends the same ids.
 *
 * Unlike the anchor, the server applies every commit (strict mode) before storing it: a change
 * whose ops cannot apply is refused (400, `{ changeId, scope: 'change' }`) and the document is
 * left unchanged, so no client can ever receive a committed change it cannot apply.
 */
export class OTDocService extends DocService<OTDoc> {
  /** @inheritDoc */
  readonly algorithm = 'ot' as const;
  /** Docs whose last commit found a hole in the stored history and reloads to run again (under the doc's lock). */
  private readonly gapSuspects = new Set<string>();

  /**
   * @param options store, lock, clock and sinks
   * @param transformIncoming the server's OT rule for incoming batches (tests replace it)
   */
  constructor(
    options: DocServiceOptions,
    private readonly transformIncoming: TransformIncoming = transformIncomingChanges,
  ) {
    super(options);
    // A server always accepts `@txt`: the bundle-size reason for opting in is the browser's.
    enableRichText();
  }

  /** @inheritDoc */
  async getDoc(docId: string): Promise<PatchesSnapshot> {
    const doc = await this.openLive(docId);
    return { state: doc.snapshotState, rev: doc.snapshotRev, changes: doc.tail.slice() };
  }

  /** @inheritDoc */
  async getChangesSince(docId: string, rev: number): Promise<Change[]> {
    await this.readOnIfAhead(docId, rev);
    try {
      return await this.changesSince(docId, rev, { quiet: true });
    } catch (error) {
      if (!(error instanceof HistoryGapError)) throw error;
      // Another process deleted the document (or deleted it and started again) and this one has
      // not heard yet: what it read is not the history it holds. Answer for what is there now
      // (410 for a deleted one, or for another life: `rev` is one of the life this process held).
      this.assertSameLife(docId, await this.refresh(docId, 'reload'));
      return this.changesSince(docId, rev);
    }
  }

  /** @inheritDoc */
  override async changesOrSnapshot(docId: string, rev: number, measureFrom?: number): Promise<Change[] | PatchesSnapshot> {
    const changes = await this.getChangesSince(docId, rev);
    // Read after the changes: a commit landed meanwhile leaves the changes behind the head, and
    // `smallerCatchUp` then answers them (their last rev is not the head's).
    const doc = await this.openLive(docId);
    return smallerCatchUp(changes, { state: doc.headState, rev: doc.headRev }, measureFrom);
  }

  /** @inheritDoc */
  protected override changesSinceLocked(docId: string, rev: number): Promise<Change[]> {
    // The caller holds the lock a reload would wait for: a hole is reported as it is.
    return this.changesSince(docId, rev);
  }

  private async changesSince(docId: string, rev: number, options: { quiet?: boolean } = {}): Promise<Change[]> {
    const doc = await this.openLive(docId);
    if (rev > doc.headRev) throw revisionAhead('rev', rev, doc.headRev);
    return this.changesAfter(doc, rev, options);
  }

  /** @inheritDoc */
  commitChanges(docId: string, input: IncomingChange[], origin: CallOrigin): Promise<CommitChangesResult> {
    const ahead = { readOn: false };
    return this.options.lock.run(docId, () => this.retryOnConflict(docId, async () => {
      const doc = await this.openLive(docId);
      if (input.length === 0) return { changes: [] };
      const now = this.options.now();
      const currentRev = doc.headRev;
      const head = input[0];
      const ownUpload = isOwnUpload(doc, head);
      let docReloadRequired = false;
      let incoming: IncomingChange[] = input;

      if (currentRev > 0 && !ownUpload) {
        // A root replace would wipe what others wrote; only the upload that created the doc may.
        const root = input.find((change) => change.ops.some((op) => op.path === ''));
        if (root) {
          throw new StatusError(400, `Change ${root.id} replaces the document root of a document that already has history`, {
            changeId: root.id,
            scope: 'change',
          });
        }
        if (head.baseRev === 0) {
          if ((head.rev ?? 1) > 1) {
            throw new StatusError(409, `Change ${head.id} continues an upload at baseRev 0 that this document did not start`, { scope: 'doc' });
          }
          // Edited before the client ever loaded the doc: commit it on top of head verbatim and
          // tell the client to reload (§1.5.5 step 3) — unless this resends a batch part of which
          // is committed already (its answer was lost): the rest was written on top of that part,
          // so the normal walk from rev 0 must transform it over what was committed around it.
          if (!(await this.anyCommitted(doc, input))) {
            incoming = input.map((change) => ({ ...change, baseRev: currentRev }));
            docReloadRequired = true;
          }
        }
      }

      const baseRev = incoming[0].baseRev ?? currentRev;
      if (incoming.some((change) => (change.baseRev ?? currentRev) !== baseRev)) {
        throw new StatusError(400, 'All changes of one commit must share one baseRev', { scope: 'doc' });
      }
      if (baseRev > currentRev) throw this.aheadOfHead(docId, 'baseRev', baseRev, currentRev, ahead);

      // Idempotency: find every change of this request that is already committed.
      if (this.needsIndex(doc, incoming)) await this.indexHistory(doc);
      // Read from memory when the tail covers it (every commit of an up-to-date client).
      const inMemory = tailAfter(doc, baseRev);
      const committedSince = inMemory ?? (await this.historyForCommit(doc, baseRev));
      // What the commit read anyway (since baseRev) recognises a resend of any age; memory, the
      // latest ids before it (a resend at or before its baseRev). With a store that refuses known
      // ids, memory holds the tail's only, and a resent one's committed copy belongs in the reply.
      const readIds = new Map(committedSince.map((change) => [change.id, change.rev]));
      const requestIds = new Set(incoming.map((change) => change.id));
      const batchId = head.batchId;
      const isOwn = (committed: Change): boolean => requestIds.has(committed.id) || (batchId !== undefined && committed.batchId === batchId);
      const committedRev = (id: string): number | undefined => readIds.get(id) ?? doc.ids.get(id);
      const committedRevs = incoming.map((change) => committedRev(change.id));
      const resentRevs = committedRevs.filter((rev): rev is number => rev !== undefined);
      // Own changes committed after baseRev stay queued for the walk (later entries were written
      // on top of them); ones at or before baseRev are already part of the client's base.
      const queue = incoming.filter((_change, index) => {
        const rev = committedRevs[index];
        return rev === undefined || rev > baseRev;
      });
      // A caller that may not read the doc hears of its own changes only: no catch-up, and a
      // resent id's committed copy only when it holds the ops sent (an id proves no authorship).
      const mayRead = origin.mayRead !== false;
      const catchup = mayRead ? committedSince.filter((change) => !isOwn(change)) : [];
      const copies = resentRevs.length ? await this.changesAtRevs(doc, resentRevs) : [];
      const shown = mayRead ? copies : copies.filter((copy) => deepEqual(copy.ops, incoming.find((change) => change.id === copy.id)?.ops));
      const reply = mergeByRev(catchup, shown);

      // A resend whose every change is committed already needs no walk (its result would be left
      // out whole): it is answered with the copies however far behind it is, never refused.
      const fresh = queue.some((change) => committedRev(change.id) === undefined);
      const transformed = fresh
        ? (await this.transform(committedSince, queue.map((change) => prepare(change, baseRev, now)), isOwn, currentRev)).filter(
            (change) => committedRev(change.id) === undefined && change.ops.length > 0,
          )
        : [];
      this.options.stats.duplicateChanges += resentRevs.length;
      if (transformed.length === 0) {
        this.options.stats.commits++;
        return result(reply, docReloadRequired);
      }

      // A change whose ops do not apply on the head is dropped, not committed, like one transformed
      // to nothing: the reply leaves it out and its author resolves it. The reference's transform
      // rules produce such ops (a `test` a concurrent write falsified, a move whose source went, a
      // change written on one that was dropped); refusing the batch would stall its author for good.
      // A copy or move nesting the doc past MAX_DEPTH is refused, though (400, nothing stored), and
      // copies adding more than a change may carry (413): the doc they make is one no snapshot can serialise.
      // The transform above and this apply run in slices, other requests served between them (a
      // long commit held every document's clients for seconds); the lock keeps this doc's other
      // commits waiting, and nothing of the doc is written until the store has the commit.
      let state = doc.headState;
      const committed: Change[] = [];
      const heights: KnownHeights = new WeakMap();
      for (const change of transformed) {
        const copy: Change = { ...change, rev: currentRev + 1 + committed.length, committedAt: now, clientId: origin.connectionId };
        try {
          state = await runSliced(applyWithinLimitsSteps(state, copy, this.options.maxChangeBytes ?? Infinity, heights), this.options.sliceMs);
        } catch (error) {
          if (!(error instanceof PatchError)) throw error;
          this.options.stats.changesDropped++;
          continue;
        }
        committed.push(copy);
      }
      if (committed.length === 0) {
        this.options.stats.commits++;
        return result(reply, docReloadRequired);
      }

      try {
        await this.options.store.append(docId, { kind: 'ot', changes: committed });
      } catch (error) {
        // Resends of changes older than the ids in memory: known now, the next attempt drops them.
        // Older revs, remembered as the newest and all kept (a batch of more than the window
        // would meet the forgotten ones again at each retry): they are needed until that retry
        // only, and what the trim forgets instead this store's unique key still refuses.
        if (error instanceof DuplicateChangeIdsError) {
          this.remember(doc, error.committed, error.committed.size);
          throw error;
        }
        // Another process committed first: read on and transform again.
        if (error instanceof RevConflictError) throw error;
        // Its outcome is unknown: read the doc again before the next write, and announce what was kept.
        throw this.writeFailed(doc, error, 'the commit to');
      }
      for (const change of committed) doc.tail.push(change);
      this.remember(doc, committed.map((change) => [change.id, change.rev] as const));
      doc.headRev = committed[committed.length - 1].rev;
      doc.headState = state;
      if (!doc.first && committed[0].rev === 1) doc.first = firstOf(committed[0]);
      this.options.stats.commits++;
      this.options.stats.changesCommitted += committed.length;
      this.options.announce(docId, 'changesCommitted', { docId, changes: committed }, origin.connectionId);
      this.maybeSnapshot(doc);
      return result(reply.length ? [...reply, ...committed] : committed, docReloadRequired);
    }));
  }

  /** @inheritDoc */
  protected fromStored(docId: string, stored: StoredDoc): OTDoc {
    if (stored.tombstone) return { ...this.emptyDoc(docId), tombstone: stored.tombstone };
    const snapshot = stored.snapshot;
    this.checkKind(docId, snapshot?.kind);
    const tail: Change[] = [];
    for (const entry of stored.tail) {
      this.checkKind(docId, entry.kind);
      if (entry.kind === 'ot') tail.push(...entry.changes);
    }
    const snapshotRev = snapshot?.rev ?? 0;
    const snapshotState = snapshot?.kind === 'ot' ? snapshot.state : null;
    let headState = snapshotState;
    for (const change of tail) {
      try {
        headState = applyPatch(headState, change.ops, { mode: 'strict' });
      } catch (error) {
        throw new StoreError(`Stored change ${change.id} (rev ${change.rev}) of "${docId}" does not apply`, docId, { cause: error });
      }
    }
    const firstStored = snapshot?.kind === 'ot' ? snapshot.first : undefined;
    return {
      docId,
      headRev: tail.length ? tail[tail.length - 1].rev : snapshotRev,
      snapshotRev,
      snapshotState,
      tail,
      headState,
      first: firstStored ?? (tail[0]?.rev === 1 ? firstOf(tail[0]) : undefined),
      ids: new Map(tail.map((change) => [change.id, change.rev])),
      indexed: snapshotRev === 0,
    };
  }

  /** @inheritDoc */
  protected readOn(doc: OTDoc, entries: LogEntry[]): Change[] | undefined {
    const news: Change[] = [];
    let state = doc.headState;
    for (const entry of entries) {
      if (entry.kind !== 'ot') return undefined;
      for (const change of entry.changes) {
        if (change.rev <= doc.headRev) continue;
        if (change.rev !== doc.headRev + news.length + 1) return undefined;
        try {
          state = applyPatch(state, change.ops, { mode: 'strict' });
        } catch {
          return undefined;
        }
        news.push(change);
      }
    }
    for (const change of news) doc.tail.push(change);
    this.remember(doc, news.map((change) => [change.id, change.rev] as const));
    if (news.length) {
      doc.headRev = news[news.length - 1].rev;
      doc.headState = state;
      if (!doc.first && news[0].rev === 1) doc.first = firstOf(news[0]);
    }
    return news;
  }

  /** @inheritDoc */
  protected emptyDoc(docId: string): OTDoc {
    return { docId, headRev: 0, snapshotRev: 0, snapshotState: null, tail: [], headState: null, ids: new Map(), indexed: true };
  }

  /** @inheritDoc */
  protected snapshotDue(doc: OTDoc): boolean {
    return doc.tail.length >= this.options.snapshotEvery;
  }

  /** @inheritDoc */
  protected async writeSnapshot(doc: OTDoc): Promise<void> {
    const snapshot: OTSnapshot = { kind: 'ot', rev: doc.headRev, state: doc.headState };
    if (doc.first) snapshot.first = doc.first;
    await this.options.store.saveSnapshot(doc.docId, snapshot);
    doc.snapshotRev = doc.headRev;
    doc.snapshotState = doc.headState;
    doc.tail = [];
    // A store that refuses a known id tells of older ones itself: memory holds the tail's only.
    if (this.options.store.uniqueChangeIds) doc.ids = new Map();
  }

  /**
   * The OT walk, in slices (the default rule; a rule a test passes runs at once); an op the
   * transform cannot handle refuses the batch instead of failing the server. A walk that pays for
   * more than `maxTransformWork` op pairs is stopped there and the commit refused with 409
   * `{ scope: 'doc', headRev }` (`tooFarBehind`), nothing of it kept: its client reloads the
   * doc, rebases its queue itself and resends on the head, where the walk is short.
   */
  private async transform(committedSince: Change[], queue: Change[], isOwn: (committed: Change) => boolean, headRev: number): Promise<Change[]> {
    const limit = this.options.maxTransformWork ?? Infinity;
    const meter: WalkMeter = { pairs: 0 };
    try {
      if (this.transformIncoming === transformIncomingChanges) return await runSliced(withinWork(transformIncomingChangesSteps(committedSince, queue, isOwn, meter), meter, limit), this.options.sliceMs);
      return this.transformIncoming(committedSince, queue, isOwn);
    } catch (error) {
      if (error === TOO_MUCH_WORK) {
        this.options.stats.commitsTooFarBehind++;
        throw tooFarBehind(queue[0], headRev, limit);
      }
      this.options.onError(error);
      const changeId = queue[0].id;
      throw new StatusError(400, `Change ${changeId} could not be transformed over the changes committed since rev ${queue[0].baseRev}`, {
        changeId,
        scope: 'change',
      });
    }
  }

  /**
   * The history a commit is transformed over, read from the store. A hole may be a delete another
   * process made a moment ago: the first one is a `RevConflictError`, so the commit reloads the
   * document and runs again (410 if it is deleted); a hole in the reloaded history is reported.
   */
  private async historyForCommit(doc: OTDoc, afterRev: number): Promise<Change[]> {
    const suspect = this.gapSuspects.delete(doc.docId);
    try {
      return await this.changesAfter(doc, afterRev, { quiet: !suspect });
    } catch (error) {
      if (suspect || !(error instanceof HistoryGapError)) throw error;
      this.gapSuspects.add(doc.docId);
      throw new RevConflictError(doc.docId, afterRev + 1, { cause: error });
    }
  }

  /**
   * Committed changes with `rev > afterRev`, from memory, or from the store for older history.
   * A hole in what the store gives is a `HistoryGapError`, reported unless `quiet` (the caller
   * reloads the document first: the hole may be a delete this process has not heard of).
   */
  private async changesAfter(doc: OTDoc, afterRev: number, { quiet = false } = {}): Promise<Change[]> {
    const inMemory = tailAfter(doc, afterRev);
    if (inMemory) return inMemory;
    const { snapshotRev, tail, headRev } = doc;
    const older: Change[] = [];
    for (const entry of await this.options.store.readLog(doc.docId, afterRev)) {
      if (entry.kind !== 'ot') continue;
      for (const change of entry.changes) if (change.rev > afterRev && change.rev <= snapshotRev) older.push(change);
    }
    // History the store lost (a file gone, a bad restore) must fail loudly: a list with a hole
    // would be applied by the client as if whole, and it would diverge without knowing.
    const hole = older.findIndex((change, i) => change.rev !== afterRev + 1 + i);
    if (hole >= 0 || afterRev + older.length !== snapshotRev) {
      const missing = afterRev + 1 + (hole >= 0 ? hole : older.length);
      const error = new HistoryGapError(doc.docId, missing, afterRev);
      if (!quiet) this.options.onError(error);
      throw error;
    }
    return [...older, ...tail.filter((change) => change.rev <= headRev)];
  }

  /** The committed changes at the given revs. */
  private async changesAtRevs(doc: OTDoc, revs: number[]): Promise<Change[]> {
    if (revs.length === 0) return [];
    const min = Math.min(...revs);
    const wanted = new Set(revs);
    return (await this.changesAfter(doc, min - 1)).filter((change) => wanted.has(change.rev));
  }

  /**
   * Whether an incoming id may be in history older than the snapshot, whose ids are not loaded
   * yet (never with a store that refuses known ids: its `append` says so).
   */
  private needsIndex(doc: OTDoc, incoming: IncomingChange[]): boolean {
    return !this.options.store.uniqueChangeIds && !doc.indexed && !incoming.every((change) => doc.ids.has(change.id));
  }

  /**
   * Whether an id of `input` (a batch at baseRev 0 from a client that never loaded the doc) is
   * committed already: from memory, or, when memory may not hold the whole history, from the log
   * read from rev 0 (rare: an upload before a load). A store that refuses known ids says so itself.
   */
  private async anyCommitted(doc: OTDoc, input: IncomingChange[]): Promise<boolean> {
    if (this.needsIndex(doc, input)) await this.indexHistory(doc);
    if (input.some((change) => doc.ids.has(change.id))) return true;
    if (this.options.store.uniqueChangeIds || doc.ids.size >= doc.headRev) return false;
    const ids = new Set(input.map((change) => change.id));
    for (const entry of await this.options.store.readLog(doc.docId, 0)) {
      if (entry.kind !== 'ot') continue;
      if (entry.changes.some((change) => change.rev <= doc.headRev && ids.has(change.id))) return true;
    }
    return false;
  }

  /**
   * Loads the ids of the latest history older than the snapshot, up to `rememberedChangeIds` in
   * all (once: see {@link needsIndex}); reads that much of the log, not all of it.
   */
  private async indexHistory(doc: OTDoc): Promise<void> {
    const recent = new Map<string, number>();
    for (const entry of await this.options.store.readLog(doc.docId, Math.max(0, doc.headRev - this.rememberedIds))) {
      if (entry.kind !== 'ot') continue;
      for (const change of entry.changes) if (change.rev <= doc.headRev) recent.set(change.id, change.rev);
    }
    // Oldest first, as `remember` drops them: what memory held already is the newer part.
    for (const [id, rev] of doc.ids) recent.set(id, rev);
    doc.ids = recent;
    this.forgetOldest(doc);
    doc.indexed = true;
  }

  /** Records committed ids (id → rev), forgetting the oldest past `rememberedChangeIds` (or past `keep`, if more). */
  private remember(doc: OTDoc, ids: Iterable<readonly [string, number]>, keep = 0): void {
    for (const [id, rev] of ids) doc.ids.set(id, rev);
    this.forgetOldest(doc, keep);
  }

  private forgetOldest(doc: OTDoc, keep = 0): void {
    const most = Math.max(this.rememberedIds, keep);
    for (const id of doc.ids.keys()) {
      if (doc.ids.size <= most) break;
      doc.ids.delete(id);
    }
  }

  private get rememberedIds(): number {
    return this.options.rememberedChangeIds ?? REMEMBERED_CHANGE_IDS;
  }
}

/**
 * The most op pairs one OT commit's transform may pay for by default (`maxTransformWork`; an
 * `@txt` op weighs more, see `WalkMeter`): ~0.5–1.4 s of the server's CPU on a 2-core VM where
 * every pair meets. An offline session whose ops meet few of the others' (edits of other keys,
 * appends to one list) counts about one per committed op and never comes near it (3,000 changes
 * over 3,000: ~6,000); one whose ops all meet reaches it at ~1,000 × 1,000 list inserts at one
 * index or ~300 × 300 typed changes of one text, and the stall of review (4,000 × 4,000 inserts,
 * 16 million pairs, ~7–20 s) is refused at once.
 */
export const MAX_TRANSFORM_WORK = 1_000_000;

/** Thrown into a walk's runner when it passed its work limit (`withinWork`). */
const TOO_MUCH_WORK = Symbol('too much work');

/** The steps of a metered walk, stopped (throwing `TOO_MUCH_WORK`) at the first step after `meter` passes `limit`. */
function* withinWork<T>(steps: Steps<T>, meter: WalkMeter, limit: number): Steps<T> {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    if (meter.pairs > limit) throw TOO_MUCH_WORK;
    yield;
  }
}

/**
 * The refusal of a commit whose transform passed `maxTransformWork`: 409 `{ scope: 'doc', headRev }`,
 * which makes a client (ours, @dabble/patches') reload the doc, rebase its queue on the head and
 * resend it there (protocol §5.4). `headRev` (at or after the change's `baseRev`) tells our client
 * the server is not behind it, so it catches up without checking for a regression first.
 */
function tooFarBehind(head: Change, headRev: number, limit: number): StatusError {
  return new StatusError(
    409,
    `TOO_FAR_BEHIND: change ${head.id} at baseRev ${head.baseRev} would cost more than ${limit} op pairs to transform over the changes committed since (head rev ${headRev}); catch up, rebase and resend`,
    { scope: 'doc', headRev },
  );
}

function isOwnUpload(doc: OTDoc, head: IncomingChange): boolean {
  const first = doc.first;
  if (!first) return false;
  if (head.id === first.id) return true;
  return head.batchId !== undefined && (head.batchId === first.batchId || head.batchId === first.id);
}

function firstOf(change: Change): { id: string; batchId?: string } {
  return change.batchId === undefined ? { id: change.id } : { id: change.id, batchId: change.batchId };
}

/** The change as it will be stored, before the transform: baseRev set, createdAt clamped to the server clock. */
function prepare(change: IncomingChange, baseRev: number, now: number): Change {
  return {
    ...change,
    baseRev,
    rev: change.rev ?? baseRev + 1,
    createdAt: Math.min(change.createdAt ?? now, now),
    committedAt: 0,
  };
}

/** Committed changes with `rev > afterRev` when the in-memory tail holds them all, else `undefined`. */
function tailAfter(doc: OTDoc, afterRev: number): Change[] | undefined {
  return afterRev >= doc.snapshotRev ? doc.tail.slice(afterRev - doc.snapshotRev) : undefined;
}

function mergeByRev(a: Change[], b: Change[]): Change[] {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  const byRev = new Map<number, Change>();
  for (const change of [...a, ...b]) byRev.set(change.rev, change);
  return [...byRev.values()].sort((x, y) => x.rev - y.rev);
}

function result(changes: Change[], docReloadRequired: boolean): CommitChangesResult {
  return docReloadRequired ? { changes, docReloadRequired: true } : { changes };
}

/** The store's history of a document has a hole where this process expected changes (500). */
class HistoryGapError extends StatusError {
  override name = errorName(this, HistoryGapError, 'HistoryGapError');
  constructor(docId: string, missing: number, afterRev: number) {
    super(500, `The stored history of ${docId} lacks rev ${missing} (asked for the changes after rev ${afterRev})`, { scope: 'doc' });
  }
}
