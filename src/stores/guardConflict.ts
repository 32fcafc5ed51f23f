import { deepEqual } from '../algorithms/deepEqual.js';
import type { JSONPatchOp } from '../types.js';
import type { StoreGuard } from './PatchesStore.js';

/** What a doc holds now, as far as a guard looks at it (only the fields the guard names need to be read). */
export interface GuardedFacts {
  committedRev: number;
  /** The OT queue's ids, in order. */
  pendingIds?: readonly string[];
  /** Or the OT queue itself: its ids are compared where they are, none copied (the queue grows with every offline edit). */
  pending?: readonly { readonly id: string }[];
  pendingOps?: readonly JSONPatchOp[];
  sendingId?: string | null;
  deleted?: boolean;
  /** `StoredDoc.rewinds` (absent: 0). */
  rewinds?: number;
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
  if (expect.rewinds !== undefined && (facts.rewinds ?? 0) !== expect.rewinds) {
    return `the doc went back since (rewinds ${facts.rewinds ?? 0} ≠ expected ${expect.rewinds})`;
  }
  if (expect.pendingIds && !sameQueue(facts, expect.pendingIds)) {
    const ids = facts.pendingIds ?? facts.pending?.map((change) => change.id) ?? [];
    return `pending queue [${ids.join(',')}] ≠ expected [${expect.pendingIds.join(',')}]`;
  }
  if (expect.sendingId !== undefined && (facts.sendingId ?? null) !== expect.sendingId) {
    return `in-flight change ${facts.sendingId ?? 'none'} ≠ expected ${expect.sendingId ?? 'none'}`;
  }
  if (expect.pendingOps && !deepEqual(facts.pendingOps ?? [], expect.pendingOps)) {
    return 'pending ops changed';
  }
  return undefined;
}

function sameQueue(facts: GuardedFacts, expected: readonly string[]): boolean {
  if (facts.pendingIds || !facts.pending) return sameIds(facts.pendingIds ?? [], expected);
  const { pending } = facts;
  return pending.length === expected.length && pending.every((change, i) => change.id === expected[i]);
}

function sameIds(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}
