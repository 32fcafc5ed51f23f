import { deepEqual } from '../deepEqual.js';
import { fail } from './OpFailure.js';
import type { OpHandler } from './OpHandler.js';
import { arrayIndex, hasOwn, type PatchDraft } from './PatchDraft.js';

/**
 * Adds `value` at `keys`: inserts into an array (`-` appends), sets an object key, or replaces
 * the root. Setting a key to a deep-equal value is a no-op, so unchanged documents keep their
 * identity. Missing parents are created (`[]` when the next key is `0` or `-`, else `{}`).
 * Shared by add, move and copy.
 */
export function addValue(draft: PatchDraft, keys: readonly string[], value: unknown): void {
  if (value === undefined) fail('add requires a value');
  if (keys.length === 0) {
    if (!deepEqual(draft.root, value)) draft.root = value;
    return;
  }
  const key = keys[keys.length - 1];
  const parent = draft.parent(keys, 'auto', false)!;
  if (Array.isArray(parent)) {
    const index = key === '-' ? parent.length : arrayIndex(key);
    if (index === undefined || index > parent.length) fail(`invalid array index "${key}" for add`);
    (draft.parent(keys, 'auto', true) as unknown[]).splice(index, 0, value);
    return;
  }
  if (hasOwn(parent, key) && deepEqual(parent[key], value)) return;
  (draft.parent(keys, 'auto', true) as Record<string, unknown>)[key] = value;
}

/** `add` (RFC 6902 §4.1, with the missing-parent rules of protocol §2.4). */
export const add: OpHandler = (draft, op, keys) => addValue(draft, keys, op.value);
