import { deepEqual } from '../deepEqual.js';
import { fail } from './OpFailure.js';
import type { OpHandler } from './OpHandler.js';
import { arrayIndex, hasOwn, type PatchDraft } from './PatchDraft.js';

/**
 * Sets the value at `keys`, overwriting what is there: an existing array element (index past
 * the end = error), an object key (created if missing), or the root. Missing parents are created
 * as `{}`. A deep-equal value is a no-op. Shared by replace and the `@` ops.
 */
export function setValue(draft: PatchDraft, keys: readonly string[], value: unknown): void {
  if (value === undefined) fail('replace requires a value');
  if (keys.length === 0) {
    if (!deepEqual(draft.root, value)) draft.root = value;
    return;
  }
  const key = keys[keys.length - 1];
  const parent = draft.parent(keys, 'object', false)!;
  if (Array.isArray(parent)) {
    const index = arrayIndex(key);
    if (index === undefined || index >= parent.length) fail(`invalid array index "${key}" for replace`);
    if (deepEqual(parent[index], value)) return;
    (draft.parent(keys, 'object', true) as unknown[])[index] = value;
    return;
  }
  if (hasOwn(parent, key) && deepEqual(parent[key], value)) return;
  (draft.parent(keys, 'object', true) as Record<string, unknown>)[key] = value;
}

/** `replace` (RFC 6902 §4.3, creating a missing target per protocol §2.4). */
export const replace: OpHandler = (draft, op, keys) => setValue(draft, keys, op.value);
