import type { Change, CommitChangesResult } from '../types.js';

/**
 * The reply to a batch the server re-based onto its head (`docReloadRequired`: it was written
 * before its client ever loaded the document), with the document's history in place of the bare
 * commit, so the client needs no reload.
 *
 * Such a reply holds only the changes this commit wrote, after revisions the client never had:
 * a client then reloads the document, and ours does it with `getChangesSince(docId, 0)`. Given
 * that very answer (`history`, read after the commit), the reply carries it instead: contiguous
 * from rev 1, with the commit's own changes in it, so the client applies it as a normal reply and
 * spends no second round trip. `docReloadRequired` stays set (the queue's later batches were
 * cut from a base that is gone). A history that lacks one of the commit's changes (the document
 * was deleted and begun again in between) leaves the reply as it was, for the client to reload.
 *
 * @example
 * replyWithHistory({ changes: [own], docReloadRequired: true }, [first, own]); // → { changes: [first, own], docReloadRequired: true }
 *
 * @param result the reply as the document service built it
 * @param history every committed change of the document, from rev 1
 * @return the reply with the history as its changes, or `result` unchanged
 */
export function replyWithHistory(result: CommitChangesResult, history: readonly Change[]): CommitChangesResult {
  if (!result.docReloadRequired) return result;
  const ids = new Set(history.map((change) => change.id));
  if (!result.changes.every((change) => ids.has(change.id))) return result;
  return { ...result, changes: [...history] };
}
