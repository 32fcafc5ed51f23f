import { deepEqual } from '../algorithms/deepEqual.js';
import type { Change, CommitAck, CommitChangesResult } from '../types.js';
import type { IncomingChange } from './validate.js';

/** The `commitChanges` option (third param) by which a client asks for `CommitAck`s. */
export const COMPACT_ACK_OPTION = 'compactAck';

/** Whether `commitChanges`' options param asks for compact acknowledgements (anything else is ignored). */
export function wantsCompactAck(options: unknown): boolean {
  return typeof options === 'object' && options !== null && (options as Record<string, unknown>)[COMPACT_ACK_OPTION] === true;
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
 * @param result the reply as the document service built it
 * @param sent the request's changes
 * @return the reply with own unchanged changes acknowledged by id
 */
export function compactReply(result: CommitChangesResult, sent: readonly IncomingChange[]): CommitChangesResult {
  const byId = new Map(sent.map(change => [change.id, change]));
  let compacted = false;
  const changes = result.changes.map((change): Change | CommitAck => {
    const original = byId.get(change.id);
    if (!original || !committedAsSent(change, original)) return change;
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
