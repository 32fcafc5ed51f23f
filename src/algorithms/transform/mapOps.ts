/**
 * The one loop every transform rule runs over the other side's ops.
 */
import type { JSONPatchOp } from '../../types.js';

/** What a rule makes of one op: the op (same object when untouched), several ops, or null to drop it. */
export type Mapped = JSONPatchOp | JSONPatchOp[] | null;

/**
 * Stops the walk after the current op. `keepRest`: the ops after it are kept as they are (they
 * were written on a value this rule no longer concerns); otherwise they are dropped (the rule
 * returned what became of them).
 */
export type Stop = (keepRest?: boolean) => void;

/**
 * Maps `ops` through `rule`, returning `ops` itself when nothing changed so callers can tell.
 * A move or copy onto its own path does nothing and is dropped, before and after the rule.
 */
export function mapOps(ops: readonly JSONPatchOp[], rule: (op: JSONPatchOp, index: number, stop: Stop) => Mapped): JSONPatchOp[] {
  let changed = false;
  let stopped = false;
  let keepRest = false;
  const stop: Stop = (keep) => {
    stopped = true;
    keepRest = keep === true;
  };
  const out: JSONPatchOp[] = [];
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i];
    if (op.from === op.path) {
      changed = true;
      continue;
    }
    let result = rule(op, i, stop);
    if (result && !Array.isArray(result) && result.from === result.path) result = null;
    if (result !== op) changed = true;
    if (Array.isArray(result)) out.push(...result);
    else if (result) out.push(result);
    if (stopped) {
      if (keepRest) out.push(...ops.slice(i + 1));
      break;
    }
  }
  return changed ? out : (ops as JSONPatchOp[]);
}
