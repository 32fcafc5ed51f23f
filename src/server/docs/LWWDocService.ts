import { consolidateOpsSteps, convertDeltaOps } from '../../algorithms/lww/consolidateOps.js';
import { createId } from '../../algorithms/createId.js';
import type { Change, CommitChangesResult, JSONPatchOp, PatchesSnapshot } from '../../types.js';
import type { IncomingChange } from '../validate.js';
import { DocService, REMEMBERED_CHANGE_IDS, revisionAhead } from './DocService.js';
import { changeError } from '../validate.js';
import type { CallOrigin, LoadedDoc } from './DocService.js';
import type { LogEntry, LWWLogEntry, StoredDoc } from '../stores/ServerStore.js';
import { RevConflictError } from '../stores/RevConflictError.js';
import { LWWRows, type PreparedWrite } from './LWWRows.js';
import { runSliced } from './runSliced.js';
import type { Steps } from '../../util/steps.js';

/** Rows and remembered ids a snapshot may write per commit since the last, on average (see `snapshotDue`). */
const SNAPSHOT_ENTRIES_PER_COMMIT = 50;

/** An LWW document as the server holds it: one stored row per path. */
export interface LWWDoc extends LoadedDoc {
  /** The stored rows, one per path (`replace`/`remove` with concrete value, `ts` and `rev`). */
  rows: LWWRows;
  /** Recently committed change ids → the rev that consumed them (insertion ordered). */
  seen: Map<string, number>;
  /** Commits since the last snapshot. */
  sinceSnapshot: number;
}

/**
 * The LWW document service (protocol §1.5.6, conflict rules §4.8): every op is a timestamped
 * write to one path; the newer write wins (ties go to the incoming op), `@inc/@bit/@max/@min`
 * always combine. The server stores concrete values only (`replace`/`remove` rows), so a
 * document is the set of its rows and `getDoc` never replays history.
 *
 * Op timestamps are clamped to the server clock, so a client with a clock in the future cannot
 * make its writes unbeatable. A change whose id was committed before (a retry after a lost
 * response) is not applied again — which matters for `@inc` — but its paths are still echoed.
 */
export class LWWDocService extends DocService<LWWDoc> {
  /** @inheritDoc */
  readonly algorithm = 'lww' as const;

  /** @inheritDoc */
  async getDoc(docId: string): Promise<PatchesSnapshot> {
    const doc = await this.openLive(docId);
    const rows = [...doc.rows.values()];
    return { state: {}, rev: doc.headRev, changes: rows.length ? [this.synthesise(doc, rows, 0)] : [] };
  }

  /** @inheritDoc */
  async getChangesSince(docId: string, rev: number): Promise<Change[]> {
    await this.readOnIfAhead(docId, rev);
    const doc = await this.openLive(docId);
    if (rev > doc.headRev) throw revisionAhead('rev', rev, doc.headRev);
    const rows = doc.rows.since(rev);
    return rows.length ? [this.synthesise(doc, rows, rev)] : [];
  }

  /**
   * @inheritDoc
   *
   * The commit's work runs in slices, other requests served between them (`runSliced`; a commit of
   * 13,867 field writes, 1 MB, held every document's clients for ~0.6–1.4 s): resolving its ops against the rows
   * they meet and merging the rows' next path order before the store has the commit, building the
   * reply after. The lock keeps this doc's other commits waiting, and nothing of the doc changes
   * until the store has the commit (reads see the doc as before it, as during the store's write);
   * then its rows are written at once.
   */
  commitChanges(docId: string, input: IncomingChange[], origin: CallOrigin): Promise<CommitChangesResult> {
    const ahead = { readOn: false };
    return this.options.lock.run(docId, () => this.retryOnConflict(docId, async () => {
      const doc = await this.openLive(docId);
      if (input.length === 0) return { changes: [] };
      for (const change of input) change.ops.forEach((op, index) => checkLWWOp(change.id, op, index));
      const now = this.options.now();
      const head = input[0];
      const clientRev = Math.max(0, head.baseRev ?? (head.rev !== undefined ? head.rev - 1 : doc.headRev));
      // Unlike the anchor (no check), a base the server never reached is refused as for OT.
      if (clientRev > doc.headRev) throw this.aheadOfHead(docId, 'baseRev', clientRev, doc.headRev, ahead);
      const previousRev = doc.headRev;
      const rev = previousRev + 1;
      const resolved = await runSliced(resolveSteps(doc, input, now, rev), this.options.sliceMs);
      this.options.stats.duplicateChanges += resolved.duplicates;
      const { consumed, saved, pathsToDelete } = resolved;
      const stored = saved.length > 0 || pathsToDelete.length > 0;
      if (stored) {
        try {
          await this.options.store.append(docId, { kind: 'lww', rev, committedAt: now, changeIds: consumed, save: saved, remove: pathsToDelete });
        } catch (error) {
          // Another process committed first: read on and resolve again.
          if (error instanceof RevConflictError) throw error;
          // Its outcome is unknown: read the doc again before the next write, and announce what was kept.
          throw this.writeFailed(doc, error, 'the commit to');
        }
        doc.rows.write(saved, pathsToDelete, resolved.prepared);
        doc.headRev = rev;
        doc.sinceSnapshot++;
      }
      remember(doc, consumed, stored ? rev : previousRev);
      this.options.stats.commits++;
      if (stored) {
        this.options.stats.changesCommitted++;
        const broadcast: Change = { id: head.id, baseRev: previousRev, rev, ops: saved, createdAt: now, committedAt: now };
        this.options.announce(docId, 'changesCommitted', { docId, changes: [broadcast] }, origin.connectionId);
        this.maybeSnapshot(doc);
      }
      const rows = await runSliced(replySteps(doc, resolved, clientRev, origin.mayRead === false ? (stored ? rev : undefined) : null), this.options.sliceMs);
      const response: Change = { id: head.id, baseRev: clientRev, rev: stored ? rev : previousRev, ops: rows, createdAt: now, committedAt: now };
      return { changes: [response] };
    }));
  }

