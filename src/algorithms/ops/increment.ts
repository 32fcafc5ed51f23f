import { fail } from './OpFailure.js';
import type { OpHandler } from './OpHandler.js';
import { setValue } from './replace.js';

/**
 * `@inc`: adds `value` (negative to decrement) to the number at `path`; a missing or `null`
 * value counts as 0. Concurrent increments commute, which is why counters use it instead of
 * `replace`. A non-number operand or current value is an error.
 */
export const increment: OpHandler = (draft, op, keys) => {
  if (typeof op.value !== 'number') fail('@inc requires a number value');
  const current = draft.get(keys).value ?? 0;
  if (typeof current !== 'number') fail(`@inc on a ${typeof current}`);
  setValue(draft, keys, current + op.value);
};
