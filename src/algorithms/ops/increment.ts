import { fail } from './OpFailure.js';
import type { OpHandler } from './OpHandler.js';
import { setValue } from './replace.js';

/**
 * `@inc`: adds `value` (negative to decrement) to the number at `path`; a missing or `null`
 * value counts as 0. Concurrent increments commute, which is why counters use it instead of
 * `replace`. A non-number operand or current value is an error, and so is a sum JSON cannot
 * write (past ±1.8e308).
 */
export const increment: OpHandler = (draft, op, keys) => {
  if (typeof op.value !== 'number') fail('@inc requires a number value');
  const current = draft.get(keys).value ?? 0;
  if (typeof current !== 'number') fail(`@inc on a ${typeof current}`);
  const next = current + op.value;
  // JSON cannot write an overflow (Infinity becomes null): a replica holding it would differ from
  // what its store and every reply keep (found in a second reading: a server took it).
  if (!Number.isFinite(next)) fail(`@inc overflows to ${next}`);
  setValue(draft, keys, next);
};