  /** @inheritDoc */
  protected fromStored(docId: string, stored: StoredDoc): LWWDoc {
    if (stored.tombstone) return { ...this.emptyDoc(docId), tombstone: stored.tombstone };
    const doc = this.emptyDoc(docId);
    const snapshot = stored.snapshot;
    this.checkKind(docId, snapshot?.kind);
    if (snapshot?.kind === 'lww') {
      doc.headRev = snapshot.rev;
      doc.rows.load(snapshot.rows);
      for (const [id, rev] of snapshot.changeIds) doc.seen.set(id, rev);
    }
    for (const entry of stored.tail) {
      this.checkKind(docId, entry.kind);
      if (entry.kind !== 'lww') continue;
      doc.rows.write(entry.save, entry.remove);
      remember(doc, entry.changeIds, entry.rev);
      doc.headRev = entry.rev;
      doc.sinceSnapshot++;
    }
    return doc;
  }

  /** @inheritDoc */
  protected readOn(doc: LWWDoc, entries: LogEntry[]): Change[] | undefined {
    if (entries.some((entry, index) => entry.kind !== 'lww' || entry.rev !== doc.headRev + 1 + index)) return undefined;
    return (entries as LWWLogEntry[]).map((entry) => {
      doc.rows.write(entry.save, entry.remove);
      remember(doc, entry.changeIds, entry.rev);
      doc.headRev = entry.rev;
      doc.sinceSnapshot++;
      // The broadcast the committing process sent its own subscribers (the stored rows).
      const id = entry.changeIds[0] ?? toBase62(entry.rev) + createId(4);
      return { id, baseRev: entry.rev - 1, rev: entry.rev, ops: entry.save, createdAt: entry.committedAt, committedAt: entry.committedAt };
    });
  }

  /** @inheritDoc */
  protected emptyDoc(docId: string): LWWDoc {
    return { docId, headRev: 0, rows: new LWWRows(), seen: new Map(), sinceSnapshot: 0 };
  }

  /** @inheritDoc */
  protected snapshotDue(doc: LWWDoc): boolean {
    // A snapshot writes every row and every remembered id (up to 50,000): a big one comes more
    // rarely, so it costs a commit no more than SNAPSHOT_ENTRIES_PER_COMMIT entries on average.
    const size = doc.rows.size + doc.seen.size;
    return doc.sinceSnapshot >= Math.max(this.options.snapshotEvery, Math.ceil(size / SNAPSHOT_ENTRIES_PER_COMMIT));
  }

  /** @inheritDoc */
  protected async writeSnapshot(doc: LWWDoc): Promise<void> {
    await this.options.store.saveSnapshot(doc.docId, {
      kind: 'lww',
      rev: doc.headRev,
      rows: [...doc.rows.values()],
      changeIds: [...doc.seen.entries()],
    });
    doc.sinceSnapshot = 0;
  }

  /** One change holding `rows` (§1.5.3): a fresh id, `rev` = newest row rev, `committedAt` = newest ts. */
  private synthesise(doc: LWWDoc, rows: JSONPatchOp[], baseRev: number): Change {
    const now = this.options.now();
    const sorted = doc.rows.inCommitOrder(rows);
    // Folded, not spread into Math.max: a doc of more than ~120,000 rows would overflow the stack.
    const rev = sorted.reduce((max, row) => Math.max(max, row.rev ?? 0), -Infinity);
    const committedAt = sorted.reduce((max, row) => Math.max(max, row.ts ?? 0), 0) || now;
    return { id: toBase62(rev) + createId(4), baseRev, rev, ops: sorted, createdAt: now, committedAt };
  }
}

