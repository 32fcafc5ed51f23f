import { ApplyChangesError, MissingChangesError, RichTextNotEnabledError } from '../errors.js';
import type { Change, PatchesState } from '../types.js';
import { applyOpAt } from './applyPatch.js';
import { PatchDraft } from './ops/PatchDraft.js';
import { rebaseChanges } from './rebaseChanges.js';

/** What applying a run of committed changes produced. */
export interface AppliedCommittedChanges<T> {
  /** The committed state after the new changes. */
  state: T;
  /** The committed rev after the new changes (unchanged when none were new). */
  rev: number;
  /** The new changes that were applied, in rev order (stale and duplicate ones left out). */
  applied: Change[];
  /** The pending queue rebased over `applied`, minus changes the server confirmed. */
  pending: Change[];
}

/** How `applyCommittedChanges` takes the changes (both optional). */
export interface ApplyCommittedOptions<T> {
  /** The pending changes already saw every committed change up to this rev (see `rebaseChanges`). */
  seenUpTo?: number | undefined;
  /**
   * The server's state at the last of the changes (`getDoc`), taken as the committed state instead
   * of applying them: after one of them failed to apply on ours (ours went wrong, or a lenient
   * server committed ops that do not apply), the server's word is what the doc must show. The
   * pending queue is still rebased over the changes' ops. Ignored unless its rev is the last one's.
   */
  head?: PatchesState<T> | undefined;
}

/** True for the server's catch-up change: one op replacing the whole document. */
function isRootReplace(change: Change): boolean {
  return change.ops.length === 1 && change.ops[0].op === 'replace' && change.ops[0].path === '';
}

/**
 * Applies committed server changes to the committed state and rebases the pending queue over
 * them (protocol §4.3). Pure: no I/O, no clock.
 *
 * - Changes at or below `committed.rev` are stale (a redelivery): they are not applied, but a
 *   pending change with the same id is dropped — a redelivered echo of our own change still
 *   confirms a stranded pending copy.
 * - The new ones must start at `committed.rev + 1` and run without holes, because a missing rev
 *   means we would rebase pending over a history with a piece missing. The one exception is the
 *   server's catch-up change, a single `replace` of the root `''`, which may skip revs when it
 *   comes first: it carries the whole state. A hole throws `MissingChangesError` and the caller
 *   refetches `getChangesSince(committed.rev)`.
 * - They are applied with strict `applyPatch`: a committed change that does not apply is a real
 *   divergence, never skipped silently (`ApplyChangesError` with the change's id and rev).
 * - Pending changes are rebased over the new ones with `rebaseChanges`: our own echoes leave
 *   the queue, the rest are transformed and re-stamped on the new rev (over those after
 *   `seenUpTo` only: see `rebaseChanges`). With `head`, its state is taken instead of applying. A root-replace catch-up
 *   transforms every pending op away (intended: the state it carries already reflects them or
 *   they were authored on a document that no longer exists).
 *
 * Changes are taken in rev order; a second copy of a rev with the same id is ignored.
 *
 * @throws MissingChangesError (expectedRev, gotRev, sinceRev = committed.rev) on a gap.
 * @throws ApplyChangesError (changeId, rev, cause: the PatchError) when a change fails to apply.
 * @throws RichTextNotEnabledError when a change holds `@txt` before `enableRichText()`.
 * @example
 * const result = applyCommittedChanges({ state: { n: 1 }, rev: 3 },
 *   [{ id: 'x', rev: 4, baseRev: 3, ops: [{ op: '@inc', path: '/n', value: 1 }], createdAt: 1, committedAt: 2 }], []);
 * // result.state → { n: 2 }, result.rev → 4
 */
export function applyCommittedChanges<T>(
  committed: PatchesState<T>,
  serverChanges: readonly Change[],
  pending: readonly Change[],
  options: ApplyCommittedOptions<T> = {},
): AppliedCommittedChanges<T> {
  const { seenUpTo = 0, head } = options;
  const staleIds = new Set<string>();
  const fresh: Change[] = [];
  for (const change of [...serverChanges].sort((a, b) => a.rev - b.rev)) {
    if (change.rev <= committed.rev) staleIds.add(change.id);
    else if (fresh.length > 0 && fresh[fresh.length - 1].rev === change.rev && fresh[fresh.length - 1].id === change.id) continue;
    else fresh.push(change);
  }
  let queue = staleIds.size > 0 ? pending.filter((change) => !staleIds.has(change.id)) : (pending as Change[]);
  if (fresh.length === 0) return { state: committed.state, rev: committed.rev, applied: [], pending: queue };

  let expected = committed.rev + 1;
  for (const [i, change] of fresh.entries()) {
    const skipAllowed = i === 0 && isRootReplace(change) && change.rev > expected;
    if (change.rev !== expected && !skipAllowed) throw new MissingChangesError(expected, change.rev, committed.rev);
    expected = change.rev + 1;
  }

  // The server's own state at the last of these revs stands in for applying them (see `head`).
  if (head && head.rev === fresh[fresh.length - 1].rev) return { state: head.state, rev: head.rev, applied: fresh, pending: rebaseChanges(fresh, queue, seenUpTo) };
  // One draft for the whole run, as strict `applyPatch` of each change in turn would give: a
  // container the run writes is copied once, not once per change (a broadcast of k appends to one
  // list copied it k times). Strict, so a failure throws the draft away.
  const draft = new PatchDraft(committed.state);
  draft.discardedOnFailure = true;
  for (const change of fresh) {
    try {
      for (let i = 0; i < change.ops.length; i++) applyOpAt(draft, change.ops[i], i);
    } catch (error) {
      // Refetching cannot fix a missing `enableRichText()`: the caller reports it instead.
      if (error instanceof RichTextNotEnabledError) throw error;
      throw new ApplyChangesError(change.id, change.rev, { cause: error });
    }
  }
  queue = rebaseChanges(fresh, queue, seenUpTo);
  return { state: draft.root as T, rev: fresh[fresh.length - 1].rev, applied: fresh, pending: queue };
}
