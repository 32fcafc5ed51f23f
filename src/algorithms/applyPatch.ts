import { PatchError, RichTextNotEnabledError } from '../errors.js';
import type { JSONPatchOp } from '../types.js';
import { applyOp } from './ops/applyOp.js';
import { OpFailure } from './ops/OpFailure.js';
import { PatchDraft } from './ops/PatchDraft.js';

/** How `applyPatch` reacts to an op that cannot be applied. */
export interface ApplyPatchOptions {
  /**
   * `strict` (default): throw a `PatchError` on the first failed op; the input is untouched.
   * `lenient`: skip a failed op and go on (LWW documents, whose ops are independent writes).
   * A failed `test` aborts the whole patch in both modes.
   */
  mode?: 'strict' | 'lenient' | undefined;
  /** Lenient mode: called with the error of each skipped op, and of a failed `test`. */
  onError?: ((error: PatchError) => void) | undefined;
}

/**
 * Applies JSON Patch ops (RFC 6902 plus the custom ops of protocol §2.4) to a document, without
 * mutating it.
 *
 * The result shares every untouched subtree with the input (`===`), and is the input itself
 * when no op changed anything, so callers can detect "no change" by identity. Inputs may be
 * frozen (immer freezes its states). Soft writes (`soft: true`, or an `add` of an empty object
 * or array) are skipped when their path already exists, so initialising a map never wipes one
 * a concurrent client created.
 *
 * Differences from RFC 6902, all per protocol §2.4: missing parents are created by add, replace
 * and the `@` ops; remove of a missing parent or object key is a no-op; replace of a missing
 * object key sets it; add/replace of a deep-equal value is a no-op.
 *
 * ## Example
 * ```ts
 * const next = applyPatch({ n: 1, tags: ['a'] }, [
 *   { op: '@inc', path: '/n', value: 2 },
 *   { op: 'add', path: '/tags/-', value: 'b' },
 * ]);
 * // { n: 3, tags: ['a', 'b'] }
 * ```
 *
 * @param state The document (JSON). `null` is a brand-new document: the first write creates it.
 * @param ops The ops, applied in order; each sees the result of the ones before.
 * @param options Failure handling, see `ApplyPatchOptions`.
 * @return The new document, or `state` itself when nothing changed (or a `test` failed in
 *   lenient mode).
 * @throws PatchError (strict mode) naming the index and path of the first op that failed.
 * @throws RichTextNotEnabledError (both modes) for an `@txt` op before `enableRichText()`.
 */
export function applyPatch<T>(state: T, ops: readonly JSONPatchOp[], options: ApplyPatchOptions = {}): T {
  const lenient = options.mode === 'lenient';
  const draft = new PatchDraft(state);
  // Strict: the first failed op throws, and the draft with it (a move need not run on a fork).
  draft.discardedOnFailure = !lenient;
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i];
    try {
      applyOp(draft, op);
    } catch (error) {
      // Not a bad op but a missing setup step: never skipped, never blamed on the op.
      if (error instanceof RichTextNotEnabledError) throw error;
      const patchError = toPatchError(error, i, op);
      if (!lenient) throw patchError;
      options.onError?.(patchError);
      // RFC 6902 §4.6: a failed test voids the whole patch, whatever the mode.
      if (op?.op === 'test') return state;
    }
  }
  return draft.root as T;
}

/**
 * Applies op `index` of a patch to a draft as strict `applyPatch` does: a failed op throws the
 * `PatchError` naming that index (the draft is then to be thrown away).
 *
 * @internal For callers that run their own strict draft between ops (the server's `applyWithinLimits`).
 */
export function applyOpAt(draft: PatchDraft, op: JSONPatchOp, index: number): void {
  try {
    applyOp(draft, op);
  } catch (error) {
    if (error instanceof RichTextNotEnabledError) throw error;
    throw toPatchError(error, index, op);
  }
}

function toPatchError(error: unknown, index: number, op: JSONPatchOp): PatchError {
  const message = error instanceof Error ? error.message : String(error);
  const path = typeof op === 'object' && op !== null && typeof op.path === 'string' ? op.path : '';
  // OpFailure and errors thrown by helpers (an invalid delta) both mean "this op is bad".
  return new PatchError(error instanceof OpFailure ? message : `${String(op?.op)} failed: ${message}`, index, path);
}
