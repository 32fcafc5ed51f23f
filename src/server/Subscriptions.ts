/**
 * Which connection follows which document: the fan-out table for `changesCommitted` and
 * `docDeleted`. Subscriptions belong to a connection and end with it (a reconnecting client
 * subscribes again, §1.5.1).
 *
 * ## Example
 * ```ts
 * const subs = new Subscriptions();
 * subs.add('conn1', ['doc1']);
 * subs.subscribers('doc1'); // Set { 'conn1' }
 * ```
 */
export class Subscriptions {
  private readonly byDoc = new Map<string, Set<string>>();
  private readonly byConnection = new Map<string, Set<string>>();

  /**
   * Subscribes a connection to documents (already subscribed ones stay subscribed).
   *
   * @return the ids, which are all subscribed now
   */
  add(connectionId: string, docIds: readonly string[]): string[] {
    let docs = this.byConnection.get(connectionId);
    if (!docs) this.byConnection.set(connectionId, (docs = new Set()));
    for (const docId of docIds) {
      docs.add(docId);
      let connections = this.byDoc.get(docId);
      if (!connections) this.byDoc.set(docId, (connections = new Set()));
      connections.add(connectionId);
    }
    return [...docIds];
  }

  /**
   * Unsubscribes a connection from documents; unknown ids are ignored.
   *
   * @return the ids, none of which is subscribed now
   */
  remove(connectionId: string, docIds: readonly string[]): string[] {
    const docs = this.byConnection.get(connectionId);
    for (const docId of docIds) {
      docs?.delete(docId);
      const connections = this.byDoc.get(docId);
      connections?.delete(connectionId);
      if (connections?.size === 0) this.byDoc.delete(docId);
    }
    if (docs?.size === 0) this.byConnection.delete(connectionId);
    return [...docIds];
  }

  /** Drops every subscription of a closed connection. */
  removeConnection(connectionId: string): void {
    const docs = this.byConnection.get(connectionId);
    if (docs) this.remove(connectionId, [...docs]);
  }

  /** The connections subscribed to a document. */
  subscribers(docId: string): ReadonlySet<string> {
    return this.byDoc.get(docId) ?? EMPTY;
  }

  /** Subscriptions in all: one per document per connection. */
  get size(): number {
    let count = 0;
    for (const docs of this.byConnection.values()) count += docs.size;
    return count;
  }

  /** How many documents a connection follows. */
  countFor(connectionId: string): number {
    return this.byConnection.get(connectionId)?.size ?? 0;
  }
}

const EMPTY: ReadonlySet<string> = new Set();
