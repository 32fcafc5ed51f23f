/**
 * The OT changes each connection was lately sent in `changesCommitted` broadcasts, per document:
 * a `commitChanges` reply to a client that asked for compact acks names those by `{ id, rev }`
 * instead of repeating them. The broadcast left on the same socket before the reply, so the
 * client holds it already (`compactAck.ts`). Only the last `perDoc` ids of each (connection,
 * document) are kept, and a connection's go with it.
 *
 * ## Example
 * ```ts
 * const sent = new SentBroadcasts();
 * sent.record('conn1', 'doc1', ['c1', 'c2']);
 * sent.has('conn1', 'doc1', 'c2'); // true
 * ```
 */
export class SentBroadcasts {
  private readonly byConnection = new Map<string, Map<string, string[]>>();

  /** @param perDoc how many change ids to keep per connection and document */
  constructor(private readonly perDoc = 16) {}

  /** Notes that `changeIds` of `docId` were sent to `connectionId`. */
  record(connectionId: string, docId: string, changeIds: readonly string[]): void {
    let docs = this.byConnection.get(connectionId);
    if (!docs) this.byConnection.set(connectionId, (docs = new Map()));
    // Kept in place: this runs for every subscriber of every OT broadcast.
    let ids = docs.get(docId);
    if (!ids) docs.set(docId, (ids = []));
    for (const id of changeIds) ids.push(id);
    if (ids.length > this.perDoc) ids.splice(0, ids.length - this.perDoc);
  }

  /** Whether the change was among the last ones of `docId` sent to `connectionId`. */
  has(connectionId: string, docId: string, changeId: string): boolean {
    return this.byConnection.get(connectionId)?.get(docId)?.includes(changeId) ?? false;
  }

  /** Forgets a connection (closed) or one of its documents (unsubscribed). */
  forget(connectionId: string, docIds?: readonly string[]): void {
    if (!docIds) {
      this.byConnection.delete(connectionId);
      return;
    }
    const docs = this.byConnection.get(connectionId);
    for (const docId of docIds) docs?.delete(docId);
    if (docs?.size === 0) this.byConnection.delete(connectionId);
  }
}
