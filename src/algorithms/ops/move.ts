import { addValue } from './add.js';
import { fromKeys, isProperPrefix, sameKeys } from './fromPath.js';
import { fail } from './OpFailure.js';
import type { OpHandler } from './OpHandler.js';
import { removeValue } from './remove.js';

/**
 * `move` (RFC 6902 §4.4): remove at `from`, then add at `path` in the document that removal
 * left (so array indexes of a move inside one array count after the removal). Same path = no-op;
 * a path inside `from` is an error. Both steps run on a fork, so a failing add never leaves the
 * value removed, unless the draft is thrown away when an op fails (`discardedOnFailure`, strict
 * `applyPatch`): a fork copies every container on both paths again, the document's root included,
 * which made each move of a change cost as much as the widest object on its paths.
 */
export const move: OpHandler = (draft, op, keys) => {
  const from = fromKeys(op);
  if (sameKeys(from, keys)) return;
  if (isProperPrefix(from, keys)) fail('cannot move a value into one of its own children');
  const source = draft.get(from);
  if (!source.found) fail(`move source "${op.from}" does not exist`);
  const step = draft.discardedOnFailure ? draft : draft.fork();
  removeValue(step, from);
  addValue(step, keys, source.value);
  if (step !== draft) draft.adopt(step);
};
