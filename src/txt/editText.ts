import { current as snapshot, freeze, isDraft, original } from 'immer';
import { deepEqual } from '../algorithms/deepEqual.js';
import type { DeltaOp, TextDocument } from '../algorithms/deltaOps.js';
import { isInRecording, markTextEdit, textEditOf } from '../algorithms/recording/textEdits.js';
import { richText } from '../algorithms/richText.js';
import { applyTextDelta, composeDelta } from './textDelta.js';

/**
 * Edits a rich-text field inside `doc.change()`: returns the text document `delta` makes of
 * `current`, to assign back, and `change()` records the edit as one `@txt` op in an OT doc.
 *
 * Two people typing in one paragraph should both keep their characters. A field written whole
 * is last-writer-wins; an `@txt` op carries only the delta (a [Quill delta](https://quilljs.com/docs/delta/):
 * inserts, retains, deletes) and is transformed against concurrent ones, so both edits survive.
 *
 * The result is exactly what applying the `@txt` op to `current` gives on every replica
 * (`applyTextDelta`): a field that holds no text document (missing, a number) starts from
 * `"\n"`, and a retain or delete past the end is dropped. It is frozen: edit it again with
 * `editText`, which in the same recipe composes the two deltas into one op.
 *
 * A plain string is taken as its text (a card's text moved to rich text keeps what it said): the
 * text document `{ ops: [{ insert: current }] }`, with a final `"\n"` added unless it ends with
 * one already (`quill.getText()` gives it with one). That edit is recorded as the plain write it
 * is, not `@txt`: another replica would apply the op to the string from `"\n"`. So the first edit
 * turns the field into a text document, written whole; the edits after it are `@txt`.
 *
 * `change()` records the `@txt` op when the result is assigned where `current` was read
 * (`draft.body = editText(draft.body, …)`). Anywhere else (another field, inside a new object)
 * it is recorded as the plain write it is, as it is in an LWW doc, where `@txt` has no meaning.
 *
 * ## Example
 * ```ts
 * enableRichText(); // once at startup
 * doc.change(draft => {
 *   draft.body = editText(draft.body, [{ retain: 5 }, { insert: '!' }]);
 * });
 * // doc.state.body: { ops: [{ insert: 'Hello!\n' }] }, stored as { op: '@txt', path: '/body', value: [{ retain: 5 }, { insert: '!' }] }
 * ```
 *
 * @param current The field as the draft holds it (`draft.body`), or a value read elsewhere.
 * @param delta The change: a Quill delta's ops.
 * @return The new text document, frozen.
 * @throws RichTextNotEnabledError when `enableRichText()` was not called: every replica needs it to apply the op.
 * @throws TypeError when `delta` is not a well-formed delta.
 */
export function editText(current: unknown, delta: readonly DeltaOp[]): TextDocument {
  // Fails here, at the edit, rather than on the next rebuild of the view or on another tab.
  richText();
  if (typeof current === 'string') {
    // No mark: recorded as the write it is (see above).
    return freeze(applyTextDelta({ ops: [{ insert: current.endsWith('\n') ? current : `${current}\n` }] }, delta), true);
  }
  const { value, base, earlier } = read(current);
  const next = applyTextDelta(value, delta);
  const own = delta.map((op) => structuredClone(op));
  if (earlier !== undefined) {
    // `applyTextDelta` drops what overruns the text, so a∘b may apply differently from a then b: compose only what applies the same.
    const composed = composeDelta(earlier.delta, own);
    if (deepEqual(applyTextDelta(earlier.base, composed), next)) markTextEdit(next, { base: earlier.base, delta: composed });
  } else if (base !== EDITED) {
    markTextEdit(next, { base, delta: own });
  }
  return freeze(next, true);
}

/** A draft written into before `editText` read it: no value in the base state is what the delta applies to. */
const EDITED = Symbol('edited');

/**
 * The text `current` holds, and what the delta counts as applying to: the base state's own value
 * for a draft not written into, `current` itself for a value that is not a draft, or the edit of
 * this recipe that made `current` (to compose onto).
 */
function read(value: unknown): { value: unknown; base: unknown; earlier?: { base: unknown; delta: readonly DeltaOp[] } } {
  if (isDraft(value)) {
    const before = original(value);
    // `current` returns the original itself when nothing was written into the draft.
    const now: unknown = snapshot(value);
    return { value: now, base: now === before ? before : EDITED };
  }
  const edit = textEditOf(value);
  return edit !== undefined && isInRecording(edit) ? { value, base: edit.base, earlier: edit } : { value, base: value };
}
