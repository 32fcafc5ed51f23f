import { StatusError } from '../errors.js';

/** The smallest storage budget a 413 halves a doc's to (protocol §6: "stops at the 100 KB floor"). */
export const MIN_CHANGE_BUDGET = 100_000;

/**
 * Per-doc storage budgets for the changes a flush sends. A server that refuses a change as too
 * large (413 with `scope: 'change'`) halves the doc's budget, down to 100 KB, so the next run cuts
 * the queue finer; the first run that succeeds brings the configured budget back. Without a
 * configured budget nothing is invented: the 413 is an ordinary error.
 *
 * @example
 * const budgets = new ChangeBudgets(1_000_000);
 * budgets.shrink('notes', new StatusError(413, 'too large', { scope: 'change' })); // true
 * budgets.of('notes'); // 500_000
 */
export class ChangeBudgets {
  private readonly shrunk = new Map<string, number>();
  /** Per doc, the ids of the changes a 413 named since the last reset (each was refused, not committed). */
  private readonly refusedIds = new Map<string, Set<string>>();

  constructor(private readonly configured: number | undefined) {}

  /** The doc's storage budget now (`undefined`: no storage split). */
  of(docId: string): number | undefined {
    return this.shrunk.get(docId) ?? this.configured;
  }

  /** Whether a 413 shrank the doc's budget since the last reset (see `DocSync.pendingBatches`). */
  isShrunk(docId: string): boolean {
    return this.shrunk.has(docId);
  }

  /** The ids of the changes a 413 named since the last reset: the next run may cut them (see `DocSync.pendingBatches`). */
  refused(docId: string): ReadonlySet<string> | undefined {
    return this.refusedIds.get(docId);
  }

  /**
   * Halves the doc's budget for a 413 scoped to a change, and notes the change it names as
   * refused (the next run may cut it); false when that cannot help (no budget, another error, or
   * at the floor with that change already noted).
   */
  shrink(docId: string, error: unknown): boolean {
    const current = this.of(docId);
    if (current === undefined || !tooLargeChange(error)) return false;
    const changeId = ((error as StatusError).data as { changeId?: unknown } | undefined)?.changeId;
    let noted = false;
    if (typeof changeId === 'string') {
      const ids = this.refusedIds.get(docId) ?? new Set<string>();
      noted = !ids.has(changeId);
      ids.add(changeId);
      this.refusedIds.set(docId, ids);
    }
    if (current <= MIN_CHANGE_BUDGET) return noted;
    this.shrunk.set(docId, Math.max(MIN_CHANGE_BUDGET, Math.floor(current / 2)));
    return true;
  }

  /** Back to the configured budget (a run succeeded, or the doc left). */
  reset(docId: string): void {
    this.shrunk.delete(docId);
    this.refusedIds.delete(docId);
  }
}

function tooLargeChange(error: unknown): boolean {
  if (!(error instanceof StatusError) || error.code !== 413) return false;
  const data = error.data as { scope?: unknown } | undefined;
  return data?.scope === 'change';
}
