import { BehaviorSubject, type Observable } from 'rxjs';
import type { SyncedDoc } from '../types.js';

/**
 * The per-document status map behind `PatchesSync.synced`: immutable snapshots (every change
 * is a new object, so shallow comparison detects it), one emission per logical update, none
 * when nothing changed, and no write can recreate an entry that was removed.
 */
export class SyncedDocs {
  private readonly subject = new BehaviorSubject<Readonly<Record<string, SyncedDoc>>>({});

  /** Every distinct snapshot of the map, starting with the current one. */
  readonly synced$: Observable<Readonly<Record<string, SyncedDoc>>> = this.subject.asObservable();

  /** The current snapshot. */
  get value(): Readonly<Record<string, SyncedDoc>> {
    return this.subject.value;
  }

  /** Adds or replaces entries in one emission. */
  put(entries: Record<string, SyncedDoc>): void {
    const current = this.subject.value;
    const changed = Object.entries(entries).filter(([id, entry]) => !sameDoc(current[id], entry));
    if (changed.length > 0) this.subject.next({ ...current, ...Object.fromEntries(changed) });
  }

  /** Updates fields of existing entries (a removed entry stays removed). */
  update(docIds: Iterable<string>, change: Partial<SyncedDoc> | ((entry: SyncedDoc) => Partial<SyncedDoc>)): void {
    const current = this.subject.value;
    const updates: Record<string, SyncedDoc> = {};
    for (const id of docIds) {
      const entry = current[id];
      if (entry) updates[id] = { ...entry, ...(typeof change === 'function' ? change(entry) : change) };
    }
    this.put(updates);
  }

  /** Removes entries in one emission. */
  remove(docIds: Iterable<string>): void {
    const next = { ...this.subject.value };
    let removed = false;
    for (const id of docIds) {
      if (id in next) {
        delete next[id];
        removed = true;
      }
    }
    if (removed) this.subject.next(next);
  }

  /** After a disconnect, nothing is syncing any more: 'syncing' falls back to 'synced' or 'unsynced'. */
  settleSyncing(): void {
    const syncing = Object.entries(this.subject.value).filter(([, entry]) => entry.status === 'syncing');
    this.update(
      syncing.map(([id]) => id),
      entry => ({ status: entry.committedRev > 0 || entry.hasPending ? 'synced' : 'unsynced' }),
    );
  }

  /** Completes the stream. */
  complete(): void {
    this.subject.complete();
  }
}

function sameDoc(a: SyncedDoc | undefined, b: SyncedDoc): boolean {
  return !!a && a.committedRev === b.committedRev && a.hasPending === b.hasPending && a.status === b.status;
}
