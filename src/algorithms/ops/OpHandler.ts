import type { JSONPatchOp } from '../../types.js';
import type { PatchDraft } from './PatchDraft.js';

/**
 * Applies one op to a draft. `keys` is the op's parsed `path`. A handler validates before it
 * writes and throws an `OpFailure` on a bad op, so a failed op leaves the draft as it was.
 */
export type OpHandler = (draft: PatchDraft, op: JSONPatchOp, keys: readonly string[]) => void;
