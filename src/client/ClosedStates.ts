import type { PatchesStore, StoredDoc } from '../stores/PatchesStore.js';
import type { Change } from '../types.js';
import { applyRows } from './readViewSince.js';

/** A closed doc's committed state at `rev`, where the store's history holds change `lastId`. */
interface Kept {
  state: unknown;
  rev: number;
  lastId: string;
}

/**
 * The committed states of the docs an algorithm last applied server changes to while they were
 * closed (the `limit` most recent), so the next server change of such a doc (a tab leading the
 * connection while another tab shows it, a doc synced but not open) need not read the whole
 * document. The next read asks the store for what it holds since the rev before the kept one
 * (`getDocSince`) and takes the kept state only if the first row is the very change it ends with
 * (so the store's history is the one it was built on), with the rows after it applied; anything
 * else (the state given, another history, a row that does not apply) reads the doc whole.
 *
 * @example
 * const closed = new ClosedStates();
 * closed.keep('notes', state, appliedChanges);
 * const stored = await closed.read(store, 'notes'); // the same state and queue getDoc would give
 */
export class ClosedStates {
  private readonly kept = new Map<string, Kept>();

  /** @param limit how many docs keep a state (least recently kept dropped first) */
  constructor(private readonly limit = 8) {}

  /**
   * Keeps `state`, the committed state after `applied` (the last of which holds its rev), for the
   * doc's next read; without changes, forgets the doc.
   */
  keep(docId: string, state: unknown, applied: readonly Change[]): void {
    this.kept.delete(docId);
    const last = applied[applied.length - 1];
    if (!last) return;
    this.kept.set(docId, { state, rev: last.rev, lastId: last.id });
    if (this.kept.size > this.limit) this.kept.delete(this.kept.keys().next().value!);
  }

  /**
   * What the store holds for the doc (as `getDoc` gives it), on the kept state when the store's
   * history still leads from it; a kept state is used once. `empty` stands for a doc with no
   * state (`{}` for LWW, as it applies changes).
   */
  async read(store: PatchesStore, docId: string, empty: unknown = null): Promise<StoredDoc | undefined> {
    const kept = this.kept.get(docId);
    this.kept.delete(docId);
    if (kept && store.getDocSince) {
      // From the rev before the kept one: the first row must be the change the kept state ends with.
      const read = await store.getDocSince(docId, kept.rev - 1);
      if (!read) return undefined;
      const { since, state: given, ...queue } = read;
      const state = given !== undefined ? given : since[0]?.id === kept.lastId ? applyRows(kept.state ?? empty, since.slice(1)) : undefined;
      if (state !== undefined) return { ...queue, state };
    }
    return store.getDoc(docId);
  }
}
