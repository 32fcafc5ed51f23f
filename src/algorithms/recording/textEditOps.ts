import type { JSONPatchOp } from '../../types.js';
import { deepEqual } from '../deepEqual.js';
import { parsePointer } from '../jsonPointer.js';
import { applyOp } from '../ops/applyOp.js';
import { isContainer, PatchDraft, valueAt } from '../ops/PatchDraft.js';
import { textEditOf, type TextEdit } from './textEdits.js';

/**
 * Rewrites the writes of text documents that `editText` made into the `@txt` ops they are: an
 * `add` or `replace` at `P` whose value `editText` made from the very value the change finds
 * at `P` becomes `{ op: '@txt', path: P, value: delta }`.
 *
 * Why: a text field written whole is last-writer-wins, so of two people typing in one paragraph
 * only the later keeps their characters; an `@txt` op is transformed against the other's and
 * both keep them (protocol §4.5). For OT docs only: `@txt` has no LWW meaning (§4.8).
 *
 * The rule keeps the ops exact. `@txt` applies its delta to whatever is at `P` when it applies,
 * so it is recorded only where that is the mark's base itself, by identity (`===`, or nothing
 * there and an `undefined` base): the ops are replayed on `baseState` copy-on-write, so an
 * earlier op of the change that moved an array's elements, or wrote into the value at `P`, is
 * accounted for. Anything else stays the write it was, never wrong, only coarser: a marked
 * document written at another path, one made from an older or edited value, an insert into an
 * array (`add` at an index or `/-`), a document inside a larger value written whole. immer hands
 * the values it put in its next state, so the mark is looked up on the op's value; should a
 * value have been cloned on the way, the marked document at `P` in `nextState` is taken when
 * the value deep-equals it.
 *
 * Pure but for reading the marks; returns `ops` itself when nothing is rewritten.
 *
 * @example
 * const body = { ops: [{ insert: 'Hello\n' }] };
 * const next = { body: editText(body, [{ retain: 5 }, { insert: '!' }]) };
 * textEditOps([{ op: 'replace', path: '/body', value: next.body }], { body }, next);
 * // [{ op: '@txt', path: '/body', value: [{ retain: 5 }, { insert: '!' }] }]
 *
 * @param ops A change's ops, as recorded from immer's patches.
 * @param baseState The state they apply to.
 * @param nextState immer's next state.
 * @return The ops with those writes as `@txt`; applied to `baseState` they give what `ops` give.
 */
export function textEditOps(ops: JSONPatchOp[], baseState: unknown, nextState: unknown): JSONPatchOp[] {
  const edits = ops.map((op) => markOf(op, nextState));
  let last = edits.length - 1;
  while (last >= 0 && edits[last] === undefined) last--;
  if (last < 0) return ops;
  const draft = new PatchDraft(baseState);
  let out: JSONPatchOp[] | undefined;
  try {
    for (let i = 0; i <= last; i++) {
      const op = ops[i];
      const edit = edits[i];
      if (edit !== undefined && overwrites(draft, op, edit.base)) {
        out ??= ops.slice();
        out[i] = { op: '@txt', path: op.path, value: edit.delta };
      }
      // The write itself, not the `@txt`: the same value, and no need of the rich-text engine.
      applyOp(draft, op);
    }
  } catch {
    // An op that does not replay: nothing is rewritten (the recorder reports such ops itself).
    return ops;
  }
  return out ?? ops;
}

/** The mark of the text document an `add` or `replace` writes, if `editText` made it. */
function markOf(op: JSONPatchOp, nextState: unknown): TextEdit | undefined {
  if ((op.op !== 'add' && op.op !== 'replace') || !isContainer(op.value)) return undefined;
  const own = textEditOf(op.value);
  if (own !== undefined || !('ops' in op.value)) return own;
  // The recorder's paths are well-formed pointers: `valueAt` finds the value or nothing.
  const there = valueAt(nextState, op.path);
  const edit = textEditOf(there);
  return edit !== undefined && deepEqual(there, op.value) ? edit : undefined;
}

/** Whether `op` overwrites exactly `base` in `draft`: a key set or an element replaced, not an element inserted. */
function overwrites(draft: PatchDraft, op: JSONPatchOp, base: unknown): boolean {
  const keys = parsePointer(op.path);
  if (keys.length === 0) return false;
  const parent = draft.get(keys.slice(0, -1));
  if (!parent.found || !isContainer(parent.value)) return false;
  if (Array.isArray(parent.value) && op.op === 'add') return false;
  const target = draft.get(keys);
  return (target.found ? target.value : undefined) === base;
}
