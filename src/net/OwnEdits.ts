import type { SyncedDoc } from '../types.js';

/**
 * The docs holding an edit of this tab that no store read has yet found gone, so a following tab
 * never shows "nothing pending" for its own edit before the leader has heard of it.
 *
 * A follower shows the leader's `synced` map, and the leader learns of the follower's edit only
 * through the store's channel, some milliseconds (or, under load, much longer) after it was
 * saved: until then the leader's map says nothing is pending (fuzz finding M). An edit marks its
 * doc at once; a store read that found nothing pending clears the mark, unless the doc was edited
 * while it read (such a read may not have seen the edit: the caller reads again).
 *
 * @example
 * const own = new OwnEdits();
 * own.edited('notes');
 * own.shown('notes', { committedRev: 3, hasPending: false, status: 'synced' }); // hasPending true
 * own.shown('todo', entry, docId => hasUnsavedEdit(docId)); // also while an edit is being saved
 */
export class OwnEdits {
  /** Each doc's latest edit, as a number no other edit had: a doc forgotten and edited again never repeats an old one. */
  private readonly edits = new Map<string, number>();
  private readonly marked = new Set<string>();
  private lastEdit = 0;

  /** How many docs it keeps anything of: only those edited and not yet forgotten. */
  get size(): number {
    return this.edits.size;
  }

  /** This tab saved an edit of the doc. */
  edited(docId: string): void {
    this.edits.set(docId, ++this.lastEdit);
    this.marked.add(docId);
  }

  /**
   * Starts a read of the doc's pending state; the returned function takes what the read found and
   * says whether it counts. A read that found nothing while the doc was edited does not: the edit
   * may have been saved before it looked (then it is gone: committed already) or after (then it
   * is pending), and only a new read can tell.
   */
  read(docId: string): (hasPending: boolean) => boolean {
    const before = this.edits.get(docId) ?? 0;
    return hasPending => {
      if (hasPending) return true;
      if ((this.edits.get(docId) ?? 0) !== before) return false;
      this.marked.delete(docId);
      return true;
    };
  }

  /**
   * A doc's entry as this tab should show it: `hasPending` where an own edit is marked, or where
   * `unsaved` says the open doc holds an edit still being saved (it is marked only once saved, and
   * the leader's news may come in between). Per entry, so a follower showing the leader's map
   * puts each one through it without building a second map.
   */
  shown(docId: string, entry: SyncedDoc, unsaved: (docId: string) => boolean = () => false): SyncedDoc {
    return !entry.hasPending && (this.marked.has(docId) || unsaved(docId)) ? { ...entry, hasPending: true } : entry;
  }

  /**
   * Drops what is kept of the docs (untracked or deleted), so a tab that goes through many docs
   * keeps nothing of those it let go. A read in flight still sees a later edit: it gets a number
   * the read did not start from.
   */
  forget(docIds: Iterable<string>): void {
    for (const id of docIds) {
      this.marked.delete(id);
      this.edits.delete(id);
    }
  }
}
