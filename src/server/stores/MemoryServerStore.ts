import type { DocumentTombstone } from '../../types.js';
import { DuplicateChangeIdsError } from './DuplicateChangeIdsError.js';
import { entryLastRev } from './ServerStore.js';
import type { DocSnapshot, LogEntry, ServerStore, StoredDoc } from './ServerStore.js';

/** A log entry kept as its JSON text: serialised once on append, parsed only when read back. */
interface StoredEntry {
  lastRev: number;
  json: string;
}

interface MemoryDoc {
  log: StoredEntry[];
  /** OT change id → rev, kept with `uniqueChangeIds`. */
  ids?: Map<string, number>;
  snapshot?: DocSnapshot;
  tombstone?: DocumentTombstone;
}

/**
 * A `ServerStore` kept in process memory: for tests, demos and benchmarks. Everything is lost
 * when the process exits.
 *
 * Values are copied on the way in and out, so the server never shares objects with its store —
 * the same isolation a durable store gets from serialising. Log entries are kept as JSON text, as
 * a durable store writes them: one `JSON.stringify` per commit (cheaper than a deep clone), and
 * the cost of reading them back is paid only by the rare `loadDoc` and `readLog`.
 *
 * ## Example
 * ```ts
 * const server = await startServer({ port: 0, store: new MemoryServerStore() });
 * ```
 */
export class MemoryServerStore implements ServerStore {
  private readonly docs = new Map<string, MemoryDoc>();
  /** @inheritDoc */
  readonly uniqueChangeIds: boolean;

  /**
   * @param options `uniqueChangeIds`: refuse an OT change id the document's log holds, as a
   *   database with a unique key does (default `false`, like `FileServerStore`)
   */
  constructor(options: { uniqueChangeIds?: boolean | undefined } = {}) {
    this.uniqueChangeIds = options.uniqueChangeIds ?? false;
  }

  /** @inheritDoc */
  async loadDoc(docId: string): Promise<StoredDoc> {
    const doc = this.docs.get(docId);
    if (!doc) return { tail: [] };
    if (doc.tombstone) return { tail: [], tombstone: { ...doc.tombstone } };
    const snapshotRev = doc.snapshot?.rev ?? 0;
    const tail = entriesAfter(doc.log, snapshotRev);
    return doc.snapshot ? { snapshot: structuredClone(doc.snapshot), tail } : { tail };
  }

  /** @inheritDoc */
  async readLog(docId: string, afterRev: number): Promise<LogEntry[]> {
    return entriesAfter(this.docs.get(docId)?.log ?? [], afterRev);
  }

  /** @inheritDoc */
  async append(docId: string, entry: LogEntry): Promise<void> {
    const doc = this.doc(docId);
    if (this.uniqueChangeIds && entry.kind === 'ot') {
      const ids = (doc.ids ??= new Map());
      const committed = new Map(entry.changes.filter((change) => ids.has(change.id)).map((change) => [change.id, ids.get(change.id)!]));
      if (committed.size) throw new DuplicateChangeIdsError(docId, committed);
      for (const change of entry.changes) ids.set(change.id, change.rev);
    }
    doc.log.push({ lastRev: entryLastRev(entry), json: JSON.stringify(entry) });
  }

  /** @inheritDoc */
  async saveSnapshot(docId: string, snapshot: DocSnapshot): Promise<void> {
    const doc = this.doc(docId);
    doc.snapshot = structuredClone(snapshot);
    // LWW rows carry their own revs: history before the snapshot is never read again.
    if (snapshot.kind === 'lww') doc.log = doc.log.filter((entry) => entry.lastRev > snapshot.rev);
  }

  /** @inheritDoc */
  async deleteDoc(docId: string, tombstone: DocumentTombstone): Promise<void> {
    this.docs.set(docId, { log: [], tombstone: { ...tombstone } });
  }

  /** @inheritDoc */
  async removeTombstone(docId: string): Promise<boolean> {
    const doc = this.docs.get(docId);
    if (!doc?.tombstone) return false;
    this.docs.delete(docId);
    return true;
  }

  /** @inheritDoc */
  async close(): Promise<void> {}

  private doc(docId: string): MemoryDoc {
    let doc = this.docs.get(docId);
    if (!doc) this.docs.set(docId, (doc = { log: [] }));
    return doc;
  }
}

/** The entries holding revs after `afterRev`, parsed afresh (the caller owns them). */
function entriesAfter(log: readonly StoredEntry[], afterRev: number): LogEntry[] {
  const entries: LogEntry[] = [];
  for (const entry of log) if (entry.lastRev > afterRev) entries.push(JSON.parse(entry.json) as LogEntry);
  return entries;
}
