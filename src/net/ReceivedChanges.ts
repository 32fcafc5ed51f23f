import type { Change } from '../types.js';

/**
 * The changes lately received in `changesCommitted` broadcasts, per document, by id: a compact
 * `commitChanges` reply names a catch-up change this connection was already sent as `{ id, rev }`
 * (the broadcast arrived first, on the same socket), and `expandAcks` finds it here. Only the
 * last `perDoc` changes of each document are kept; one that is not found is fetched again.
 *
 * ## Example
 * ```ts
 * const received = new ReceivedChanges();
 * received.add('doc1', changes);
 * received.get('doc1', changes[0].id); // the change
 * ```
 */
export class ReceivedChanges {
  private readonly byDoc = new Map<string, Map<string, Change>>();

  /** @param perDoc how many changes to keep per document */
  constructor(private readonly perDoc = 32) {}

  /** Keeps the changes of one broadcast. */
  add(docId: string, changes: readonly Change[]): void {
    let kept = this.byDoc.get(docId);
    if (!kept) this.byDoc.set(docId, (kept = new Map()));
    for (const change of changes) kept.set(change.id, change);
    // Maps iterate in insertion order: the oldest go first.
    for (const id of kept.keys()) {
      if (kept.size <= this.perDoc) break;
      kept.delete(id);
    }
  }

  /** The change of `docId` with this id, if it was received lately. */
  get(docId: string, changeId: string): Change | undefined {
    return this.byDoc.get(docId)?.get(changeId);
  }

  /** Forgets a document (untracked or deleted). */
  forget(docId: string): void {
    this.byDoc.delete(docId);
  }
}
