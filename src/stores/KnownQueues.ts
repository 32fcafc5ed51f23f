import { createId } from '../algorithms/createId.js';

/**
 * What one `IndexedDBStore` instance knows of each doc's OT pending queue: the ids it held under
 * a queue tag. Every write that changes a doc's queue gives the doc's row a fresh tag (any
 * instance, in the same transaction), so while the row still carries a tag an instance saw,
 * the queue still holds the ids it saw: a guard on the queue (`StoreGuard.pendingIds`) is checked
 * against them without reading the queue, which grows with every offline edit.
 *
 * @example
 * const known = new KnownQueues();
 * const tag = newQueueTag();
 * known.remember('notes', tag, ['c1', 'c2']);
 * known.idsUnder('notes', tag); // ['c1', 'c2']
 * known.idsUnder('notes', newQueueTag()); // undefined: another write came since
 */
export class KnownQueues {
  private readonly known = new Map<string, { tag: string; ids: readonly string[] }>();

  /** Whether anything is known of the doc's queue (a guard may then skip reading it). */
  has(docId: string): boolean {
    return this.known.has(docId);
  }

  /** The queue's ids, if `tag` (the row's tag now) is the one they were seen under. */
  idsUnder(docId: string, tag: string | undefined): readonly string[] | undefined {
    const entry = this.known.get(docId);
    return tag !== undefined && entry?.tag === tag ? entry.ids : undefined;
  }

  /** The queue held `ids` under `tag` (a row without a tag, from before tags, is not remembered). */
  remember(docId: string, tag: string | undefined, ids: readonly string[]): void {
    if (tag === undefined) this.known.delete(docId);
    else this.known.set(docId, { tag, ids });
  }

  forget(docId: string): void {
    this.known.delete(docId);
  }

  clear(): void {
    this.known.clear();
  }
}

/** A fresh queue tag: random, so no write, in any instance or incarnation of the doc, reuses one. */
export function newQueueTag(): string {
  return createId(16);
}
