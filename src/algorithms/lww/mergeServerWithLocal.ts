import type { Change, JSONPatchOp } from '../../types.js';
import { ancestorPaths, applyDelta, isDeltaOp, isSoftOp } from './consolidateOps.js';

/** A plain write that replaces whatever is at its path (and so the whole subtree below it). */
function isHardWrite(op: JSONPatchOp): boolean {
  return !isDeltaOp(op) && !isSoftOp(op);
}

/**
 * Folds the local ops at one path onto the server's op there: the ops that leave the value the
 * doc should show. A local remove of a value the server wrote keeps the server op first, so the
 * parents it creates exist as they would under `committed ⊕ local`.
 */
function foldLocal(serverOp: JSONPatchOp, locals: readonly JSONPatchOp[]): JSONPatchOp[] {
  let present = serverOp.op !== 'remove';
  let value = serverOp.value;
  for (const local of locals) {
    if (isDeltaOp(local)) {
      const result = applyDelta(present ? value : undefined, local);
      if (result.ok) {
        present = true;
        value = result.value;
      }
    } else if (isSoftOp(local)) {
      if (!present) {
        present = true;
        value = local.value;
      }
    } else if (local.op === 'remove') {
      present = false;
      value = undefined;
    } else {
      present = true;
      value = local.value;
    }
  }
  if (!present) {
    const { value: _dropped, ...rest } = serverOp;
    const removal: JSONPatchOp = { ...rest, op: 'remove' };
    return serverOp.op === 'remove' ? [removal] : [serverOp, removal];
  }
  return [{ ...serverOp, op: serverOp.op === 'remove' ? 'replace' : serverOp.op, value }];
}

/**
 * Turns committed LWW server changes into the changes an open document applies, so that it
 * shows the new committed state with the user's unconfirmed local ops still on top
 * (protocol §4.7).
 *
 * The doc's current view is `committed ⊕ local`. Applying the raw server ops to it would
 * overwrite fields the user changed a moment ago (until the server confirms them), so:
 * - a server op at a path with local ops is folded with them: a local plain write keeps the
 *   local value, a local delta is applied to the server's value (a `remove` plus a delta becomes
 *   a `replace`);
 * - a server op under a local plain write to an ANCESTOR is dropped: that local write already
 *   replaced the whole subtree in the view;
 * - other server ops pass through;
 * - then local ops are replayed, appended to the last change: every local plain write (idempotent
 *   on the view, and needed in order when a server op replaced an ancestor), and each local delta
 *   whose base was reset, by a server op at an ancestor or by a replayed local write before it.
 *
 * Why deltas are replayed selectively: a delta already in the view (untouched path, or folded
 * into the server op above) would count twice if replayed. The anchor appends every untouched
 * local op, deltas included, which double-applies a pending `@inc` whenever an unrelated field
 * changes; that is the one behavioural difference.
 *
 * Limits: assumes server ops are concrete `replace`/`remove` (or `add`) as LWW servers send;
 * another op kind passes through unfolded. Paths are compared as text.
 *
 * @param serverChanges Committed changes from the server, in order.
 * @param localOps The doc's unconfirmed ops in apply order: the sending change's ops, then pending.
 * @returns Changes to apply to the current view, in order (the input when there are no local ops).
 * @example
 * mergeServerWithLocal(
 *   [{ id: 'c1', baseRev: 4, rev: 5, createdAt: 1, committedAt: 2, ops: [{ op: 'replace', path: '/n', value: 10 }] }],
 *   [{ op: '@inc', path: '/n', value: 1, ts: 1 }],
 * );
 * // one change whose ops are [{ op: 'replace', path: '/n', value: 11 }]
 */
export function mergeServerWithLocal(serverChanges: Change[], localOps: JSONPatchOp[]): Change[] {
  if (localOps.length === 0 || serverChanges.length === 0) return serverChanges;

  const localByPath = new Map<string, JSONPatchOp[]>();
  for (const op of localOps) {
    const list = localByPath.get(op.path);
    if (list) list.push(op);
    else localByPath.set(op.path, [op]);
  }
  const shadowedByLocalAncestor = (path: string): boolean =>
    ancestorPaths(path).some((ancestor) => localByPath.get(ancestor)?.some(isHardWrite) ?? false);

  // Per local path: did the last server op affecting it set it exactly (folded) or reset an ancestor?
  const lastServerEffect = new Map<string, 'exact' | 'ancestor'>();
  const localPaths = [...localByPath.keys()];

  const merged: Change[] = serverChanges.map((change) => {
    const ops: JSONPatchOp[] = [];
    for (const serverOp of change.ops) {
      if (shadowedByLocalAncestor(serverOp.path)) continue;
      const locals = localByPath.get(serverOp.path);
      const concrete = serverOp.op === 'replace' || serverOp.op === 'add' || serverOp.op === 'remove';
      if (locals && concrete) ops.push(...foldLocal(serverOp, locals));
      else ops.push(serverOp);
      for (const path of localPaths) {
        if (path === serverOp.path) lastServerEffect.set(path, locals && concrete ? 'exact' : 'ancestor');
        else if (ancestorPaths(path).includes(serverOp.path)) lastServerEffect.set(path, 'ancestor');
      }
    }
    return { ...change, ops };
  });

  const replay: JSONPatchOp[] = [];
  for (const op of localOps) {
    if (!isDeltaOp(op)) {
      replay.push(op);
      continue;
    }
    const resetByServer = lastServerEffect.get(op.path) === 'ancestor';
    const resetByReplay = replay.some((earlier) => isHardWrite(earlier) && (earlier.path === op.path || ancestorPaths(op.path).includes(earlier.path)));
    if (resetByServer || resetByReplay) replay.push(op);
  }
  if (replay.length > 0) {
    const last = merged[merged.length - 1];
    merged[merged.length - 1] = { ...last, ops: [...last.ops, ...replay] };
  }
  return merged;
}
