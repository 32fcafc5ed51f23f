import { fail } from './OpFailure.js';
import type { OpHandler } from './OpHandler.js';
import { setValue } from './replace.js';

function comparable(op: string, value: unknown): number | string {
  if (typeof value === 'number' || typeof value === 'string') return value;
  return fail(`${op} requires a number or string value`);
}

/**
 * `@max`: stores `value` when nothing (or `null`) is at `path` or `value` is greater. Strings
 * compare as strings, so ISO dates work: a "last seen" field converges whatever the order.
 */
export const max: OpHandler = (draft, op, keys) => {
  const value = comparable(op.op, op.value);
  const current = draft.get(keys).value;
  if (current == null || value > (current as number | string)) setValue(draft, keys, value);
};

/** `@min`: stores `value` when nothing (or `null`) is at `path` or `value` is smaller. */
export const min: OpHandler = (draft, op, keys) => {
  const value = comparable(op.op, op.value);
  const current = draft.get(keys).value;
  if (current == null || value < (current as number | string)) setValue(draft, keys, value);
};
