import type { Change, JSONPatchOp } from '../../types.js';

/**
 * Whether a change sent by a server can only have come from an LWW document: it has ops, and
 * every one is a stored LWW row, a `replace` or `remove` with a numeric `ts` and `rev`.
 *
 * Why that tells them apart (protocol §1.5.3–§1.5.6, §2.1, §2.5): an LWW server stores every write
 * as such a row (deltas folded, `add` written as `replace`), stamps its `ts` (clamped to its clock)
 * and its `rev`, and sends only rows, in its broadcasts, commit replies and catch-ups alike. An
 * OT server commits the ops its clients sent, and "a committed OT change never carries `ts`"; no
 * OT server stamps a `rev` on an op. An OT doc into which an LWW client wrote (opened with the
 * wrong algorithm) holds ops with a `ts` and no op `rev`, so it does not pass either. A change
 * with no ops (an LWW commit that stored nothing) says nothing and is not taken for one.
 *
 * Alone this is a hint, not proof (an OT server passes op fields its clients send through): the
 * sync asks it only where OT has already failed to place the changes (see `algorithmMismatch`).
 *
 * @example
 * isLWWServerChange({ id: 'x', baseRev: 3, rev: 7, ops: [{ op: 'replace', path: '/theme', value: 'dark', ts: 1700000000000, rev: 5 }], createdAt: 1, committedAt: 2 }); // true
 * isLWWServerChange({ id: 'y', baseRev: 3, rev: 4, ops: [{ op: 'replace', path: '/theme', value: 'dark' }], createdAt: 1, committedAt: 2 }); // false
 *
 * @param change A change as a server sent it.
 * @return True when it is made of LWW rows only.
 */
export function isLWWServerChange(change: Change): boolean {
  return change.ops.length > 0 && change.ops.every(isLWWRow);
}

/** A stored LWW row: a concrete write with the server's timestamp and revision. */
function isLWWRow(op: JSONPatchOp): boolean {
  return (op.op === 'replace' || op.op === 'remove') && typeof op.ts === 'number' && typeof op.rev === 'number';
}