/** What a commit's ops come to against the rows they meet (see {@link resolveSteps}). */
interface Resolved {
  /** Every path the commit's ops write, its resent changes' too. */
  sentPaths: Set<string>;
  /** The ids of its changes not committed before. */
  consumed: string[];
  /** How many of its changes were committed before (resent). */
  duplicates: number;
  /** The rows to store, at the commit's rev. */
  saved: JSONPatchOp[];
  /** The stored paths to delete. */
  pathsToDelete: string[];
  /** Corrections: the stored row at each path where a write was rejected. */
  opsToReturn: JSONPatchOp[];
  /** The rows' next path order, for a large write. */
  prepared: PreparedWrite | undefined;
}

/** About how many ops one step of {@link resolveSteps} or {@link replySteps} copies before it yields. */
const OPS_PER_STEP = 4096;

/**
 * A commit's ops stamped (clamped to the server's clock), resolved against the stored rows they
 * meet (`consolidateOps`, last write wins) and made concrete at `rev`, and the rows' next path
 * order merged: as steps, reading the doc and writing nothing of it.
 */
function* resolveSteps(doc: LWWDoc, input: IncomingChange[], now: number, rev: number): Steps<Resolved> {
  const sentPaths = new Set<string>();
  const newOps: JSONPatchOp[] = [];
  const consumed: string[] = [];
  let duplicates = 0;
  for (const change of input) {
    for (const op of change.ops) sentPaths.add(op.path);
    if (doc.seen.has(change.id)) {
      duplicates++;
      continue;
    }
    consumed.push(change.id);
    const fallback = typeof change.createdAt === 'number' ? change.createdAt : now;
    for (const op of change.ops) {
      newOps.push({ ...op, ts: Math.min(op.ts ?? fallback, now) });
      if (newOps.length % OPS_PER_STEP === 0) yield;
    }
  }
  const meeting = yield* doc.rows.meetingSteps(newOps.map((op) => op.path));
  const { opsToSave, pathsToDelete, opsToReturn } = yield* consolidateOpsSteps(meeting, newOps);
  const saved = convertDeltaOps(opsToSave).map((op) => ({ ...op, rev }));
  yield;
  const prepared = yield* doc.rows.prepareWrite(saved, pathsToDelete);
  return { sentPaths, consumed, duplicates, saved, pathsToDelete, opsToReturn, prepared };
}

/**
 * A commit's reply, once its rows are written: the corrections, the stored row of every sent or
 * corrected path and its stored descendants, and every row the client has not seen yet (rev >
 * `clientRev`), in commit order. A correction (say the winning `remove /obj`) without the newer
 * rows under it would wipe them on the client. A caller that may not read the doc is sent only the
 * rows this commit stored (`onlyRev`: its rev, or `undefined` when it stored none; `null` for a
 * caller that may read), its own writes as they were stored, not the rows of others it met or missed.
 */
function* replySteps(doc: LWWDoc, resolved: Resolved, clientRev: number, onlyRev: number | undefined | null): Steps<JSONPatchOp[]> {
  const reply = new Map<string, JSONPatchOp>();
  const covered = new Set(resolved.sentPaths);
  for (const op of resolved.opsToReturn) {
    reply.set(op.path, op);
    covered.add(op.path);
  }
  const add = function* (rows: JSONPatchOp[]): Steps<void> {
    for (let i = 0; i < rows.length; i++) {
      reply.set(rows[i].path, rows[i]);
      if (i % OPS_PER_STEP === OPS_PER_STEP - 1) yield;
    }
  };
  yield* add(yield* doc.rows.atOrUnderSteps(covered));
  yield* add(yield* doc.rows.sinceSteps(clientRev));
  const rows = onlyRev === null ? [...reply.values()] : [...reply.values()].filter((row) => onlyRev !== undefined && row.rev === onlyRev);
  return yield* doc.rows.inCommitOrderSteps(rows);
}

/** LWW ops are writes of a value: `move`/`copy` have no value to store (§4.8). */
function checkLWWOp(changeId: string, op: JSONPatchOp, index: number): void {
  if (op.op === 'move' || op.op === 'copy') throw changeError(changeId, `op ${index}: ${op.op} has no meaning in an LWW document`);
}

function remember(doc: LWWDoc, ids: string[], rev: number): void {
  for (const id of ids) doc.seen.set(id, rev);
  while (doc.seen.size > REMEMBERED_CHANGE_IDS) {
    const oldest = doc.seen.keys().next().value;
    if (oldest === undefined) break;
    doc.seen.delete(oldest);
  }
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Base-62 digits of a rev: the sortable prefix of a synthesised change id (as the anchor mints them). */
function toBase62(value: number): string {
  let out = '';
  let rest = Math.max(0, Math.floor(value));
  do {
    out = BASE62[rest % 62] + out;
    rest = Math.floor(rest / 62);
  } while (rest > 0);
  return out;
}
