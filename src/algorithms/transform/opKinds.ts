/**
 * What an op does, as the transform rules see it. The reference (@dabble/patches) groups ops by
 * the RFC op they behave like: the in-place ops (`@inc`, `@bit`, `@max`, `@min`, `@txt`) count
 * as `replace` (they write the value at their path), and an op it does not know counts as
 * nothing at all.
 */
import type { JSONPatchOp } from '../../types.js';
import { isAppendPath, isIndexPath } from './paths.js';

/** The RFC op an op behaves like, or undefined for an unknown op. */
export type OpLike = 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';

const LIKE: Readonly<Record<string, OpLike>> = {
  add: 'add',
  remove: 'remove',
  replace: 'replace',
  move: 'move',
  copy: 'copy',
  test: 'test',
  '@inc': 'replace',
  '@bit': 'replace',
  '@max': 'replace',
  '@min': 'replace',
  '@txt': 'replace',
};

/** The RFC op `op` behaves like. */
export function likeOf(op: JSONPatchOp): OpLike | undefined {
  return Object.prototype.hasOwnProperty.call(LIKE, op.op) ? LIKE[op.op] : undefined;
}

/** True when `op` puts a value at its `path` (add, copy, move): `pathName` must be `'path'`. */
export function isAddAt(op: JSONPatchOp, pathName: 'path' | 'from'): boolean {
  const like = likeOf(op);
  return pathName === 'path' && (like === 'add' || like === 'copy' || like === 'move');
}

/**
 * True when `op` writes a whole new value at exactly `path`, whatever was there: a replace-like
 * op anywhere, or an add/copy/move at a key. At an array index (or `/-`) an add inserts a new
 * element instead of overwriting one; a soft write never overwrites.
 */
export function isHardSet(op: JSONPatchOp, path: string): boolean {
  if (op.path !== path || op.soft) return false;
  const like = likeOf(op);
  if (like === 'replace') return true;
  if (like === 'add' || like === 'copy' || like === 'move') return !isIndexPath(path) && !isAppendPath(path);
  return false;
}

/** True for `{}` and `[]`. */
export function isEmptyContainer(value: unknown): boolean {
  if (!value || typeof value !== 'object') return false;
  return Array.isArray(value) ? value.length === 0 : Object.keys(value).length === 0;
}

/** How one transform call runs. */
export interface Frame {
  /**
   * The other side's ops came first in the authoritative order (the committed side advanced past
   * a queued change): where both sides set one path, the ops being transformed lose.
   */
  readonly otherOpsFirst: boolean;
}
