import { deepEqual } from '../deepEqual.js';
import { fail } from './OpFailure.js';
import type { OpHandler } from './OpHandler.js';

/**
 * `test` (RFC 6902 §4.6): the value at `path` must exist and deep-equal `value`. `applyPatch`
 * aborts the whole patch when it fails, in every mode.
 */
export const test: OpHandler = (draft, op, keys) => {
  const current = draft.get(keys);
  if (!current.found) fail('test path does not exist');
  if (!deepEqual(current.value, op.value)) fail('test failed: the value differs');
};
