import type { JSONPatchOp } from '../../types.js';
import { splitPointer } from '../jsonPointer.js';
import { fail } from './OpFailure.js';

/** The parsed `from` of a move or copy; a missing or non-string `from` is a bad op. */
export function fromKeys(op: JSONPatchOp): string[] {
  if (typeof op.from !== 'string') fail(`${op.op} requires a string "from"`);
  return splitPointer(op.from);
}

/** True when `prefix` is a proper prefix of `keys`: the path lies strictly inside it. */
export function isProperPrefix(prefix: readonly string[], keys: readonly string[]): boolean {
  if (prefix.length >= keys.length) return false;
  for (let i = 0; i < prefix.length; i++) if (prefix[i] !== keys[i]) return false;
  return true;
}

/** True when two parsed paths name the same location. */
export function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((key, i) => key === b[i]);
}
