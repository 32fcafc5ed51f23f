import { applyPatch } from '../algorithms/applyPatch.js';
import type { Change } from '../types.js';
import type { StoredDocSince } from '../stores/PatchesStore.js';
import { readSince } from '../stores/readSince.js';
import type { AlgorithmContext } from './ClientAlgorithm.js';
import type { DocLayers, PatchesDoc } from './PatchesDoc.js';

/** What a refresh computes on: the open doc, the view it read on, the store's news and the committed state they make. */
export interface ViewNews {
  doc: PatchesDoc<object>;
  /** The view as it was when the store was read (nothing awaits after this is returned). */
  layers: DocLayers;
  stored: StoredDocSince;
  /** The committed state at `stored.committedRev`. */
  committedState: unknown;
}

/**
 * Reads what another instance changed in an open doc since its view's rev (`readSince`): the
 * committed state is the stored one when the store gives it, else the view's own with the rows
 * applied (`empty` stands for a view with no state: `{}` for LWW, as it applies changes). The doc
 * is read whole when asked (`whole`), when its history was replaced meanwhile
 * (`historyReplaced`), or when the rows do not apply to the view; and read again if the view
 * changed during the read. Undefined when the doc is not open or not stored.
 *
 * @example
 * const news = await readViewSince(ctx, 'notes');
 * if (news) news.doc._update({ ...news.layers, committedState: news.committedState, committedRev: news.stored.committedRev });
 */
export async function readViewSince(ctx: AlgorithmContext, docId: string, empty: unknown = null, whole = false): Promise<ViewNews | undefined> {
  for (;;) {
    const doc = ctx.getOpenDoc(docId);
    if (!doc) return undefined;
    whole ||= ctx.historyReplaced?.(docId) === true;
    const before = doc._layers();
    const stored = await readSince(ctx.store, docId, before.committedRev, whole);
    if (!stored) return undefined;
    const layers = doc._layers();
    if (layers !== before) continue;
    const committedState = stored.state !== undefined ? stored.state : applyRows(layers.committedState ?? empty, stored.since);
    if (committedState !== undefined) return { doc, layers, stored, committedState };
    whole = true;
  }
}

/**
 * Whether the committed state the news make is the one the view shows: the same rev and rewind
 * count (`StoredDoc.rewinds`: the doc did not go back and come to that rev again by another
 * history), and no rows since it nor a state handed out in its place (a store hands one out when
 * its rows cannot bring the view forward: after a rewind, or when the state changed without its
 * rev, as a late LWW reply stored at its old rev does), unless that state is the view's own object
 * (a store that shares states, as `InMemoryStore` does).
 *
 * @example
 * if (committedUnchanged(news)) { ... } // only the local layers can differ
 */
export function committedUnchanged({ layers, stored, committedState }: ViewNews): boolean {
  if (stored.committedRev !== layers.committedRev || (stored.rewinds ?? 0) !== (layers.rewinds ?? 0)) return false;
  return stored.state === undefined ? stored.since.length === 0 : committedState === layers.committedState;
}

/**
 * `state` with the committed `rows` applied strictly, as they were when received; undefined when
 * they do not apply (the state is not the one they followed).
 *
 * @example
 * applyRows({ n: 1 }, [change]) // { n: 2 } for a change replacing /n with 2
 */
export function applyRows(state: unknown, rows: readonly Change[]): unknown {
  try {
    return applyPatch(state, rows.flatMap(c => c.ops), { mode: 'strict' });
  } catch {
    return undefined;
  }
}
