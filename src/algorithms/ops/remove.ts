import { fail } from './OpFailure.js';
import type { OpHandler } from './OpHandler.js';
import { arrayIndex, hasOwn, type PatchDraft } from './PatchDraft.js';

/**
 * Removes the value at `keys`. A missing parent or a missing object key is a silent no-op (a
 * concurrent remove got there first); an array index that is not an existing element is an
 * error. Removing the root leaves `null`, the state of a document with nothing in it.
 * Shared by remove and move.
 */
export function removeValue(draft: PatchDraft, keys: readonly string[]): void {
  if (keys.length === 0) {
    draft.root = null;
    return;
  }
  const key = keys[keys.length - 1];
  const parent = draft.parent(keys, 'none', false);
  if (parent === undefined) return;
  if (Array.isArray(parent)) {
    const index = arrayIndex(key);
    if (index === undefined || index >= parent.length) fail(`invalid array index "${key}" for remove`);
    (draft.parent(keys, 'none', true) as unknown[]).splice(index, 1);
    return;
  }
  if (!hasOwn(parent, key)) return;
  delete (draft.parent(keys, 'none', true) as Record<string, unknown>)[key];
}

/** `remove` (RFC 6902 §4.2, lenient about missing targets per protocol §2.4). */
export const remove: OpHandler = (draft, _op, keys) => removeValue(draft, keys);
