import { AlgorithmMismatchError, type MissingChangesError } from '../errors.js';
import { isLWWServerChange } from '../algorithms/lww/isLWWServerChange.js';
import type { Algorithm, Change, PatchesSnapshot } from '../types.js';

/*
 * The protocol carries no algorithm: an app that opens a doc the server keeps as LWW without
 * `{ algorithm: 'lww' }` syncs it as OT. Most LWW traffic then looks like OT traffic (a broadcast
 * is one change at the next rev, its rows apply as plain `replace`/`remove`), so the mismatch is
 * named only where OT has already failed on it: each check below looks at a reply no OT server
 * sends, and only then asks whether it is made of LWW rows (`isLWWServerChange`). A healthy OT doc
 * never reaches either, whatever its ops hold.
 */

/**
 * The `AlgorithmMismatchError` a `getChangesSince` reply with a gap of its own stands for: the
 * change it skipped revs with (`gap.gotRev`) is an LWW server's catch-up, one change folding every
 * rev since the one asked for. An OT server's reply runs without holes from that rev, so there the
 * gap ended the doc's sync (as "Missing changes", again after every edit of another client).
 * Undefined for a doc opened as LWW, or any other gap (which stands as it is).
 *
 * @example
 * const reply = [{ id: 'x', baseRev: 3, rev: 6, ops: [{ op: 'replace', path: '/theme', value: 'dark', ts: 1700000000000, rev: 5 }], createdAt: 1, committedAt: 2 }];
 * mismatchInCatchUp('lww-settings', 'ot', reply, new MissingChangesError(4, 6, 3)); // AlgorithmMismatchError
 *
 * @param docId The doc the reply is for.
 * @param opened The algorithm the doc was opened with here.
 * @param reply The changes `getChangesSince` answered with.
 * @param gap The gap applying them hit, in the reply itself (not because the doc moved meanwhile).
 * @return The error to report instead of the gap, if the reply shows an LWW doc.
 */
export function mismatchInCatchUp(docId: string, opened: Algorithm, reply: readonly Change[], gap: MissingChangesError): AlgorithmMismatchError | undefined {
  if (opened !== 'ot') return undefined;
  const skipped = reply.find(change => change.rev === gap.gotRev);
  return skipped && isLWWServerChange(skipped) ? new AlgorithmMismatchError(docId, opened, 'lww') : undefined;
}

/**
 * The `AlgorithmMismatchError` a `getDoc` envelope stands for, if it holds a change at or below its
 * own rev made of LWW rows: an LWW server's snapshot (`state` `{}`, `rev` its head, one change of
 * every row). An OT envelope's changes are the tail after its `rev`; OT takes the others for ones
 * it already has, and would show the doc with its fields missing, silently. Undefined for a doc
 * opened as LWW, an OT envelope, and an LWW doc with no rows yet (nothing tells it apart: its first
 * gap does, above).
 *
 * @example
 * const envelope = { state: {}, rev: 2, changes: [{ id: 'x', baseRev: 0, rev: 2, ops: [{ op: 'replace', path: '/theme', value: 'dark', ts: 1700000000000, rev: 1 }], createdAt: 1, committedAt: 2 }] };
 * mismatchInSnapshot('lww-settings', 'ot', envelope); // AlgorithmMismatchError
 *
 * @param docId The doc the envelope is for.
 * @param opened The algorithm the doc was opened with here.
 * @param snapshot The `getDoc` envelope.
 * @return The error to report instead of installing it, if it shows an LWW doc.
 */
export function mismatchInSnapshot(docId: string, opened: Algorithm, snapshot: PatchesSnapshot): AlgorithmMismatchError | undefined {
  if (opened !== 'ot') return undefined;
  return snapshot.changes.some(change => change.rev <= snapshot.rev && isLWWServerChange(change)) ? new AlgorithmMismatchError(docId, opened, 'lww') : undefined;
}
