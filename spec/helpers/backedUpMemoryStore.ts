import { MemoryServerStore } from '../../src/server/stores/MemoryServerStore.js';
import type { DocSnapshot, LogEntry, ServerStore, StoredDoc } from '../../src/server/stores/ServerStore.js';
import type { DocumentTombstone } from '../../src/types.js';

/**
 * A `MemoryServerStore` that can hand out an older copy of itself, as a backup would: it
 * records every write, and `restore(mark)` replays the writes made before `backup()` returned
 * `mark` into a fresh store. For specs of a server that went back in time.
 */
export class BackedUpMemoryStore implements ServerStore {
  private readonly inner = new MemoryServerStore();
  private readonly writes: Array<(store: ServerStore) => Promise<unknown>> = [];

  loadDoc(docId: string): Promise<StoredDoc> {
    return this.inner.loadDoc(docId);
  }

  readLog(docId: string, afterRev: number): Promise<LogEntry[]> {
    return this.inner.readLog(docId, afterRev);
  }

  append(docId: string, entry: LogEntry): Promise<void> {
    const copy = structuredClone(entry);
    this.writes.push(store => store.append(docId, structuredClone(copy)));
    return this.inner.append(docId, entry);
  }

  saveSnapshot(docId: string, snapshot: DocSnapshot): Promise<void> {
    const copy = structuredClone(snapshot);
    this.writes.push(store => store.saveSnapshot(docId, structuredClone(copy)));
    return this.inner.saveSnapshot(docId, snapshot);
  }

  deleteDoc(docId: string, tombstone: DocumentTombstone): Promise<void> {
    const copy = { ...tombstone };
    this.writes.push(store => store.deleteDoc(docId, { ...copy }));
    return this.inner.deleteDoc(docId, tombstone);
  }

  removeTombstone(docId: string): Promise<boolean> {
    this.writes.push(store => store.removeTombstone(docId));
    return this.inner.removeTombstone(docId);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** A mark for the store as it is now. */
  backup(): number {
    return this.writes.length;
  }

  /** A fresh store holding exactly what this one held when `backup()` returned `mark`. */
  async restore(mark: number): Promise<MemoryServerStore> {
    const store = new MemoryServerStore();
    for (const write of this.writes.slice(0, mark)) await write(store);
    return store;
  }
}
