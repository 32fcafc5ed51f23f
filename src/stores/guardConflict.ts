import { deepEqual } from '../algorithms/deepEqual.js';
import type { JSONPatchOp } from '../types.js';
import type { StoreGuard } from './PatchesStore.js';

/** What a doc holds now, as far as a guard looks at it (only the fields the guard names need to be read). */
export interface GuardedFacts {
  committedRev: number;
  pendingIds?: readonly string[];
  pendingOps?: readonly JSONPatchOp[];
  sendingId?: string | null;
  deleted?: boolean;
}

/**
 * Why a guarded write must not run: the first field of `expect` that differs from what the doc
 * holds, described for the `StoreConflictError`; `undefined` when every given field matches.
 * Shared by every store so they refuse exactly the same writes.
 *
 * @example
 * guardConflict({ committedRev: 4 }, { committedRev: 3 }); // 'committedRev 4 ≠ expected 3'
 */
export function guardConflict(facts: GuardedFacts, expect: StoreGuard | undefined): string | undefined {
  if (!expect) return undefined;
  if (expect.deleted !== undefined && (facts.deleted ?? false) !== expect.deleted) {
    return facts.deleted ? 'the doc is deleted' : 'the doc is not deleted';
  }
  if (expect.committedRev !== undefined && facts.committedRev !== expect.committedRev) {
    return `committedRev ${facts.committedRev} ≠ expected ${expect.committedRev}`;
  }
  if (expect.pendingIds && !sameIds(facts.pendingIds ?? [], expect.pendingIds)) {
    return `pending queue [${(facts.pendingIds ?? []).join(',')}] ≠ expected [${expect.pendingIds.join(',')}]`;
  }
  if (expect.sendingId !== undefined && (facts.sendingId ?? null) !== expect.sendingId) {
    return `in-flight change ${facts.sendingId ?? 'none'} ≠ expected ${expect.sendingId ?? 'none'}`;
  }
  if (expect.pendingOps && !deepEqual(facts.pendingOps ?? [], expect.pendingOps)) {
    return 'pending ops changed';
  }
  return undefined;
}

function sameIds(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}
