import { fail } from './OpFailure.js';
import type { OpHandler } from './OpHandler.js';
import { setValue } from './replace.js';

const LOW_15_BITS = 0x7fff;

/**
 * Applies a `@bit` mask to a number: the low 15 bits of `mask` are the bits to turn on, the next
 * 15 bits (`<< 15`) the bits to turn off. Fifteen flags keep the number small and positive.
 *
 * @example
 * applyBitmask(0b0110, (1 << 0) | (1 << (2 + 15))); // 0b0011: bit 0 on, bit 2 off
 */
export function applyBitmask(current: number, mask: number): number {
  const on = mask & LOW_15_BITS;
  const off = (mask >> 15) & LOW_15_BITS;
  return (current & ~off) | on;
}

/** `@bit`: sets and clears flags in the number at `path` (missing or `null` = 0). */
export const bit: OpHandler = (draft, op, keys) => {
  if (typeof op.value !== 'number') fail('@bit requires a number mask');
  const current = draft.get(keys).value ?? 0;
  if (typeof current !== 'number') fail(`@bit on a ${typeof current}`);
  setValue(draft, keys, applyBitmask(current, op.value));
};
