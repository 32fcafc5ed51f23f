import type { JSONPatchOp } from '../../types.js';
import { deepEqual } from '../deepEqual.js';
import { splitPointer } from '../jsonPointer.js';
import { OP_HANDLERS } from './index.js';
import { fail } from './OpFailure.js';
import { arrayIndex, hasOwn, isContainer, type PatchDraft } from './PatchDraft.js';

/**
 * Applies one op to a draft: checks its shape, skips a soft op whose target exists, and runs
 * the op's handler. Throws an `OpFailure` (or a helper's error) on a bad op, leaving the draft
 * as it was.
 */
export function applyOp(draft: PatchDraft, op: JSONPatchOp): void {
  if (typeof op !== 'object' || op === null) fail('an op must be an object');
  if (typeof op.path !== 'string') fail('an op requires a string "path"');
  const handler = OP_HANDLERS.get(op.op);
  if (handler === undefined) fail(`unknown op "${String(op.op)}"`);
  const keys = splitPointer(op.path);
  if (isSoft(op) && softTargetExists(draft, op, keys)) return;
  handler(draft, op, keys);
}

function isEmptyContainer(value: unknown): boolean {
  return isContainer(value) && (Array.isArray(value) ? value.length === 0 : Object.keys(value).length === 0);
}

/** Explicitly soft ops, and the empty-container `add` that by convention initialises a map or list. */
function isSoft(op: JSONPatchOp): boolean {
  return op.soft === true || (op.op === 'add' && isEmptyContainer(op.value));
}

/**
 * Does a soft op's target already exist (so the op is skipped)? Checked against the live draft,
 * since an earlier op of the same patch may have created it.
 *
 * An `add` at an array index inserts rather than overwrites, so "the index is occupied" says
 * nothing: appends always apply, the empty-container convention does not make an insert soft
 * (an empty row in a grid is data), and an explicit soft insert is skipped only when an equal
 * element is already in the array (ensure-present), as @dabble/patches does.
 */
function softTargetExists(draft: PatchDraft, op: JSONPatchOp, keys: readonly string[]): boolean {
  if (keys.length === 0) return draft.root != null;
  const parent = draft.parent(keys, 'none', false);
  if (parent === undefined) return false;
  const key = keys[keys.length - 1];
  if (!Array.isArray(parent)) return hasOwn(parent, key);
  const index = key === '-' ? parent.length : arrayIndex(key);
  if (index === undefined || index >= parent.length) return false;
  if (op.op !== 'add') return true;
  return op.soft === true && parent.some((item) => deepEqual(item, op.value));
}
