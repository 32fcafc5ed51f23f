// The pieces IndexedDBStore's writes are made of, each on an open readwrite transaction: the
// doc's row read under its guard, a new queue tag, the whole state, a rewind, the OT queue, a
// doc's data cleared. Requests are fired, not awaited: the transaction reports their outcome.
import { DocNotTrackedError, StoreConflictError, StoreError } from '../errors.js';
import type { Algorithm, Change, JSONPatchOp } from '../types.js';
import { afterWrite } from '../algorithms/lww/pathOrder.js';
import type { StoreGuard } from './PatchesStore.js';
import { guardConflict, type GuardedFacts } from './guardConflict.js';
import { pathsSince, wentBack, type DocRow } from './idbDocRow.js';
import { docRange, type RWTx, type Tx } from './idbSchema.js';
import { newQueueTag, type KnownQueues } from './KnownQueues.js';

/**
 * A request whose outcome the transaction reports: a failed request aborts the transaction and
 * `tx.done` rejects, so the request's own promise only needs a handler to stay quiet.
 *
 * @example
 * fire(tx.objectStore('docs').put(row));
 */
export function fire(request: Promise<unknown>): void {
  request.catch(ignore);
}

function ignore(): void {}

/**
 * The doc's row, if it may be written to (tracked, not deleted, of the right algorithm) and still
 * holds what `expect` says (else a `StoreConflictError`).
 */
export async function guardedRow(tx: RWTx, docId: string, expect: StoreGuard | undefined, algorithm?: Algorithm, known?: KnownQueues): Promise<DocRow> {
  const { row, conflict } = await readGuarded(tx, docId, expect, known);
  if (!row || row.deleted) throw new DocNotTrackedError(docId, row !== undefined);
  if (algorithm && row.algorithm !== algorithm) {
    throw new StoreError(`Doc "${docId}" is ${row.algorithm.toUpperCase()}, not ${algorithm.toUpperCase()}`, docId);
  }
  if (conflict) throw new StoreConflictError(docId, conflict);
  return row;
}

/**
 * The doc's row (none for an unknown doc) and, if `expect` no longer holds for it, why. The row
 * and the guard's facts are read with one round of requests: each await inside a transaction is
 * a round trip to the database (in Chromium, to another process), and a write pays them before
 * it can commit. The OT queue grows with every offline edit, so it is not read when `known` holds
 * its ids under the row's tag (the common case: this instance wrote it last); a tag that moved on
 * costs a second round.
 */
export async function readGuarded(tx: RWTx, docId: string, expect: StoreGuard | undefined, known: KnownQueues | undefined): Promise<{ row?: DocRow; conflict?: string }> {
  const range = docRange(docId);
  const readQueue = () => tx.objectStore('pendingChanges').getAll(range).then((rows) => rows.map((r) => r.change.id));
  const first = !known?.has(docId);
  const [row, read, readOpsNow, sending] = await Promise.all([
    tx.objectStore('docs').get(docId),
    expect?.pendingIds && first ? readQueue() : undefined,
    expect?.pendingOps && first ? readPendingOps(tx, docId) : undefined,
    expect?.sendingId !== undefined ? tx.objectStore('sending').get(docId) : undefined,
  ]);
  if (!row) return {};
  const facts: GuardedFacts = { committedRev: row.committedRev, deleted: row.deleted === true, rewinds: row.rewinds };
  if (expect?.pendingIds) facts.pendingIds = read ?? known?.idsUnder(docId, row.queueTag) ?? (await readQueue());
  if (expect?.pendingOps) facts.pendingOps = await pendingOpsAt(tx, row, known, readOpsNow);
  if (expect?.sendingId !== undefined) facts.sendingId = sending?.change.id ?? null;
  return { row, conflict: guardConflict(facts, expect) };
}

/** Every LWW pending op of the doc, in path order (the store's key order). */
export function readPendingOps(tx: Tx<IDBTransactionMode>, docId: string): Promise<JSONPatchOp[]> {
  return tx.objectStore('pendingOps').getAll(docRange(docId)).then((rows) => rows.map((r) => r.op));
}

