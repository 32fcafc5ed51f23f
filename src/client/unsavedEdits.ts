import type { AlgorithmContext } from './ClientAlgorithm.js';

/**
 * Whether the open doc holds edits `change()` made that are not saved yet (optimistic). A
 * `hasPending` checks it before and after reading the store: an edit made while the store was
 * read is in neither what the store gave nor the first check, and is pending all the same.
 *
 * @example
 * if (hasUnsavedEdits(ctx, 'notes')) return true;
 */
export function hasUnsavedEdits(ctx: AlgorithmContext, docId: string): boolean {
  return (ctx.getOpenDoc(docId)?._optimistic().length ?? 0) > 0;
}
