import type { PatchesSyncState, SyncedDoc } from '../types.js';
import type { Patches } from '../client/Patches.js';
import type { OwnEdits } from './OwnEdits.js';
import { settled, type SyncedDocs } from './SyncedDocs.js';
import type { StoredEntries } from './StoredEntries.js';
import type { MirroredState } from './SyncTabs.js';

/** What `BorrowedStatus` shows through, given by `PatchesSync`. */
export interface BorrowedStatusOptions {
  /** The tracked docs and their algorithms. */
  patches: Pick<Patches, 'getDocAlgorithm' | 'trackedDocs'>;
  /** This tab's `synced` map. */
  docs: SyncedDocs;
  /** This tab's own edits, shown as pending until a store read finds them gone. */
  ownEdits: OwnEdits;
  /** Whether the open doc holds an edit of this tab still being saved. */
  unsaved(docId: string): boolean;
  /** Reads the docs' entries from the store. */
  entries: Pick<StoredEntries, 'add'>;
  /** The first read of the tracked docs' entries (made as the sync is). */
  entriesRead: Promise<void>;
  /** Sets this tab's connection state. */
  setState(change: Partial<PatchesSyncState>): void;
}

/**
 * A tab's status while another tab leads: it shows the leader's connection state and `synced`
 * map (`show`), with its own edits pending until a store read finds them gone (finding M), and
 * makes them its own again as it starts to lead (`own`), before it announces them: taken for its
 * own, the old leader's said this tab was connected (and sent edits through a socket it did not
 * have, a doc 'syncing' with nothing in flight) until its own socket opened, maybe never (the
 * server down), and announced it to the other tabs (found in review).
 *
 * @example
 * const borrowed = new BorrowedStatus({ patches, docs, ownEdits, unsaved, entries, entriesRead, setState });
 * tabs.mirror(state$, synced$, (state, synced, removed, gone) => borrowed.show(state, synced, removed, gone), () => borrowed.own());
 */
export class BorrowedStatus {
  /** Whether this tab has shown another tab's state and map since it last led. */
  private borrowed = false;

  constructor(private readonly options: BorrowedStatusOptions) {}

  /** Shows the leader's state and map; `gone`: that leader stopped leading, and syncs nothing now. */
  show(state: MirroredState, synced: Readonly<Record<string, SyncedDoc>>, removed: readonly string[], gone: boolean): void {
    const { patches, docs, ownEdits, unsaved } = this.options;
    this.borrowed = true;
    this.options.setState(state);
    // A leader that stopped leading syncs nothing, whatever its last map said (one made
    // before its disconnect settled them: an app that disconnects from a status listener).
    docs.mirror(
      synced,
      removed,
      (id, entry) => {
        const shown = ownEdits.shown(id, entry, unsaved);
        return gone ? settled(shown) : shown;
      },
      id => patches.getDocAlgorithm(id) !== undefined,
    );
  }

  /**
   * Makes this tab's state and map its own as it starts to lead: its socket is not open (it opens
   * only while leading), nothing of its own is syncing, and its entries are read again from the
   * store. A tab that has shown nothing of another waits for its first read of the entries, so
   * its first announcement has every tracked doc (found in review: a follower took a new
   * leader's map, announced before it had read its docs, for the docs it had removed).
   */
  async own(): Promise<void> {
    const { patches, docs, entries, entriesRead } = this.options;
    if (!this.borrowed) return entriesRead.catch(() => undefined);
    this.borrowed = false;
    this.options.setState({ connected: false, syncing: null });
    docs.settleSyncing();
    await entriesRead.catch(() => undefined);
    await entries.add([...patches.trackedDocs]);
  }
}