/**
 * The LWW pending ops as `row` stands: those read already in this transaction (`read`), else those
 * `known` holds under the row's tag, else caught up from an earlier tag by the row's log
 * (`opsCaughtUp`), else all of them read (a second round).
 */
export async function pendingOpsAt(tx: Tx<IDBTransactionMode>, row: DocRow, known: KnownQueues | undefined, read?: readonly JSONPatchOp[]): Promise<readonly JSONPatchOp[]> {
  return read ?? known?.opsUnder(row.docId, row.queueTag) ?? (await opsCaughtUp(tx, row, known)) ?? (await readPendingOps(tx, row.docId));
}

/**
 * The LWW pending ops as the row holds them now, built from the ops `known` holds under an earlier
 * tag and, read in one round, the ops at the paths the row's log says were written since (a tab
 * following another's offline session reads a few ops per write, not thousands); `undefined` when
 * nothing is known or the log does not lead from it.
 */
async function opsCaughtUp(tx: Tx<IDBTransactionMode>, row: DocRow, known: KnownQueues | undefined): Promise<JSONPatchOp[] | undefined> {
  const latest = known?.latestOps(row.docId);
  const paths = latest && pathsSince(row, latest.tag);
  if (!latest || !paths) return undefined;
  const store = tx.objectStore('pendingOps');
  const touched = [...paths];
  const rows = await Promise.all(touched.map((path) => store.get([row.docId, path])));
  const saved = rows.flatMap((stored) => (stored ? [stored.op] : []));
  return afterWrite(latest.ops, saved, touched.filter((_, i) => !rows[i]));
}

/**
 * The row with a new queue tag (its OT queue or LWW pending ops change in this transaction), and
 * a new queue base unless the change only appends to an OT queue that has one.
 */
export function retagged(row: DocRow, appendOnly = false): DocRow & { queueTag: string } {
  // The LWW ops log leads to the old tag only: `savePendingOps` logs its write itself.
  const { opsLog: _ended, ...rest } = row;
  return { ...rest, queueTag: newQueueTag(), queueBase: appendOnly && row.queueBase !== undefined ? row.queueBase : newQueueTag() };
}

/** Writes the row `retagged` (for a write that changes only the queue); returns the new tag. */
export function retagQueue(tx: RWTx, row: DocRow, appendOnly = false): string {
  const next = retagged(row, appendOnly);
  fire(tx.objectStore('docs').put(next));
  return next.queueTag;
}

/** Writes the whole committed state at `rev` (the row's tail, if any, is done with). */
export function putState(tx: RWTx, row: DocRow, rev: number, state: unknown): void {
  const { stateRev: _done, ...current } = row;
  // A row from before `logFrom` existed starts its log at its first whole write.
  fire(tx.objectStore('docs').put({ ...current, committedRev: rev, logFrom: current.logFrom ?? rev }));
  fire(tx.objectStore('states').put({ docId: row.docId, state }));
}

/**
 * The row after going back to `rev` when that is below its committed rev (else the row as is):
 * the abandoned history's rows go, and the row records the rewind (`wentBack`).
 */
export function rewoundTo(tx: RWTx, row: DocRow, rev: number): DocRow {
  if (rev >= row.committedRev) return row;
  fire(tx.objectStore('committedChanges').delete(IDBKeyRange.bound([row.docId, rev], [row.docId, []], true)));
  return { ...row, ...wentBack(row, rev) };
}

/** Writes `changes` as the doc's whole OT queue, in order from seq 1. */
export function putPendingQueue(tx: RWTx, docId: string, changes: Change[]): void {
  const pending = tx.objectStore('pendingChanges');
  fire(pending.delete(docRange(docId)));
  changes.forEach((change, i) => fire(pending.put({ docId, seq: i + 1, change })));
}

/** Deletes everything stored for the doc but its row (state, history, queue, pending ops, in-flight change). */
export function clearDocData(tx: RWTx, docId: string): void {
  const range = docRange(docId);
  fire(tx.objectStore('states').delete(docId));
  fire(tx.objectStore('committedChanges').delete(range));
  fire(tx.objectStore('pendingChanges').delete(range));
  fire(tx.objectStore('pendingOps').delete(range));
  fire(tx.objectStore('sending').delete(docId));
}
