import { deepEqual } from '../algorithms/deepEqual.js';
import type { Algorithm, Change, CommitAck, CommitChangesResult, JSONPatchOp } from '../types.js';
import type { IncomingChange } from './validate.js';

/** A catch-up change named by id: the connection holds it from a broadcast. */
type BroadcastRef = Pick<Change, 'id' | 'rev'>;

/** The `commitChanges` option (third param) by which a client asks for `CommitAck`s. */
export const COMPACT_ACK_OPTION = 'compactAck';

/** Whether a call's options param sets `name` to `true` (anything else is ignored). */
export function wantsOption(options: unknown, name: string): boolean {
  return typeof options === 'object' && options !== null && (options as Record<string, unknown>)[name] === true;
}

/** Whether `commitChanges`' options param asks for compact acknowledgements (anything else is ignored). */
export function wantsCompactAck(options: unknown): boolean {
  return wantsOption(options, COMPACT_ACK_OPTION);
}

/**
 * Replaces, in a `commitChanges` reply, every change the request sent that was committed exactly
 * as sent by an `{ id, rev, committedAt }` acknowledgement.
 *
 * Echoing a client's own change back costs as many bytes as sending it; when the server did not
 * touch it, the id says all the client needs. "Exactly as sent" compares everything but the
 * fields a commit always sets (`rev`, `committedAt`, `clientId`): a change transformed over
 * concurrent ones, re-based onto the head, or whose `createdAt` was clamped stays in full,
 * because a client builds its committed state from the server's ops. Catch-up changes of others
 * and committed copies of resent changes are untouched; a dropped change stays absent.
 *
 * An LWW reply is one change the server puts together (the stored row of every sent path, and
 * every row the client has not seen), so it never equals a sent change: there each row that is
 * exactly a sent op, stored by this commit and touching no other row's path, is left out of
 * `ops` and listed by its index among the sent ops in `acked` (the client applies those ops
 * itself; with no other row on their paths, the order does not matter). A reply left with no
 * other row shrinks to `{ id, rev, committedAt, acked }`.
 *
 * An OT catch-up change the connection was already sent in a `changesCommitted` broadcast
 * (`broadcast(id)`; it left on the same socket before this reply) is named by `{ id, rev }`.
 *
 * @param result the reply as the document service built it
 * @param sent the request's changes
 * @param algorithm the document's algorithm
 * @param broadcast whether the connection was sent this change id in a broadcast
 * @return the reply with own unchanged changes (OT) or ops (LWW) acknowledged instead of echoed
 */
export function compactReply(result: CommitChangesResult, sent: readonly IncomingChange[], algorithm: Algorithm = 'ot', broadcast: (changeId: string) => boolean = () => false): CommitChangesResult {
  const byId = new Map(sent.map(change => [change.id, change]));
  let compacted = false;
  const changes = result.changes.map((change): Change | CommitAck | BroadcastRef => {
    const original = byId.get(change.id);
    if (!original) {
      if (algorithm !== 'ot' || !broadcast(change.id)) return change;
      compacted = true;
      return { id: change.id, rev: change.rev };
    }
    if (algorithm === 'lww') {
      const reduced = ackSentRows(change, sent);
      compacted ||= reduced !== change;
      return reduced;
    }
    if (!committedAsSent(change, original)) return change;
    compacted = true;
    return { id: change.id, rev: change.rev, committedAt: change.committedAt };
  });
  // The wire carries both shapes; `CommitChangesResult` types what a client sees once expanded.
  return compacted ? { ...result, changes: changes as Change[] } : result;
}

/** Whether `committed` is `sent` with only the fields every commit sets changed. */
function committedAsSent(committed: Change, sent: IncomingChange): boolean {
  const { rev: _rev, committedAt: _committedAt, clientId: _clientId, ...kept } = committed as Change & { clientId?: unknown };
  const { rev: _sentRev, committedAt: _sentCommittedAt, clientId: _sentClientId, ...asSent } = sent as IncomingChange & { committedAt?: unknown; clientId?: unknown };
  return deepEqual(kept, asSent);
}

/** The LWW reply change without the rows that are sent ops stored as they were, listed in `acked` instead. */
function ackSentRows(change: Change, sent: readonly IncomingChange[]): Change {
  const sentOps = sent.flatMap(c => c.ops);
  const acked: number[] = [];
  const kept: JSONPatchOp[] = [];
  for (const row of change.ops) {
    const index = row.rev === change.rev && !overlapsAnother(row, change.ops) ? sentOps.findIndex(op => sameWrite(op, row)) : -1;
    if (index === -1 || acked.includes(index)) kept.push(row);
    else acked.push(index);
  }
  if (acked.length === 0) return change;
  // Nothing else in the reply: the id, rev and commit time say the rest.
  if (kept.length === 0) return { id: change.id, rev: change.rev, committedAt: change.committedAt, acked } as unknown as Change;
  return { ...change, ops: kept, acked } as Change;
}

/**
 * Whether the stored row writes exactly what the sent op wrote: the same value at the same path
 * (the server stores an `add` as a `replace`, and the client applies an acknowledged op the same
 * way); `ts` and `rev` are the server's bookkeeping.
 */
function sameWrite(op: JSONPatchOp, row: JSONPatchOp): boolean {
  if (op.path !== row.path || op.from !== undefined) return false;
  if (row.op === 'remove') return op.op === 'remove';
  return row.op === 'replace' && (op.op === 'replace' || op.op === 'add') && deepEqual(op.value, row.value);
}

/** Whether another op of the reply is at `row`'s path, above it or below it. */
function overlapsAnother(row: JSONPatchOp, ops: readonly JSONPatchOp[]): boolean {
  return ops.some(other => other !== row && (other.path === row.path || isUnder(other.path, row.path) || isUnder(row.path, other.path)));
}

/** True when `path` is strictly inside `parent` (`''` is the root and contains everything). */
function isUnder(path: string, parent: string): boolean {
  return path.length > parent.length && path.startsWith(parent) && path.charCodeAt(parent.length) === 47; /* '/' */
}
