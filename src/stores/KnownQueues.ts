import { createId } from '../algorithms/createId.js';
import type { Change, JSONPatchOp } from '../types.js';

/** Where an OT queue ends: its last row's `seq` and its change's `rev` (both 0 for an empty queue). */
export interface QueueEnd {
  seq: number;
  rev: number;
}

/**
 * A doc's unsent local work as one instance saw it: the OT queue's ids (and where it ends, when
 * this instance wrote it: an append then needs no read to find its place), or the LWW pending ops.
 */
export type KnownQueue = { ids: readonly string[]; end?: QueueEnd } | { ops: readonly JSONPatchOp[] };

/**
 * What one `IndexedDBStore` instance knows of each doc's unsent local work (the OT pending queue,
 * the LWW pending ops), under a queue tag. Every write that changes it gives the doc's row a
 * fresh tag (any instance, in the same transaction), so while the row still carries a tag an
 * instance saw, the queue still holds what it saw: a guard on the queue (`StoreGuard.pendingIds`,
 * `pendingOps`) is checked against that without reading the queue, which grows with every
 * offline edit.
 *
 * @example
 * const known = new KnownQueues();
 * const tag = newQueueTag();
 * known.remember('notes', tag, { ids: ['c1', 'c2'] });
 * known.idsUnder('notes', tag); // ['c1', 'c2']
 * known.idsUnder('notes', newQueueTag()); // undefined: another write came since
 */
export class KnownQueues {
  /** The queues' arrays are this class's own (every one given to `remember` is a fresh copy), so `extend` may push onto them. */
  private readonly known = new Map<string, { tag: string; queue: KnownQueue }>();
  /** The OT queues as last read, whole: kept under the row's `queueBase`, to be extended by the rows appended since. */
  private readonly reads = new Map<string, { base: string; lastSeq: number; changes: readonly Change[] }>();

  /** Whether anything is known of the doc's queue (a guard may then skip reading it). */
  has(docId: string): boolean {
    return this.known.has(docId);
  }

  /** The OT queue's ids, if `tag` (the row's tag now) is the one they were seen under. */
  idsUnder(docId: string, tag: string | undefined): readonly string[] | undefined {
    const queue = this.under(docId, tag);
    return queue && 'ids' in queue ? queue.ids : undefined;
  }

  /** Where the OT queue last known ends, and the tag it was known under (whatever the row's tag is now). */
  latestEnd(docId: string): { tag: string; end: QueueEnd } | undefined {
    const entry = this.known.get(docId);
    return entry && 'ids' in entry.queue && entry.queue.end ? { tag: entry.tag, end: entry.queue.end } : undefined;
  }

  /** The LWW pending ops (in path order), if `tag` is the one they were seen under. */
  opsUnder(docId: string, tag: string | undefined): readonly JSONPatchOp[] | undefined {
    const queue = this.under(docId, tag);
    return queue && 'ops' in queue ? queue.ops : undefined;
  }

  /** The LWW pending ops last known, and the tag they were known under (whatever the row's tag is now). */
  latestOps(docId: string): { tag: string; ops: readonly JSONPatchOp[] } | undefined {
    const entry = this.known.get(docId);
    return entry && 'ops' in entry.queue ? { tag: entry.tag, ops: entry.queue.ops } : undefined;
  }

  /** The doc held `queue` under `tag` (a row without a tag, from before tags, is not remembered). */
  remember(docId: string, tag: string | undefined, queue: KnownQueue): void {
    if (tag === undefined) this.known.delete(docId);
    else this.known.set(docId, { tag, queue });
  }

  /**
   * The OT queue known under `from` had `ids` appended by a write that gave the row `tag` and
   * ended the queue at `end`: the ids are pushed onto the known ones in place (a copy per offline
   * edit made a long session quadratic). False when nothing is known under `from`, and nothing changes.
   */
  extend(docId: string, from: string | undefined, tag: string, ids: readonly string[], end: QueueEnd): boolean {
    const entry = this.known.get(docId);
    if (from === undefined || entry?.tag !== from || !('ids' in entry.queue)) return false;
    const known = entry.queue.ids as string[];
    for (const id of ids) known.push(id);
    entry.tag = tag;
    entry.queue = { ids: known, end };
    return true;
  }

  /** Where a read of the doc's OT queue may start (after `lastSeq`), if it was read whole under a base. */
  readFrom(docId: string): { base: string; lastSeq: number } | undefined {
    const read = this.reads.get(docId);
    return read && { base: read.base, lastSeq: read.lastSeq };
  }

  /**
   * The whole OT queue from the rows read after `from` (what `readFrom` said), if the row's base
   * is still the one they were read under (the queue only grew since) and no other read moved the
   * remembered one meanwhile; `undefined` when it must be read whole. The result is remembered.
   */
  extendRead(docId: string, base: string | undefined, from: { base: string; lastSeq: number }, tail: readonly { seq: number; change: Change }[]): Change[] | undefined {
    const read = this.reads.get(docId);
    if (!read || base === undefined || read.base !== base || from.base !== base || read.lastSeq !== from.lastSeq) return undefined;
    const changes = [...read.changes, ...tail.map((row) => row.change)];
    this.reads.set(docId, { base, lastSeq: tail.at(-1)?.seq ?? read.lastSeq, changes });
    return changes;
  }

  /** The OT queue was read whole under `base` (a row without one is not remembered). */
  rememberRead(docId: string, base: string | undefined, rows: readonly { seq: number; change: Change }[]): void {
    if (base === undefined) this.reads.delete(docId);
    else this.reads.set(docId, { base, lastSeq: rows.at(-1)?.seq ?? 0, changes: rows.map((row) => row.change) });
  }

  forget(docId: string): void {
    this.known.delete(docId);
    this.reads.delete(docId);
  }

  clear(): void {
    this.known.clear();
    this.reads.clear();
  }

  private under(docId: string, tag: string | undefined): KnownQueue | undefined {
    const entry = this.known.get(docId);
    return tag !== undefined && entry?.tag === tag ? entry.queue : undefined;
  }
}

/** Where a queue written whole, from seq 1, ends. */
export function queueEnd(changes: readonly Change[]): QueueEnd {
  return { seq: changes.length, rev: changes.at(-1)?.rev ?? 0 };
}

/** A fresh queue tag: random, so no write, in any instance or incarnation of the doc, reuses one. */
export function newQueueTag(): string {
  return createId(16);
}
