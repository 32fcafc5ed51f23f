/**
 * Where `editText` (`patches-rx/txt`) leaves, for the recorder, how it made a text document: the
 * value it started from and the `@txt` delta it applied. The core reads these marks without
 * importing quill-delta, so an app that never edits text does not bundle it.
 *
 * A mark is a note on an object, by identity (a `WeakMap`: a document nobody holds any more takes
 * its mark with it). It is only ever a hint: the recorder records `@txt` from it only where the
 * value the change overwrites is that very base (`textEditOps`), and a plain replace otherwise.
 */
import type { DeltaOp } from '../deltaOps.js';

/** How `editText` made a text document. */
export interface TextEdit {
  /** The value the delta was applied to (a text document, or anything else, which counts as `"\n"`). */
  readonly base: unknown;
  /** The `@txt` delta that turns `base` into the marked document. */
  readonly delta: readonly DeltaOp[];
  /** The `change()` recording it was made in (`recordingTextEdits`), if any: only there may a later edit compose onto it. */
  readonly recording: object | undefined;
}

/**
 * A mark as kept: an object base only weakly. Held strongly, each version of a text would keep
 * the one before it alive, and that one its own base, back to the first: every keystroke of a
 * session. A base that is gone is in no state any more, so nothing can be recorded against it.
 */
interface Kept {
  readonly base: { readonly ref: WeakRef<object> } | { readonly value: unknown };
  readonly delta: readonly DeltaOp[];
  readonly recording: object | undefined;
}

const edits = new WeakMap<object, Kept>();
let recording: object | undefined;

/**
 * Notes that `doc` is `edit.delta` applied to `edit.base`, made in the recording under way.
 *
 * @example
 * markTextEdit(next, { base: previous, delta: [{ retain: 5 }, { insert: '!' }] });
 */
export function markTextEdit(doc: object, edit: { base: unknown; delta: readonly DeltaOp[] }): void {
  const { base, delta } = edit;
  edits.set(doc, { base: typeof base === 'object' && base !== null ? { ref: new WeakRef(base) } : { value: base }, delta, recording });
}

/**
 * How `editText` made `value`, or undefined when it did not (or its base is gone).
 *
 * @example
 * textEditOf(editText(undefined, [{ insert: 'a' }])); // { base: undefined, delta: [{ insert: 'a' }], recording: undefined }
 */
export function textEditOf(value: unknown): TextEdit | undefined {
  const kept = typeof value === 'object' && value !== null ? edits.get(value) : undefined;
  if (kept === undefined) return undefined;
  const base = 'ref' in kept.base ? kept.base.ref.deref() : kept.base.value;
  // A base collected reads as undefined, which would pass for "nothing was there".
  if (base === undefined && 'ref' in kept.base) return undefined;
  return { base, delta: kept.delta, recording: kept.recording };
}

/**
 * Whether `edit` was made in the recording under way, so a further edit of its document in the
 * same recipe may compose onto it. A document from an earlier change (still marked: the state
 * holds it) is a base of its own, as the draft's value is.
 */
export function isInRecording(edit: TextEdit): boolean {
  return edit.recording !== undefined && edit.recording === recording;
}

/**
 * Runs `work` (a `change()` recipe) as one recording: text edits made in it compose with each other.
 *
 * @example
 * const [next, patches] = recordingTextEdits(() => produceWithPatches(base, recipe));
 */
export function recordingTextEdits<T>(work: () => T): T {
  const outer = recording;
  recording = {};
  try {
    return work();
  } finally {
    recording = outer;
  }
}
