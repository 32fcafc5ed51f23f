import { addValue } from './add.js';
import { fromKeys } from './fromPath.js';
import { fail } from './OpFailure.js';
import type { OpHandler } from './OpHandler.js';

/**
 * `copy` (RFC 6902 §4.5): add the value found at `from` at `path`. The value is shared, not
 * cloned (the result is immutable); the draft just stops editing it in place, since it now has
 * two homes.
 */
export const copy: OpHandler = (draft, op, keys) => {
  const source = draft.get(fromKeys(op));
  if (!source.found) fail(`copy source "${op.from}" does not exist`);
  draft.release(source.value);
  addValue(draft, keys, source.value);
};
