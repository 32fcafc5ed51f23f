import fc from 'fast-check';
import type { JSONPatchOp } from '../../src/types.js';

/** Small documents and ops over a few colliding keys (indexes, `-`, forbidden names), for op properties. */
const key = fc.constantFrom('a', 'b', '0', '1', '2', '-', '__proto__', '01');
export const arbitraryPath = fc.array(key, { maxLength: 3 }).map((keys) => keys.map((k) => '/' + k).join(''));
const leaf = fc.oneof(fc.integer({ min: -5, max: 5 }), fc.constantFrom('x', null, true));
export const { value: arbitraryDoc } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    leaf,
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom('a', 'b', '0', '1'), tie('value'), { maxKeys: 3 }),
  ),
}));
const opName = fc.constantFrom('add', 'remove', 'replace', 'move', 'copy', 'test', '@inc', '@max', '@txt');
export const arbitraryOp = fc.record(
  { op: opName, path: arbitraryPath, from: arbitraryPath, value: fc.oneof(arbitraryDoc, fc.constant(undefined)), soft: fc.boolean() },
  { requiredKeys: ['op', 'path'] },
) as fc.Arbitrary<JSONPatchOp>;

/** Freezes a value and everything in it. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}

/** What running `work` ends with: its error's message, or `ok`. */
export function outcome(work: () => void): string {
  try {
    work();
    return 'ok';
  } catch (error) {
    return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  }
}
