import type { Change } from '../types.js';
import { JSONRPCError, MissingChangesError } from '../errors.js';

/**
 * Turns the acknowledgements in a `commitChanges` reply back into committed changes: an entry
 * without `ops` (`{ id, rev, committedAt }`, see `CommitAck`) stands for the change of that id
 * the client sent, committed exactly as sent; an LWW entry's `acked` lists the sent ops (by index
 * among all ops sent) stored exactly as sent, which go back into its `ops` as stored (`add` as
 * `replace`); one without `ops` stands for the sent change with only those ops. Full entries pass
 * unchanged, so a reply from a server that echoes everything (the reference ignores the
 * `compactAck` option) needs nothing. An entry of only `{ id, rev }` names a change of another
 * client this connection was sent in a broadcast: `received(id)` finds it.
 *
 * @param changes the reply's `changes` as they came off the wire
 * @param sent the batch the request carried
 * @param received the change with this id, if a broadcast brought it lately
 * @return the committed changes, in reply order
 * @throws JSONRPCError -32603 when an acknowledgement names a change that was not sent
 * @throws MissingChangesError when a named broadcast change is not at hand (the caller fetches it)
 */
export function expandAcks(changes: unknown, sent: readonly Change[], received: (changeId: string) => Change | undefined = () => undefined): unknown {
  if (!Array.isArray(changes) || changes.every(entry => !isAck(entry) && !hasAckedOps(entry) && !isRef(entry))) return changes;
  const byId = new Map(sent.map(change => [change.id, change]));
  const sentOps = sent.flatMap(change => change.ops);
  return changes.map(entry => {
    if (hasAckedOps(entry)) {
      const { acked, ...rest } = entry;
      const original = byId.get(rest.id);
      // Applied as the server stored them: an `add` is a `replace` there (an LWW path is a key, never an insert).
      const ops = acked.map(index => sentOps[index]).map(op => (op?.op === 'add' ? { ...op, op: 'replace' as const } : op));
      if (!original || ops.some(op => op === undefined)) throw new JSONRPCError(-32603, `commitChanges acknowledged ops of "${rest.id}" that were not sent`, entry);
      // Without ops of its own the reply held nothing else: the change is the one sent, with those ops.
      const change: Change = Array.isArray(rest.ops) ? (rest as Change) : { ...original, rev: rest.rev, committedAt: rest.committedAt ?? 0, ops: [] };
      return { ...change, ops: [...change.ops, ...ops] };
    }
    if (isRef(entry)) {
      const known = received(entry.id);
      if (known?.rev !== entry.rev) throw new MissingChangesError(entry.rev, entry.rev, entry.rev - 1);
      return known;
    }
    if (!isAck(entry)) return entry;
    const original = byId.get(entry.id);
    if (!original) throw new JSONRPCError(-32603, `commitChanges acknowledged change "${entry.id}", which was not sent`, entry);
    return { ...original, rev: entry.rev, committedAt: entry.committedAt };
  });
}

/** An entry acknowledged by id: no ops, a string id and a numeric rev. */
function isAck(entry: unknown): entry is { id: string; rev: number; committedAt: number } {
  if (typeof entry !== 'object' || entry === null || 'ops' in entry) return false;
  const { id, rev, committedAt } = entry as { id?: unknown; rev?: unknown; committedAt?: unknown };
  return typeof id === 'string' && typeof rev === 'number' && typeof committedAt === 'number';
}

/** An LWW entry with some sent ops acknowledged by index instead of echoed (beside other rows, or alone). */
function hasAckedOps(entry: unknown): entry is Pick<Change, 'id' | 'rev'> & Partial<Change> & { acked: number[] } {
  if (typeof entry !== 'object' || entry === null) return false;
  const { id, rev, acked } = entry as { id?: unknown; rev?: unknown; acked?: unknown };
  return typeof id === 'string' && typeof rev === 'number' && Array.isArray(acked) && acked.every(index => Number.isSafeInteger(index));
}

/** A change named by `{ id, rev }` alone: one a broadcast brought. */
function isRef(entry: unknown): entry is { id: string; rev: number } {
  if (typeof entry !== 'object' || entry === null || 'ops' in entry || 'committedAt' in entry) return false;
  const { id, rev } = entry as { id?: unknown; rev?: unknown };
  return typeof id === 'string' && typeof rev === 'number';
}
